-- SIA PA (produção ambulatorial) normalised in DuckDB for one competência, with its problems.
-- The SQL twin of vigia.sus.datasus.normalise + read_competencia + code_problems for Parquet landings;
-- run by vigia.sus.ingest_sql (which writes the good rows and the quarantine with COPY).
-- Inputs:
--   fonte     the landed rows as read by ingest_sql.register_sources from
--             read_parquet([...], union_by_name=true, filename=true, file_row_number=true):
--             filename, linha, and the source columns as stripped text (numeric code columns
--             zero-padded back to their fixed width with lpad) or DOUBLE:
--             PA_CODUNI, PA_CMP, PA_MVM (NULL when absent), PA_PROC_ID, PA_MUNPCN, PA_UFMUN (text),
--             PA_IDADE, PA_QTDAPR, PA_VALAPR (DOUBLE, NULL when not a number)
--   arquivos  one row per file: filename, arquivo (file name), uf, mes_arquivo (processing month, DATE)
-- Output: the PRODUCTION_COLUMNS of vigia.sus.cubes plus municipio_estabelecimento, mes_processamento,
-- uf, arquivo, linha and problema (NULL for a good row; otherwise what is wrong, in the words of
-- datasus.code_problems, messages joined with '; ').
-- Rows kept: competência = :competencia, plus the rows no competência could reach (missing/invalid or
-- outside the file's window of :atraso months) from the file processed in :competencia.
-- Digit checks are regexp_full_match(x, '[0-9]{n}') (ASCII digits only; ~4x faster than the
-- length + ltrim(x, '0123456789') = '' test it replaced, measured on 8.3M rows).
-- Bind variables: :competencia (DATE), :atraso (INTEGER, datasus.MAX_DELAY_MONTHS['SIA'])
WITH lido AS (
    SELECT
        a.arquivo, a.uf, a.mes_arquivo, f.linha,
        f.PA_CODUNI  AS cnes,
        f.PA_PROC_ID AS procedimento,
        f.PA_MUNPCN  AS municipio_residencia,
        f.PA_UFMUN   AS municipio_estabelecimento,
        CASE WHEN (regexp_full_match(f.PA_CMP, '[0-9]{6}')
                   AND substr(f.PA_CMP, 1, 2) IN ('19', '20') AND substr(f.PA_CMP, 5, 2) BETWEEN '01' AND '12')
             THEN make_date(CAST(substr(f.PA_CMP, 1, 4) AS INTEGER), CAST(substr(f.PA_CMP, 5, 2) AS INTEGER), 1)
        END AS competencia,
        CASE WHEN (regexp_full_match(f.PA_MVM, '[0-9]{6}')
                   AND substr(f.PA_MVM, 1, 2) IN ('19', '20') AND substr(f.PA_MVM, 5, 2) BETWEEN '01' AND '12')
             THEN make_date(CAST(substr(f.PA_MVM, 1, 4) AS INTEGER), CAST(substr(f.PA_MVM, 5, 2) AS INTEGER), 1)
        END AS mvm,
        CASE WHEN f.PA_IDADE = floor(f.PA_IDADE) THEN TRY_CAST(f.PA_IDADE AS INTEGER) END AS idade,
        f.PA_QTDAPR AS quantidade,
        f.PA_VALAPR AS valor
    FROM fonte f
    JOIN arquivos a ON a.filename = f.filename
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
    competencia,
    'SIA'                  AS sistema,
    cnes,
    procedimento,
    municipio_residencia,
    idade,
    quantidade,
    valor,
    CAST(NULL AS VARCHAR)  AS n_aih,
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
        CASE WHEN NOT coalesce((regexp_full_match(municipio_estabelecimento, '[0-9]{6}')), false)
             THEN 'municipio_estabelecimento ''' || coalesce(municipio_estabelecimento, '')
                  || ''' is not 6 digits' END,
        CASE WHEN quantidade IS NULL THEN 'quantidade missing or not numeric' END,
        CASE WHEN quantidade < 0 THEN 'quantidade is negative (' || CAST(quantidade AS VARCHAR) || ')' END,
        CASE WHEN valor IS NULL THEN 'valor missing or not numeric' END,
        CASE WHEN valor < 0 THEN 'valor is negative (' || CAST(valor AS VARCHAR) || ')' END,
        CASE WHEN meses_antes < 0 OR meses_antes > :atraso
             THEN 'competencia outside the processing window (' || CAST(meses_antes AS VARCHAR)
                  || ' month(s) before mes_processamento; allowed 0..' || CAST(:atraso AS VARCHAR) || ')' END,
        CASE WHEN mes_processamento <> mes_arquivo
             THEN 'mes_processamento ' || strftime(mes_processamento, '%Y-%m-%d')
                  || ' differs from the month in the file name ' || arquivo END
    ), '') AS problema
FROM atraso
