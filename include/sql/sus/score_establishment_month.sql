-- Scoring input: the establishment x target cube of the scored month (:fim), from
-- sus_production_by_establishment, each row numbered by `par` (0..n-1, in cnes, alvo order), the number
-- score_establishment_window.sql gives the same row's earlier months. One alvo_versao per target and
-- month, so the table's rows are already one per cnes, alvo (a target has one sistema).
-- Bind variables: :fim (DATE)
SELECT CAST(row_number() OVER (ORDER BY cnes, alvo) - 1 AS BIGINT) AS par,
       competencia, cnes, alvo, sistema,
       CAST(COALESCE(quantidade, 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(valor, 0) AS DOUBLE PRECISION) AS valor,
       CAST(COALESCE(n_aih, 0) AS BIGINT) AS n_aih
FROM sus_production_by_establishment
WHERE competencia = :fim
