-- One row per pending request (guia) the rules engine decided, with why.
-- Partition: (intervalo_inicio, intervalo_fim), the run's interval in the plan's local time
-- (America/Sao_Paulo); a rerun of the interval replaces it in one transaction.
-- regras_disparadas / mensagens / porques: JSON lists, every rule that fired, in policy order.
-- dica_modelo: champion model's probability of 'autorizado', only for analise_tecnica requests.
CREATE TABLE IF NOT EXISTS regulation_decisions (
    intervalo_inicio    TIMESTAMP NOT NULL,
    intervalo_fim       TIMESTAMP NOT NULL,
    id_guia             VARCHAR NOT NULL,
    beneficiario        VARCHAR,                -- pseudonymised id_beneficiario (vigia.pseudonym)
    data_solicitacao    TIMESTAMP,
    codigo_procedimento VARCHAR,
    valor               DOUBLE PRECISION,
    resultado           VARCHAR NOT NULL,       -- autorizar / negar / bloquear / analise_tecnica
    regra_decisiva      VARCHAR,                -- NULL when no rule fired
    mensagem            VARCHAR,
    regras_disparadas   VARCHAR,
    mensagens           VARCHAR,
    porques             VARCHAR,
    dica_modelo         DOUBLE PRECISION,
    versao_modelo       VARCHAR,
    versao_regras       VARCHAR NOT NULL,
    run_id              VARCHAR NOT NULL,
    avaliado_em         TIMESTAMP NOT NULL
)
