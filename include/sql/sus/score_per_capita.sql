-- Per-capita score of the scored month (:fim), computed in the warehouse: the formulas of
-- vigia.sus.scores.empirical_bayes_rates, municipal_rate_scores and attribute_to_establishments, over
-- the attribution window :inicio .. :fim (12 months).
--
--   mun:      y = production for the residents of municipality j, target a, month t (every
--             establishment: sus_production_by_municipality); n = population of j in t's year
--             (sus_population). EVERY municipality of sus_population is an area, y = 0 where the cube
--             has no row: b is the national rate, not the rate of the municipalities that happened to
--             produce (scoring.with_every_municipality). Of a month whose cube records the UFs it covers
--             (sus_cube_uf_coverage), only the municipalities of the UFs covered for a's system count: a UF
--             whose files have not landed is left out of that month's pool, not counted as zero
--             production (a state secretariat landing its own UF gets its state's rate as b)
--   EB rate:  per target x month: r = y/n; b = Σy/Σn; s² = Σ n (r − b)² / Σn; n̄ = Σn / N;
--             a = max(0, s² − b/n̄) (CLAMPED at 0); EB = b + a / (a + b/n) × (r − b) (EB = b when a = 0)
--   score:    limiar = k × b × per; dif = max(0, EB × per − limiar);
--             escore_municipal = Σ dif over the window's months, for the pairs j x a of :fim's pool with a
--             cube row in :fim or a dif > 0 in one of the window's months (production that stopped still
--             counts for 12 months)
--   share:    P_ej = production of establishment e for the residents of j over the window;
--             value_e = Σ_j P_ej / Σ_e P_ej × escore_municipal_j (municipalities with Σ_e P_ej = 0 skipped),
--             summed here as Σ over the window's cube rows of quantidade × w_j, w_j = escore_municipal_j /
--             P_j: one GROUP BY establishment x target instead of one per establishment x municipality
--             x target (~6M groups at national shape; 3.0 s -> 1.6 s). Σ_e P_ej = Σ_t y_jt (the municipal
--             cube is the sum of the same rows), so P_j comes from `produced`
--
-- Two kinds of rows, told apart by `nivel`:
--   'municipio':       municipio, alvo, taxa_eb, limiar, dif, escore_municipal (one per scored j x a)
--   'estabelecimento': cnes, alvo, valor (one per establishment x target with production for one of them)
-- Municipalities of an unknown UF are left out, as in the municipal cube. Order is applied in pandas.
-- Bind variables: :inicio, :fim (DATE, inclusive), :k, :per (DOUBLE)
WITH produced AS (
    -- one row per competencia, municipio, alvo already: the municipal cube's other keys (uf, alvo_versao,
    -- sistema) follow from those (targets.load refuses a target listed twice), so no GROUP BY
    SELECT competencia, municipio, alvo, sistema,
           CAST(COALESCE(quantidade, 0) AS DOUBLE PRECISION) AS y
    FROM sus_production_by_municipality
    WHERE competencia >= :inicio
      AND competencia <= :fim
      AND uf IS NOT NULL
),
cells AS (
    SELECT DISTINCT competencia, alvo, sistema
    FROM produced
),
covered AS (
    SELECT competencia, sistema, uf_codigo
    FROM sus_cube_uf_coverage
    WHERE competencia >= :inicio
      AND competencia <= :fim
),
recorded AS (
    SELECT DISTINCT competencia
    FROM covered
),
mun AS MATERIALIZED (
    SELECT c.competencia, p.municipio, c.alvo,
           COALESCE(pr.y, 0) AS y,
           CAST(p.populacao AS DOUBLE PRECISION) AS n,
           CASE WHEN pr.municipio IS NULL THEN 0 ELSE 1 END AS no_cubo
    FROM cells c
    JOIN sus_population p
      ON p.ano = EXTRACT(YEAR FROM c.competencia)
    LEFT JOIN recorded r
      ON r.competencia = c.competencia
    LEFT JOIN covered v
      ON v.competencia = c.competencia AND v.sistema = c.sistema AND v.uf_codigo = substr(p.municipio, 1, 2)
    LEFT JOIN produced pr
      ON pr.competencia = c.competencia AND pr.alvo = c.alvo AND pr.municipio = p.municipio
    WHERE r.competencia IS NULL
       OR v.uf_codigo IS NOT NULL
),
pooled AS (
    SELECT competencia, alvo, SUM(y) / SUM(n) AS b, SUM(n) AS soma_n, SUM(n) / COUNT(*) AS n_medio
    FROM mun
    GROUP BY competencia, alvo
),
spread AS (
    SELECT m.competencia, m.alvo,
           GREATEST(SUM(m.n * (m.y / m.n - p.b) * (m.y / m.n - p.b)) / MIN(p.soma_n) - MIN(p.b / p.n_medio), 0) AS a
    FROM mun m
    JOIN pooled p ON p.competencia = m.competencia AND p.alvo = m.alvo
    GROUP BY m.competencia, m.alvo
),
rates AS (
    SELECT m.competencia, m.municipio, m.alvo, m.no_cubo,
           (p.b + CASE WHEN s.a > 0 THEN s.a / (s.a + p.b / m.n) ELSE 0 END * (m.y / m.n - p.b)) * :per AS taxa_eb,
           :k * (p.b * :per) AS limiar
    FROM mun m
    JOIN pooled p ON p.competencia = m.competencia AND p.alvo = m.alvo
    JOIN spread s ON s.competencia = m.competencia AND s.alvo = m.alvo
),
scored AS MATERIALIZED (
    SELECT municipio, alvo,
           MAX(CASE WHEN competencia = :fim THEN taxa_eb END) AS taxa_eb,
           MAX(CASE WHEN competencia = :fim THEN limiar END) AS limiar,
           MAX(CASE WHEN competencia = :fim THEN GREATEST(taxa_eb - limiar, 0) END) AS dif,
           SUM(GREATEST(taxa_eb - limiar, 0)) AS escore_municipal
    FROM rates
    GROUP BY municipio, alvo
    -- in the month's pool, and with production in the month or a dif above 0 in one of the window's months:
    -- a municipality whose production stopped keeps its 12-month score, shared by the window's production
    HAVING MAX(CASE WHEN competencia = :fim THEN 1 ELSE 0 END) = 1
       AND (MAX(CASE WHEN competencia = :fim THEN no_cubo ELSE 0 END) = 1
            OR SUM(GREATEST(taxa_eb - limiar, 0)) > 0)
),
weights AS (
    -- w_j = escore_municipal_j / P_j, P_j = the window's production for the residents of j (Σ_e P_ej)
    SELECT s.municipio, s.alvo, s.escore_municipal / t.p_j AS w
    FROM scored s
    JOIN (SELECT municipio, alvo, SUM(y) AS p_j FROM produced GROUP BY municipio, alvo) t
      ON t.municipio = s.municipio AND t.alvo = s.alvo
    WHERE t.p_j > 0
)
SELECT 'municipio' AS nivel, CAST(NULL AS VARCHAR) AS cnes, municipio, alvo,
       taxa_eb, limiar, dif, escore_municipal, CAST(NULL AS DOUBLE PRECISION) AS valor
FROM scored
UNION ALL
SELECT 'estabelecimento', p.cnes, CAST(NULL AS VARCHAR), p.alvo,
       CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION),
       CAST(NULL AS DOUBLE PRECISION), CAST(COALESCE(SUM(p.quantidade * w.w), 0) AS DOUBLE PRECISION)
FROM sus_production_monthly p
JOIN weights w ON w.municipio = p.municipio AND w.alvo = p.alvo
WHERE p.competencia >= :inicio
  AND p.competencia <= :fim
  AND p.cnes IS NOT NULL
GROUP BY p.cnes, p.alvo
