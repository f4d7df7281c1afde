-- Scoring input: establishment x target x month cube of a window of competências, as published in
-- sus_production_by_establishment (summed from sus_production_monthly by cube_by_establishment.sql;
-- vigia.sus.cubes.by_establishment in pandas). Rows: establishments x targets x months with production
-- (~1.7M for 13 national months; grouping the ~23M rows of the finest cube took ~1 s of the score step).
-- One alvo_versao per target and month, so the table's rows are already one per competencia, cnes, alvo, sistema.
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, cnes, alvo, sistema,
       CAST(COALESCE(quantidade, 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(valor, 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(n_aih, 0) AS BIGINT) AS n_aih
FROM sus_production_by_establishment
WHERE competencia >= :inicio
  AND competencia <= :fim
