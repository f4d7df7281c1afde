-- The fact sheets' production series: the establishment x target cube of the months :inicio .. :fim - 1
-- for the establishments that get a sheet (:cnes, a list: the top of the ranking, or the one establishment
-- of an on-demand sheet). The scored month itself comes from the finest cube.
-- Bind variables: :inicio, :fim (DATE), :cnes (list of text; a DuckDB list / a PostgreSQL array)
SELECT competencia, cnes, alvo, sistema,
       CAST(COALESCE(quantidade, 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(valor, 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(n_aih, 0) AS BIGINT) AS n_aih
FROM sus_production_by_establishment
WHERE competencia >= :inicio
  AND competencia < :fim
  AND cnes = ANY(:cnes)
