-- Scoring input: municipality of residence x target x month cube of a window of competências, as
-- published in sus_production_by_municipality (vigia.sus.cubes.by_municipality in pandas; the score step
-- reads the scored month, for the log-normal excess). Municipalities of an unknown UF (uf NULL) are left
-- out, as the pandas GROUP BY on uf leaves them out. Order is applied in pandas (collation-free).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, municipio, uf, alvo, sistema,
       CAST(COALESCE(quantidade, 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(valor, 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(n_aih, 0) AS BIGINT) AS n_aih
FROM sus_production_by_municipality
WHERE competencia >= :inicio
  AND competencia <= :fim
  AND uf IS NOT NULL
