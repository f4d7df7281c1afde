-- The SIH staging (DuckDB): the rows of normalise_sih.sql, one AIH each (the cube counts them), with the
-- columns of the staging table vigia.sus.ingest_sia.PASSAGEM that stage_sia.sql fills for SIA.
-- Run by vigia.sus.ingest_sql, which prepends normalise_sih.sql as the CTE `normalizado`; the staged
-- production, the quarantine and the per-file counts are read from the result, so the landed files
-- are read once. Good and bad rows alike stay one row each, with their linha: nothing is dropped.
SELECT
    arquivo, uf, competencia, sistema, cnes, procedimento, municipio_residencia, idade, linha, problema,
    CAST(1 AS BIGINT) AS linhas, quantidade, valor, n_aih, municipio_estabelecimento, mes_processamento
FROM normalizado
