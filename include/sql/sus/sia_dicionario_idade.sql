-- The SIA age dictionary: each distinct raw PA_IDADE, the age it means and the band the staging keeps.
-- Inputs:
--   valores        idade_bruto (PA_IDADE as stored) and numero (DOUBLE, NULL when not a number: ingest_sql._number_expr)
--   faixas_idade   idade -> faixa (ingest_sql.age_bands), ages 0..150
-- Output: id, bruto (= idade_bruto), idade (INTEGER; NULL when not a whole number), faixa (the band of idade; idade
-- itself outside 0..150, NULL when idade is NULL).
SELECT
    row_number() OVER ()          AS id,
    v.bruto,
    v.idade,
    coalesce(f.faixa, v.idade)    AS faixa
FROM (
    SELECT idade_bruto AS bruto, CASE WHEN numero = floor(numero) THEN TRY_CAST(numero AS INTEGER) END AS idade
    FROM valores
) v
LEFT JOIN faixas_idade f ON f.idade = v.idade
