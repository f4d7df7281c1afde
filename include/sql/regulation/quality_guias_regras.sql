-- Row-level rules of the source DQ gate on the guias requested since :inicio, evaluated as SQL
-- aggregates (one row): for each rule, the rows it considers (avaliadas_*) and the rows that break
-- it (violacoes_*), with great-expectations' own conventions (vigia.regulation.quality_rules):
-- NULLs are not considered, except by the two "must be NULL" rules; the pair rule ignores a row
-- when either date is missing; uniqueness flags every copy of a repeated id_guia.
-- :agora is the run's "now" (a timestamp; a date after it lies in the future).
WITH repetidas AS (
    SELECT id_guia FROM guias WHERE data_solicitacao >= :inicio AND id_guia IS NOT NULL
    GROUP BY id_guia HAVING COUNT(*) > 1
),
g AS (
    SELECT g.id_guia, g.decisao, g.tipo_guia, g.data_solicitacao, g.data_decisao,
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
)
SELECT COUNT(*) AS linhas,
       SUM(codigo_fora) AS violacoes_codigo_fora,
       SUM(beneficiario_fora) AS violacoes_beneficiario_fora,
       COUNT(id_guia) AS avaliadas_id_guia,
       SUM(repetida) AS violacoes_id_guia,
       COUNT(decisao) AS avaliadas_decisao,
       SUM(CASE WHEN decisao NOT IN ('autorizado', 'negado') THEN 1 ELSE 0 END) AS violacoes_decisao,
       COUNT(tipo_guia) AS avaliadas_tipo_guia,
       SUM(CASE WHEN tipo_guia NOT IN ('consulta', 'sadt', 'internacao', 'odontologia') THEN 1 ELSE 0 END)
           AS violacoes_tipo_guia,
       SUM(CASE WHEN data_decisao IS NOT NULL AND data_solicitacao IS NOT NULL THEN 1 ELSE 0 END)
           AS avaliadas_decisao_antes,
       SUM(CASE WHEN data_decisao < data_solicitacao THEN 1 ELSE 0 END) AS violacoes_decisao_antes,
       COUNT(data_solicitacao) AS avaliadas_solicitacao_futura,
       SUM(CASE WHEN data_solicitacao > :agora THEN 1 ELSE 0 END) AS violacoes_solicitacao_futura,
       COUNT(data_decisao) AS avaliadas_decisao_futura,
       SUM(CASE WHEN data_decisao > :agora THEN 1 ELSE 0 END) AS violacoes_decisao_futura
FROM g
