SELECT
    c.competencia,
    (SELECT COUNT(*) FROM sus_production_monthly p WHERE p.competencia = c.competencia)     AS cube_cells,
    (SELECT COUNT(*) FROM sus_provider_ranking r WHERE r.competencia = c.competencia)       AS establishments,
    ROUND(CAST(c.excesso_total AS NUMERIC), 2)                                              AS excesso_total,
    ROUND(CAST(100 * c.participacao_top5 AS NUMERIC), 1)                                    AS pct_top5,
    ROUND(CAST(100 * c.participacao_top100 AS NUMERIC), 1)                                  AS pct_top100
FROM sus_excess_concentration c
ORDER BY c.competencia
