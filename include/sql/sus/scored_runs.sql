-- The runs whose audit ranking of one competência is published (one, after a rerun replaced it).
-- Bind variables: :competencia (DATE)
SELECT DISTINCT run_id
FROM sus_provider_ranking
WHERE competencia = :competencia
ORDER BY run_id
