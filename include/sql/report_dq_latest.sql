SELECT dag_id, suite, success, rows_validated, expectations_failed, rows_quarantined, validated_at
FROM (
    SELECT d.*, ROW_NUMBER() OVER (PARTITION BY dag_id, suite ORDER BY validated_at DESC) AS rn
    FROM dq_results d
) latest
WHERE rn = 1
ORDER BY dag_id, suite
