-- The cubes of a window of competências already in the warehouse (scoring input).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, cnes, municipio, uf, alvo, alvo_versao, sistema, quantidade, valor, n_aih
FROM sus_production_monthly
WHERE competencia >= :inicio
  AND competencia <= :fim
