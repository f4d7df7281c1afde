-- The establishment x target cube of one competência: sus_production_monthly summed over the
-- municipality of residence (vigia.sus.cubes.by_establishment in SQL). Runs on the finished cube in two
-- places: the cube step (DuckDB, a view named sus_production_monthly over the staged cube.parquet) and the
-- warehouse (DuckDB or PostgreSQL: vigia.sus.pipeline.ensure_coarse_cubes derives a month published
-- before the coarse tables existed).
-- Bind variables: :competencia (DATE)
SELECT competencia, cnes, alvo, alvo_versao, sistema,
       CAST(COALESCE(SUM(quantidade), 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(SUM(valor), 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(SUM(n_aih), 0) AS BIGINT) AS n_aih
FROM sus_production_monthly
WHERE competencia = :competencia
GROUP BY competencia, cnes, alvo, alvo_versao, sistema
ORDER BY alvo, cnes
