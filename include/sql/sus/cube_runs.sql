-- The competências of the window with a finest cube and the run that published each (cube_coverage.sql
-- for a warehouse that has no coarse cube tables yet).
-- Bind variables: :inicio, :fim (DATE)
SELECT competencia, MIN(run_id) AS run_id
FROM sus_production_monthly
WHERE competencia >= :inicio AND competencia <= :fim
GROUP BY competencia
ORDER BY competencia
