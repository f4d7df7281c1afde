-- The landing files the cubes of the competências :inicio .. :fim were built from (sus_cube_files).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, sistema, arquivo
FROM sus_cube_files
WHERE competencia >= :inicio
  AND competencia <= :fim
ORDER BY competencia, sistema, arquivo
