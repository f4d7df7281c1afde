-- The IBGE population the score step wrote to sus_population for the years :ano_inicio .. :ano_fim
-- (the on-demand fact sheet reads it back, so it scores with the population the DAG scored with).
-- Bind variables: :ano_inicio, :ano_fim (INTEGER, inclusive)
SELECT municipio, ano, populacao
FROM sus_population
WHERE ano >= :ano_inicio
  AND ano <= :ano_fim
ORDER BY ano, municipio
