-- Competências with an SUS audit ranking, newest first.
SELECT DISTINCT competencia
FROM sus_provider_ranking
ORDER BY competencia DESC
