-- Totals of one competência's SUS excess on one target (same filters as sus_top_ranking_alvo.sql):
-- establishments with a row for the target, Σ their excess on it, and how many of them carry a
-- benign flag in the ranking.
SELECT
    COUNT(*)                                                        AS estabelecimentos,
    COALESCE(SUM(x.excesso_valor), 0)                               AS excesso_total,
    CAST(SUM(CASE WHEN r.flags IS NOT NULL AND r.flags <> '' THEN 1 ELSE 0 END) AS BIGINT) AS com_explicacao
FROM sus_provider_excess x
LEFT JOIN sus_provider_ranking r
  ON r.competencia = x.competencia AND r.cnes = x.cnes
WHERE x.competencia = :competencia
  AND x.alvo = :alvo
  AND (CAST(:uf AS VARCHAR) IS NULL OR x.uf = :uf)
