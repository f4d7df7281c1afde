-- Scoring input: the oscillation window of the scored month (:fim). For each establishment x target of
-- :fim (numbered `par` exactly as score_establishment_month.sql numbers it), its production in the months
-- :inicio .. :fim - 1 that have a row, as integers and numbers only: par, defasagem (months before :fim),
-- quantidade, valor. vigia.sus.scores.oscillation_from_window takes the medians; an absent month counts
-- as 0 there. Only the scored month's establishment x target pairs come back (establishments that stopped
-- producing are not scored), and no text: ~1.6M rows x 3 text columns at national shape were the
-- biggest read of the score step.
-- Bind variables: :inicio, :fim (DATE; :inicio the first month of the longest window)
WITH agora AS (
    SELECT row_number() OVER (ORDER BY cnes, alvo) - 1 AS par, cnes, alvo
    FROM sus_production_by_establishment
    WHERE competencia = :fim
)
SELECT CAST(a.par AS BIGINT) AS par,
       CAST((EXTRACT(YEAR FROM CAST(:fim AS DATE)) - EXTRACT(YEAR FROM e.competencia)) * 12
            + EXTRACT(MONTH FROM CAST(:fim AS DATE)) - EXTRACT(MONTH FROM e.competencia) AS INTEGER) AS defasagem,
       CAST(COALESCE(e.quantidade, 0) AS DOUBLE PRECISION) AS quantidade,
       CAST(COALESCE(e.valor, 0) AS DOUBLE PRECISION) AS valor
FROM agora a
JOIN sus_production_by_establishment e
  ON e.cnes = a.cnes AND e.alvo = a.alvo
WHERE e.competencia >= :inicio
  AND e.competencia < :fim
