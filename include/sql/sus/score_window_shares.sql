-- Scoring input: each establishment's production for the residents of each municipality, summed over
-- the attribution window (P_ej of vigia.sus.scores.attribute_to_establishments), for the
-- municipality x target pairs scored in the window's last month (those with a row in :fim; the
-- others get no per-capita score that month, so their shares are never used).
-- Bind variables: :inicio, :fim (DATE, inclusive; :fim is the scored competência)
SELECT p.cnes, p.municipio, p.alvo,
       CAST(COALESCE(SUM(p.quantidade), 0) AS DOUBLE PRECISION) AS quantidade
FROM sus_production_monthly p
JOIN (SELECT DISTINCT municipio, alvo
      FROM sus_production_monthly
      WHERE competencia = :fim
        AND uf IS NOT NULL) s
  ON s.municipio = p.municipio AND s.alvo = p.alvo
WHERE p.competencia >= :inicio
  AND p.competencia <= :fim
GROUP BY p.cnes, p.municipio, p.alvo
