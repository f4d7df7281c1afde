-- The SIH age dictionary: each distinct (IDADE, COD_IDADE) of the landed RD files and the age in years.
-- IDADE is in the unit of COD_IDADE when the file has it: 1 hours, 2 days, 3 months -> 0; 4 years;
-- 5 years over 100.
-- Input:
--   valores   idade_bruto, cod_idade_bruto (as stored; NULL when the file has no COD_IDADE), numero (IDADE
--             as DOUBLE, NULL when not a number), cod (COD_IDADE as stripped text)
-- Output: id, idade_bruto, cod_idade_bruto, idade (INTEGER; NULL when not a whole number or the unit is
-- unknown).
-- Bind variables: :tem_cod_idade (BOOLEAN: the files have a COD_IDADE column)
WITH anos AS (
    SELECT idade_bruto, cod_idade_bruto,
           CASE WHEN NOT :tem_cod_idade THEN numero
                WHEN cod IN ('1', '2', '3') THEN 0
                WHEN cod = '4' THEN numero
                WHEN cod = '5' THEN 100 + numero
           END AS idade_num
    FROM valores
)
SELECT
    row_number() OVER () AS id,
    idade_bruto,
    cod_idade_bruto,
    CASE WHEN idade_num = floor(idade_num) THEN TRY_CAST(idade_num AS INTEGER) END AS idade
FROM anos
