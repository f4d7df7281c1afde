SELECT
    rank_overall AS rank,
    hospital,
    convenio,
    tipo_glosa,
    cluster,
    size,
    ROUND(CAST(total_glosa AS NUMERIC), 2)                    AS total_glosa,
    ROUND(CAST(100 * share_of_segment_glosa AS NUMERIC), 1)   AS pct_segment,
    descricao
FROM glosa_cluster_profiles
WHERE competencia = (SELECT MAX(competencia) FROM glosa_cluster_profiles)
ORDER BY rank_overall
LIMIT 5
