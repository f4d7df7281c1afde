-- SIH RD (AIH reduzida) normalised in DuckDB for one competência, with its problems.
-- The SQL twin of vigia.sus.datasus.normalise + read_competencia + code_problems for Parquet landings;
-- run by vigia.sus.ingest_sql (which writes the good rows and the quarantine with COPY).
-- Inputs:
--   fonte     the landed rows as read by ingest_sql.register_sources from
--             read_parquet([...], union_by_name=true, filename=true, file_row_number=true):
--             filename, linha, and the source columns as stripped text (numeric code columns
--             zero-padded back to their fixed width with lpad) or DOUBLE:
--             CNES, ANO_CMPT, MES_CMPT, PROC_REA, MUNIC_RES, MUNIC_MOV (NULL when absent),
--             COD_IDADE, N_AIH (text), IDADE, VAL_TOT (DOUBLE, NULL when not a number),
--             tem_cod_idade (BOOLEAN: the file has a COD_IDADE column)
--   arquivos  one row per file: filename, arquivo (file name), uf, mes_arquivo (processing month, DATE)
-- Output: the PRODUCTION_COLUMNS of vigia.sus.cubes plus municipio_estabelecimento, mes_processamento,
-- uf, arquivo, linha and problema (NULL for a good row; otherwise what is wrong, in the words of
-- datasus.code_problems, messages joined with '; ').
-- An RD file holds its own month: every row of the files processed in :competencia is kept (rows of
-- another competência are flagged as outside the processing window).
-- IDADE is in the unit of COD_IDADE when the file has it: 1 hours, 2 days, 3 months -> 0; 4 years;
-- 5 years over 100.
-- Digit checks are regexp_full_match(x, '[0-9]{n}') (ASCII digits only; ~4x faster than the
-- length + ltrim(x, '0123456789') = '' test it replaced, measured on 8.3M rows).
-- Bind variables: :competencia (DATE), :atraso (INTEGER, datasus.MAX_DELAY_MONTHS['SIH'])
WITH lido AS (
    SELECT
        a.arquivo, a.uf, a.mes_arquivo, f.linha,
        f.CNES      AS cnes,
        f.PROC_REA  AS procedimento,
        f.MUNIC_RES AS municipio_residencia,
        f.MUNIC_MOV AS municipio_estabelecimento,
        f.N_AIH     AS n_aih,
        f.ANO_CMPT || CASE WHEN (regexp_full_match(f.MES_CMPT, '[0-9]{1}')) THEN '0' || f.MES_CMPT
                           ELSE f.MES_CMPT END AS aaaamm,
        CASE WHEN NOT f.tem_cod_idade THEN f.IDADE
             WHEN f.COD_IDADE IN ('1', '2', '3') THEN 0
             WHEN f.COD_IDADE = '4' THEN f.IDADE
             WHEN f.COD_IDADE = '5' THEN 100 + f.IDADE
        END AS idade_num,
        f.VAL_TOT   AS valor
    FROM fonte f
    JOIN arquivos a ON a.filename = f.filename
),
mantido AS (
    SELECT *,
           CASE WHEN (regexp_full_match(aaaamm, '[0-9]{6}')
                   AND substr(aaaamm, 1, 2) IN ('19', '20') AND substr(aaaamm, 5, 2) BETWEEN '01' AND '12')
                THEN make_date(CAST(substr(aaaamm, 1, 4) AS INTEGER), CAST(substr(aaaamm, 5, 2) AS INTEGER), 1)
           END AS competencia,
           mes_arquivo AS mes_processamento,
           CASE WHEN idade_num = floor(idade_num) THEN TRY_CAST(idade_num AS INTEGER) END AS idade,
           1.0::DOUBLE AS quantidade
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
    competencia,
    'SIH'                  AS sistema,
    cnes,
    procedimento,
    municipio_residencia,
    idade,
    quantidade,
    valor,
    n_aih,
    municipio_estabelecimento,
    mes_processamento,
    uf,
    arquivo,
    linha,
    nullif(concat_ws('; ',
        CASE WHEN NOT coalesce((regexp_full_match(cnes, '[0-9]{7}')), false)
             THEN 'cnes ''' || coalesce(cnes, '') || ''' is not 7 digits' END,
        CASE WHEN competencia IS NULL THEN 'competencia '''' is not a valid AAAAMM month' END,
        CASE WHEN NOT coalesce((regexp_full_match(procedimento, '[0-9]{10}')), false)
             THEN 'procedimento ''' || coalesce(procedimento, '') || ''' is not 10 digits' END,
        CASE WHEN NOT coalesce((regexp_full_match(municipio_residencia, '[0-9]{6}')), false)
             THEN 'municipio_residencia ''' || coalesce(municipio_residencia, '') || ''' is not 6 digits' END,
        CASE WHEN municipio_estabelecimento IS NOT NULL
                  AND NOT (regexp_full_match(municipio_estabelecimento, '[0-9]{6}'))
             THEN 'municipio_estabelecimento ''' || municipio_estabelecimento || ''' is not 6 digits' END,
        CASE WHEN valor IS NULL THEN 'valor missing or not numeric' END,
        CASE WHEN valor < 0 THEN 'valor is negative (' || CAST(valor AS VARCHAR) || ')' END,
        CASE WHEN meses_antes < 0 OR meses_antes > :atraso
             THEN 'competencia outside the processing window (' || CAST(meses_antes AS VARCHAR)
                  || ' month(s) before mes_processamento; allowed 0..' || CAST(:atraso AS VARCHAR) || ')' END,
        CASE WHEN n_aih IS NULL OR trim(n_aih) = '' THEN 'n_aih missing' END
    ), '') AS problema
FROM janela
