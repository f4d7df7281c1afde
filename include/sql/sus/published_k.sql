-- The threshold multiplier k the published scores of one competência were computed with
-- (sus_municipal_excess.k; NULL in rows of an earlier version). Bind variables: :competencia (DATE)
SELECT DISTINCT k
FROM sus_municipal_excess
WHERE competencia = :competencia
  AND k IS NOT NULL
