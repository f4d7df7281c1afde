-- Hospitals with profiles in one competência (the page's hospital selector).
SELECT DISTINCT hospital
FROM glosa_cluster_profiles
WHERE competencia = :competencia
ORDER BY hospital
