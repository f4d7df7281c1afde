-- Row-level rules of the source DQ gate on beneficiarios, evaluated as SQL aggregates (one row):
-- for each rule, the rows it considers (avaliadas_*) and the rows that break it (violacoes_*), with
-- great-expectations' conventions (see quality_guias_regras.sql); the value sets mirror
-- vigia.regulation.quality (a test checks them). :hoje is the run's date at midnight (a timestamp):
-- a birth or adesão after it lies in the future. The pair rule (adesão on/after birth) considers a
-- row unless both dates are missing, and a row with one of them missing breaks it.
WITH repetidos AS (
    SELECT id_beneficiario FROM beneficiarios WHERE id_beneficiario IS NOT NULL
    GROUP BY id_beneficiario HAVING COUNT(*) > 1
)
SELECT COUNT(*) AS linhas,
       COUNT(b.id_beneficiario) AS avaliadas_id_beneficiario,
       SUM(CASE WHEN r.id_beneficiario IS NOT NULL THEN 1 ELSE 0 END) AS violacoes_id_beneficiario,
       COUNT(b.sexo) AS avaliadas_sexo,
       SUM(CASE WHEN b.sexo NOT IN ('M', 'F') THEN 1 ELSE 0 END) AS violacoes_sexo,
       COUNT(b.tipo_beneficiario) AS avaliadas_tipo_beneficiario,
       SUM(CASE WHEN b.tipo_beneficiario NOT IN ('titular', 'dependente', 'agregado') THEN 1 ELSE 0 END)
           AS violacoes_tipo_beneficiario,
       COUNT(b.data_nascimento) AS avaliadas_nascimento_futuro,
       SUM(CASE WHEN b.data_nascimento > :hoje THEN 1 ELSE 0 END) AS violacoes_nascimento_futuro,
       COUNT(b.data_adesao) AS avaliadas_adesao_futura,
       SUM(CASE WHEN b.data_adesao > :hoje THEN 1 ELSE 0 END) AS violacoes_adesao_futura,
       SUM(CASE WHEN b.data_adesao IS NOT NULL OR b.data_nascimento IS NOT NULL THEN 1 ELSE 0 END)
           AS avaliadas_adesao_antes_do_nascimento,
       SUM(CASE WHEN (b.data_adesao IS NOT NULL OR b.data_nascimento IS NOT NULL)
                 AND NOT COALESCE(b.data_adesao >= b.data_nascimento, FALSE) THEN 1 ELSE 0 END)
           AS violacoes_adesao_antes_do_nascimento
FROM beneficiarios b
LEFT JOIN repetidos r ON r.id_beneficiario = b.id_beneficiario
