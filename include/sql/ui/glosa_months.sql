-- Competências with glosa cluster profiles, newest first (the page's month selector).
SELECT DISTINCT competencia
FROM glosa_cluster_profiles
ORDER BY competencia DESC
