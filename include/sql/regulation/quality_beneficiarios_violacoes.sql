-- The beneficiarios that break a row-level rule of the source DQ gate (quality_beneficiarios_regras.sql),
-- at most :limite per rule, one row per (rule, beneficiário), ordered by id within a rule. The ids
-- are pseudonymised by the gate before they reach a message.
WITH repetidos AS (
    SELECT id_beneficiario FROM beneficiarios WHERE id_beneficiario IS NOT NULL
    GROUP BY id_beneficiario HAVING COUNT(*) > 1
),
b AS (
    SELECT b.id_beneficiario, b.sexo, b.tipo_beneficiario, b.data_nascimento, b.data_adesao,
           CASE WHEN r.id_beneficiario IS NOT NULL THEN 1 ELSE 0 END AS repetido
    FROM beneficiarios b
    LEFT JOIN repetidos r ON r.id_beneficiario = b.id_beneficiario
),
quebras AS (
    SELECT 'id_beneficiario' AS regra, b.* FROM b WHERE repetido = 1
    UNION ALL SELECT 'sexo', b.* FROM b WHERE sexo NOT IN ('M', 'F')
    UNION ALL SELECT 'tipo_beneficiario', b.* FROM b
              WHERE tipo_beneficiario NOT IN ('titular', 'dependente', 'agregado')
    UNION ALL SELECT 'nascimento_futuro', b.* FROM b WHERE data_nascimento > :hoje
    UNION ALL SELECT 'adesao_futura', b.* FROM b WHERE data_adesao > :hoje
    UNION ALL SELECT 'adesao_antes_do_nascimento', b.* FROM b
              WHERE (data_adesao IS NOT NULL OR data_nascimento IS NOT NULL)
                AND NOT COALESCE(data_adesao >= data_nascimento, FALSE)
),
numeradas AS (
    SELECT q.*, ROW_NUMBER() OVER (PARTITION BY q.regra ORDER BY q.id_beneficiario) AS ordem_na_regra
    FROM quebras q
)
SELECT regra, id_beneficiario, sexo, tipo_beneficiario, data_nascimento, data_adesao
FROM numeradas
WHERE ordem_na_regra <= :limite
ORDER BY regra, ordem_na_regra
