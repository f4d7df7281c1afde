SELECT
    competencia,
    COUNT(*)                                              AS segments,
    SUM(CASE WHEN status = 'clustered' THEN 1 ELSE 0 END) AS clustered,
    SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END)   AS skipped,
    SUM(n_rows)                                           AS cells,
    ROUND(CAST(AVG(k) AS NUMERIC), 1)                     AS mean_k
FROM glosa_segment_runs
GROUP BY competencia
ORDER BY competencia
