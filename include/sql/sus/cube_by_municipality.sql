-- The municipality of residence x target cube of one competência: sus_production_monthly summed over
-- the establishments (vigia.sus.cubes.by_municipality in SQL). Runs where cube_by_establishment.sql runs.
-- Bind variables: :competencia (DATE)
SELECT competencia, municipio, uf, alvo, alvo_versao, sistema,
       CAST(COALESCE(SUM(quantidade), 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(SUM(valor), 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(SUM(n_aih), 0) AS BIGINT) AS n_aih
FROM sus_production_monthly
WHERE competencia = :competencia
GROUP BY competencia, municipio, uf, alvo, alvo_versao, sistema
ORDER BY alvo, municipio
