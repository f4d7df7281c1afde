-- Totals of one competência's SUS audit ranking (same filters as sus_top_ranking.sql).
SELECT
    COUNT(*)                                                        AS estabelecimentos,
    COALESCE(SUM(excesso_valor), 0)                                 AS excesso_total,
    CAST(SUM(CASE WHEN flags IS NOT NULL AND flags <> '' THEN 1 ELSE 0 END) AS BIGINT) AS com_explicacao
FROM sus_provider_ranking
WHERE competencia = :competencia
  AND (CAST(:uf AS VARCHAR) IS NULL OR uf = :uf)
