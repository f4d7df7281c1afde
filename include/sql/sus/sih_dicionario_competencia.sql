-- The SIH competência dictionary: each distinct (file, ANO_CMPT, MES_CMPT) of the landed RD files,
-- whether its rows belong to competência :competencia, and the problems they carry
-- (datasus.code_problems' words). An RD file holds its own month: every row of the files processed
-- in :competencia is kept (rows of another competência are flagged as outside the processing window).
-- Inputs:
--   valores   arquivo_id (DuckDB's file_index), ano_bruto, mes_bruto (as stored), filename, ano, mes (their
--             stripped text; a one-digit month gets its leading zero)
--   arquivos  filename, arquivo (file name), uf, mes_arquivo (processing month in the file name)
-- Output, only for the kept combinations: id, arquivo_id, ano_bruto, mes_bruto, arquivo, uf, competencia
-- (DATE, NULL when not a valid AAAAMM), mes_processamento (the file's month), problema_competencia,
-- problema_janela (NULL when fine).
-- Bind variables: :competencia (DATE), :atraso (INTEGER, datasus.MAX_DELAY_MONTHS['SIH'])
WITH lido AS (
    SELECT
        v.arquivo_id, v.ano_bruto, v.mes_bruto, a.arquivo, a.uf, a.mes_arquivo,
        v.ano || CASE WHEN (regexp_full_match(v.mes, '[0-9]{1}')) THEN '0' || v.mes ELSE v.mes END AS aaaamm
    FROM valores v
    JOIN arquivos a ON a.filename = v.filename
),
mantido AS (
    SELECT *,
           CASE WHEN (regexp_full_match(aaaamm, '[0-9]{6}')
                   AND substr(aaaamm, 1, 2) IN ('19', '20') AND substr(aaaamm, 5, 2) BETWEEN '01' AND '12')
                THEN make_date(CAST(substr(aaaamm, 1, 4) AS INTEGER), CAST(substr(aaaamm, 5, 2) AS INTEGER), 1)
           END AS competencia,
           mes_arquivo AS mes_processamento
    FROM lido
),
janela AS (
    SELECT *,
           (year(mes_processamento) * 12 + month(mes_processamento))
           - (year(competencia) * 12 + month(competencia)) AS meses_antes
    FROM mantido
    WHERE competencia = :competencia
       OR (mes_arquivo = :competencia
           AND (competencia IS NULL
                OR competencia > mes_arquivo
                OR competencia < mes_arquivo - to_months(:atraso)))
)
SELECT
    row_number() OVER ()   AS id,
    arquivo_id, ano_bruto, mes_bruto, arquivo, uf, competencia, mes_processamento,
    CASE WHEN competencia IS NULL
         THEN 'competencia ''' || coalesce(aaaamm, '') || ''' is not a valid AAAAMM month' END AS problema_competencia,
    CASE WHEN meses_antes < 0 OR meses_antes > :atraso
         THEN 'competencia outside the processing window (' || CAST(meses_antes AS VARCHAR)
              || ' month(s) before mes_processamento, allowed 0..' || CAST(:atraso AS VARCHAR) || ')'
    END AS problema_janela
FROM janela
