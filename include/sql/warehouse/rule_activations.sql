-- Rule x day x outcome counts of the decisions DAG. Partition: (intervalo_inicio, intervalo_fim).
-- disparos: requests where the rule fired; decisoes: requests it decided (won the conflict policy).
-- id_regra '(nenhuma regra)' counts the requests no rule settled (sent to analise_tecnica).
CREATE TABLE IF NOT EXISTS rule_activations (
    intervalo_inicio    TIMESTAMP NOT NULL,
    intervalo_fim       TIMESTAMP NOT NULL,
    dia                 DATE NOT NULL,
    id_regra            VARCHAR NOT NULL,
    resultado           VARCHAR NOT NULL,
    disparos            BIGINT NOT NULL,
    decisoes            BIGINT NOT NULL,
    versao_regras       VARCHAR NOT NULL,
    run_id              VARCHAR NOT NULL
)
