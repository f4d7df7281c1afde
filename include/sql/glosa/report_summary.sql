SELECT
    competencia,
    COUNT(*)                                              AS segments,
    CAST(SUM(CASE WHEN status = 'clustered' THEN 1 ELSE 0 END) AS BIGINT) AS clustered,
    CAST(SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END) AS BIGINT)   AS skipped,
    CAST(SUM(n_rows) AS BIGINT)                           AS cells,
    ROUND(CAST(AVG(k) AS NUMERIC), 1)                     AS mean_k
FROM glosa_segment_runs
GROUP BY competencia
ORDER BY competencia
