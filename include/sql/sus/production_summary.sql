-- The staged production of a competência, one row per system x competência x municipality of residence:
-- what the sus_ingest great-expectations suite checks after the row-level checks ran in SQL
-- (vigia.sus.pipeline.gate_ingest). Runs on DuckDB over the staged Parquet; plain SQL (PostgreSQL too).
-- Input: producao (competencia, sistema, cnes, municipio_residencia, quantidade, valor, linhas:
--        landed rows summed into the staged row, 1 for a row-level staging)
SELECT
    competencia,
    sistema,
    municipio_residencia,
    SUM(linhas)           AS linhas,
    COUNT(DISTINCT cnes)  AS estabelecimentos,
    MIN(quantidade)       AS quantidade_min,
    MIN(valor)            AS valor_min
FROM producao
GROUP BY competencia, sistema, municipio_residencia
ORDER BY competencia, sistema, municipio_residencia
