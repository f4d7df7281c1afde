-- The guias (requested since :inicio) that break a row-level rule of the source DQ gate, at most
-- :limite per rule (the first ones in the extract's order), one row per (rule, guia):
--   regra: the rule (the same names as the counts of quality_guias_regras.sql);
--   linha: the guia's 0-based position in quality_guias.sql's extract (ORDER BY data_solicitacao,
--          id_guia), so the gate quarantines exactly those rows of the extract.
-- :limite is above the rows a rule may quarantine within its tolerance, so a passing rule lists
-- all its rows; a failing one lists examples. Only offending rows are numbered per rule.
WITH repetidas AS (
    SELECT id_guia FROM guias WHERE data_solicitacao >= :inicio AND id_guia IS NOT NULL
    GROUP BY id_guia HAVING COUNT(*) > 1
),
g AS (
    SELECT g.id_guia, g.id_beneficiario, g.codigo_procedimento, g.decisao, g.tipo_guia,
           g.data_solicitacao, g.data_decisao,
           ROW_NUMBER() OVER (ORDER BY g.data_solicitacao, g.id_guia) - 1 AS linha,
           CASE WHEN g.codigo_procedimento IS NOT NULL AND NOT EXISTS
                     (SELECT 1 FROM procedimentos p WHERE p.codigo_procedimento = g.codigo_procedimento)
                THEN 1 ELSE 0 END AS codigo_fora,
           CASE WHEN g.id_beneficiario IS NOT NULL AND NOT EXISTS
                     (SELECT 1 FROM beneficiarios b WHERE b.id_beneficiario = g.id_beneficiario)
                THEN 1 ELSE 0 END AS beneficiario_fora,
           CASE WHEN r.id_guia IS NOT NULL THEN 1 ELSE 0 END AS repetida
    FROM guias g
    LEFT JOIN repetidas r ON r.id_guia = g.id_guia
    WHERE g.data_solicitacao >= :inicio
),
quebras AS (
    SELECT 'codigo_fora' AS regra, g.* FROM g WHERE codigo_fora = 1
    UNION ALL SELECT 'beneficiario_fora', g.* FROM g WHERE beneficiario_fora = 1
    UNION ALL SELECT 'id_guia', g.* FROM g WHERE repetida = 1
    UNION ALL SELECT 'decisao', g.* FROM g WHERE decisao NOT IN ('autorizado', 'negado')
    UNION ALL SELECT 'tipo_guia', g.* FROM g
              WHERE tipo_guia NOT IN ('consulta', 'sadt', 'internacao', 'odontologia')
    UNION ALL SELECT 'decisao_antes', g.* FROM g WHERE data_decisao < data_solicitacao
    UNION ALL SELECT 'solicitacao_futura', g.* FROM g WHERE data_solicitacao > :agora
    UNION ALL SELECT 'decisao_futura', g.* FROM g WHERE data_decisao > :agora
),
numeradas AS (
    SELECT q.*, ROW_NUMBER() OVER (PARTITION BY q.regra ORDER BY q.linha) AS ordem_na_regra
    FROM quebras q
)
SELECT regra, linha, id_guia, id_beneficiario, codigo_procedimento, decisao, tipo_guia,
       data_solicitacao, data_decisao
FROM numeradas
WHERE ordem_na_regra <= :limite
ORDER BY regra, linha
