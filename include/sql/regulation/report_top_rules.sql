-- make demo's report: the rules that decided most requests in the latest interval (rule_activations).
SELECT id_regra, resultado, CAST(SUM(disparos) AS BIGINT) AS disparos, CAST(SUM(decisoes) AS BIGINT) AS decisoes
FROM rule_activations
WHERE intervalo_fim = (SELECT MAX(intervalo_fim) FROM rule_activations)
GROUP BY id_regra, resultado
ORDER BY decisoes DESC, disparos DESC, id_regra
LIMIT 8
