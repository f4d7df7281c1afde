-- Totals of one competência's glosa cluster profiles (same filters as glosa_top_profiles.sql).
SELECT
    COUNT(*)                                    AS perfis,
    COUNT(DISTINCT hospital)                    AS hospitais,
    CAST(COALESCE(SUM(size), 0) AS BIGINT)      AS celulas,
    COALESCE(SUM(total_glosa), 0)               AS total_glosa
FROM glosa_cluster_profiles
WHERE competencia = :competencia
  AND (CAST(:hospital AS VARCHAR) IS NULL OR hospital = :hospital)
