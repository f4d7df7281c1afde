-- Municipality x year pairs of the window's municipal cube (sus_production_by_municipality, uf known)
-- without a positive population in sus_population: the per-capita rates cannot be computed for them,
-- and the score step stops naming them (vigia.sus.scoring.population_for does the same in pandas). At
-- most 6 rows are needed for the message.
-- Bind variables: :inicio, :fim (DATE, inclusive)
SELECT c.municipio, CAST(EXTRACT(YEAR FROM c.competencia) AS INTEGER) AS ano
FROM sus_production_by_municipality c
LEFT JOIN sus_population p
  ON p.municipio = c.municipio AND p.ano = EXTRACT(YEAR FROM c.competencia)
WHERE c.competencia >= :inicio
  AND c.competencia <= :fim
  AND c.uf IS NOT NULL
  AND (p.populacao IS NULL OR p.populacao <= 0)
GROUP BY c.municipio, CAST(EXTRACT(YEAR FROM c.competencia) AS INTEGER)
ORDER BY 1, 2
LIMIT 6
