-- Monthly production cube: establishment x municipality of residence x target, for one competência.
-- Runs unchanged on DuckDB (the pipeline, over the staged Parquet files) and PostgreSQL (tests).
-- Inputs:
--   producao       normalised SIA + SIH rows: competencia, sistema, cnes, procedimento,
--                  municipio_residencia, idade, quantidade, valor, n_aih (NULL for SIA)
--   alvos_codigos  targets.expand_codes(): alvo, versao, sistema, prefixo, comprimento, idade_min, idade_max
-- One equality join per SIGTAP prefix length (2, 4, 6, 10 digits), so every join is a hash join.
-- Bind variables: :competencia (DATE)
WITH casados AS (
    SELECT p.competencia, p.sistema, p.cnes, p.municipio_residencia, p.quantidade, p.valor, p.n_aih,
           a.alvo, a.versao
    FROM producao p
    JOIN alvos_codigos a
      ON a.comprimento = 2 AND a.sistema = p.sistema AND a.prefixo = substr(p.procedimento, 1, 2)
    WHERE (a.idade_min IS NULL OR p.idade >= a.idade_min)
      AND (a.idade_max IS NULL OR p.idade <= a.idade_max)
    UNION ALL
    SELECT p.competencia, p.sistema, p.cnes, p.municipio_residencia, p.quantidade, p.valor, p.n_aih,
           a.alvo, a.versao
    FROM producao p
    JOIN alvos_codigos a
      ON a.comprimento = 4 AND a.sistema = p.sistema AND a.prefixo = substr(p.procedimento, 1, 4)
    WHERE (a.idade_min IS NULL OR p.idade >= a.idade_min)
      AND (a.idade_max IS NULL OR p.idade <= a.idade_max)
    UNION ALL
    SELECT p.competencia, p.sistema, p.cnes, p.municipio_residencia, p.quantidade, p.valor, p.n_aih,
           a.alvo, a.versao
    FROM producao p
    JOIN alvos_codigos a
      ON a.comprimento = 6 AND a.sistema = p.sistema AND a.prefixo = substr(p.procedimento, 1, 6)
    WHERE (a.idade_min IS NULL OR p.idade >= a.idade_min)
      AND (a.idade_max IS NULL OR p.idade <= a.idade_max)
    UNION ALL
    SELECT p.competencia, p.sistema, p.cnes, p.municipio_residencia, p.quantidade, p.valor, p.n_aih,
           a.alvo, a.versao
    FROM producao p
    JOIN alvos_codigos a
      ON a.comprimento = 10 AND a.sistema = p.sistema AND a.prefixo = substr(p.procedimento, 1, 10)
    WHERE (a.idade_min IS NULL OR p.idade >= a.idade_min)
      AND (a.idade_max IS NULL OR p.idade <= a.idade_max)
)
SELECT
    competencia,
    cnes,
    municipio_residencia AS municipio,
    alvo,
    versao               AS alvo_versao,
    sistema,
    SUM(quantidade)      AS quantidade,
    SUM(valor)           AS valor,
    COUNT(n_aih)         AS n_aih
FROM casados
WHERE competencia = :competencia
GROUP BY competencia, cnes, municipio_residencia, alvo, versao, sistema
ORDER BY alvo, cnes, municipio_residencia
