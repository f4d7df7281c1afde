-- The mining targets (alvos) of one competência's SUS excess, the costliest first, for the page's
-- target filter. Bind variables:
--   :competencia  first day of the month (DATE)
--   :uf           one UF (two letters), or NULL for all
SELECT
    alvo,
    COALESCE(SUM(excesso_valor), 0)   AS excesso_valor,
    COUNT(*)                          AS estabelecimentos
FROM sus_provider_excess
WHERE competencia = :competencia
  AND (CAST(:uf AS VARCHAR) IS NULL OR uf = :uf)
GROUP BY alvo
ORDER BY COALESCE(SUM(excesso_valor), 0) DESC, alvo
