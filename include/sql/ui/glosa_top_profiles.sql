-- Glosa cluster profiles of one competência ranked by money lost (rank_overall orders by
-- total_glosa, descending). Bind variables:
--   :competencia  first day of the month (DATE)
--   :hospital     one hospital, or NULL for all
--   :top          how many rows
SELECT
    rank_overall,
    hospital,
    convenio,
    tipo_glosa,
    cluster,
    size,
    total_glosa,
    share_of_segment_glosa,
    mean_ind_glosa,
    descricao
FROM glosa_cluster_profiles
WHERE competencia = :competencia
  AND (CAST(:hospital AS VARCHAR) IS NULL OR hospital = :hospital)
ORDER BY rank_overall
LIMIT :top
