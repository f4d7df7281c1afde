-- Competências of a window that already have a cube in the warehouse.
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT DISTINCT competencia
FROM sus_production_monthly
WHERE competencia >= :inicio
  AND competencia <= :fim
