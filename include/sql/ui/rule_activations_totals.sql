-- Totals of the latest interval in rule_activations: requests (every request is decided by one
-- rule or counted under '(nenhuma regra)'), those a rule settled, firings and distinct rules.
SELECT
    MIN(intervalo_inicio)                                                          AS intervalo_inicio,
    MAX(intervalo_fim)                                                             AS intervalo_fim,
    CAST(COALESCE(SUM(decisoes), 0) AS BIGINT)                                     AS solicitacoes,
    CAST(COALESCE(SUM(CASE WHEN id_regra <> '(nenhuma regra)' THEN decisoes ELSE 0 END), 0) AS BIGINT)
                                                                                   AS automatizadas,
    CAST(COALESCE(SUM(CASE WHEN id_regra <> '(nenhuma regra)' THEN disparos ELSE 0 END), 0) AS BIGINT) AS disparos,
    COUNT(DISTINCT CASE WHEN id_regra <> '(nenhuma regra)' THEN id_regra END)      AS regras
FROM rule_activations
WHERE intervalo_fim = (SELECT MAX(intervalo_fim) FROM rule_activations)
