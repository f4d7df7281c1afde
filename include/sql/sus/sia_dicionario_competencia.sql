-- The SIA competência dictionary: each distinct (file, PA_CMP, PA_MVM) of the landed files, whether its
-- rows belong to competência :competencia, and the problems they carry (datasus.code_problems' words).
-- Inputs:
--   valores   arquivo_id (DuckDB's file_index), filename, cmp_bruto, mvm_bruto (as stored; mvm_bruto NULL
--             when the file has no PA_MVM),
--             cmp, mvm (their stripped text)
--   arquivos  filename, arquivo (file name), uf, mes_arquivo (processing month in the file name)
-- Output, only for combinations whose rows are kept (competência = :competencia, or the file processed
-- in :competencia and a competência no run could reach: missing, invalid, or outside the window of
-- :atraso months): id, arquivo_id, filename, cmp_bruto, mvm_bruto, arquivo, uf, competencia (DATE, NULL when
-- invalid), mes_processamento (PA_MVM, else the file's month), problema_competencia (the competência
-- is not a valid AAAAMM month, showing its stripped text) and problema_janela (outside the processing
-- window; PA_MVM differing from the file name's month), NULL when fine.
-- Bind variables: :competencia (DATE), :atraso (INTEGER, datasus.MAX_DELAY_MONTHS['SIA'])
WITH lido AS (
    SELECT
        v.arquivo_id, v.filename, v.cmp_bruto, v.mvm_bruto, v.cmp, a.arquivo, a.uf, a.mes_arquivo,
        CASE WHEN (regexp_full_match(v.cmp, '[0-9]{6}')
                   AND substr(v.cmp, 1, 2) IN ('19', '20') AND substr(v.cmp, 5, 2) BETWEEN '01' AND '12')
             THEN make_date(CAST(substr(v.cmp, 1, 4) AS INTEGER), CAST(substr(v.cmp, 5, 2) AS INTEGER), 1)
        END AS competencia,
        CASE WHEN (regexp_full_match(v.mvm, '[0-9]{6}')
                   AND substr(v.mvm, 1, 2) IN ('19', '20') AND substr(v.mvm, 5, 2) BETWEEN '01' AND '12')
             THEN make_date(CAST(substr(v.mvm, 1, 4) AS INTEGER), CAST(substr(v.mvm, 5, 2) AS INTEGER), 1)
        END AS mvm
    FROM valores v
    JOIN arquivos a ON a.filename = v.filename
),
mantido AS (
    SELECT *, coalesce(mvm, mes_arquivo) AS mes_processamento
    FROM lido
    WHERE competencia = :competencia
       OR (mes_arquivo = :competencia
           AND (competencia IS NULL
                OR competencia > mes_arquivo
                OR competencia < mes_arquivo - to_months(:atraso)))
),
atraso AS (
    SELECT *,
           (year(mes_processamento) * 12 + month(mes_processamento))
           - (year(competencia) * 12 + month(competencia)) AS meses_antes
    FROM mantido
)
SELECT
    row_number() OVER ()   AS id,
    arquivo_id, filename, cmp_bruto, mvm_bruto, arquivo, uf, competencia, mes_processamento,
    CASE WHEN competencia IS NULL
         THEN 'competencia ''' || coalesce(cmp, '') || ''' is not a valid AAAAMM month' END AS problema_competencia,
    nullif(concat_ws('; ',
        CASE WHEN meses_antes < 0 OR meses_antes > :atraso
             THEN 'competencia outside the processing window (' || CAST(meses_antes AS VARCHAR)
                  || ' month(s) before mes_processamento, allowed 0..' || CAST(:atraso AS VARCHAR) || ')' END,
        CASE WHEN mes_processamento <> mes_arquivo
             THEN 'mes_processamento ' || strftime(mes_processamento, '%Y-%m-%d')
                  || ' differs from the month in the file name ' || arquivo END
    ), '') AS problema_janela
FROM atraso
