-- The version of each target (alvos.csv versao) in each month's cube of the score window:
-- one row per competencia, alvo, alvo_versao (sus_production_by_establishment, the coarse cube).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT DISTINCT competencia, alvo, alvo_versao
FROM sus_production_by_establishment
WHERE competencia >= :inicio
  AND competencia <= :fim
ORDER BY alvo, competencia, alvo_versao
