-- Scoring input: UF x target x month totals of a window of competências (production of the residents
-- of the UF's municipalities, from sus_production_by_municipality), for the regional-spike flag: did the
-- region itself jump? Municipalities of an unknown UF are left out, as in the municipal cube. Order is
-- applied in pandas.
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, uf, alvo,
       CAST(COALESCE(SUM(quantidade), 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(SUM(valor), 0) AS DOUBLE PRECISION) AS valor
FROM sus_production_by_municipality
WHERE competencia >= :inicio
  AND competencia <= :fim
  AND uf IS NOT NULL
GROUP BY competencia, uf, alvo
