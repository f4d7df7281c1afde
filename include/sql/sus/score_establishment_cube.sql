-- Scoring input: establishment x target x month cube of a window of competências (a GROUP BY of
-- sus_production_monthly; vigia.sus.cubes.by_establishment in SQL). Rows: establishments x targets x
-- months with production (~1.7M for 13 national months, against ~23M rows of the finest cube).
-- COALESCE: an all-NULL sum is 0, as pandas sums it. Order is applied in pandas (collation-free).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, cnes, alvo, sistema,
       CAST(COALESCE(SUM(quantidade), 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(SUM(valor), 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(SUM(n_aih), 0) AS BIGINT) AS n_aih
FROM sus_production_monthly
WHERE competencia >= :inicio
  AND competencia <= :fim
GROUP BY competencia, cnes, alvo, sistema
