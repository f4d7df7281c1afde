-- The competências of the window with a finest cube, each with the run that published it and the run of
-- its coarser cubes (NULL when a coarse cube of that month is missing). A month whose coarse run differs
-- from its finest run was published without them (a warehouse of an earlier version, or a finest cube
-- written alone): vigia.sus.pipeline.ensure_coarse_cubes derives them again (cube_by_*.sql).
-- Bind variables: :inicio, :fim (DATE)
SELECT m.competencia, m.run_id, e.run_id AS run_id_estabelecimento, u.run_id AS run_id_municipio
FROM (SELECT competencia, MIN(run_id) AS run_id
      FROM sus_production_monthly
      WHERE competencia >= :inicio AND competencia <= :fim
      GROUP BY competencia) m
LEFT JOIN (SELECT competencia, MIN(run_id) AS run_id
           FROM sus_production_by_establishment
           WHERE competencia >= :inicio AND competencia <= :fim
           GROUP BY competencia) e
  ON e.competencia = m.competencia
LEFT JOIN (SELECT competencia, MIN(run_id) AS run_id
           FROM sus_production_by_municipality
           WHERE competencia >= :inicio AND competencia <= :fim
           GROUP BY competencia) u
  ON u.competencia = m.competencia
ORDER BY m.competencia
