-- The UFs covered by the cubes of the competências :inicio .. :fim, per system (sus_cube_uf_coverage).
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT competencia, sistema, uf, uf_codigo
FROM sus_cube_uf_coverage
WHERE competencia >= :inicio
  AND competencia <= :fim
ORDER BY competencia, sistema, uf_codigo
