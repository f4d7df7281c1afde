-- Rule activations of the latest interval the decisions DAG published (one row per rule x
-- outcome, the most decisive first). '(nenhuma regra)' counts the requests no rule settled.
-- Bind: :top.
SELECT
    id_regra,
    resultado,
    CAST(SUM(disparos) AS BIGINT)  AS disparos,
    CAST(SUM(decisoes) AS BIGINT)  AS decisoes,
    MAX(versao_regras)             AS versao_regras
FROM rule_activations
WHERE intervalo_fim = (SELECT MAX(intervalo_fim) FROM rule_activations)
GROUP BY id_regra, resultado
ORDER BY decisoes DESC, disparos DESC, id_regra
LIMIT :top
