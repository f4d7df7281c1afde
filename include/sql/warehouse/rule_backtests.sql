-- Backtests of a ruleset against human decisions (vigia.rules.backtest), one row per rule plus
-- id_regra '(total)'. Partition: (versao_regras, periodo_inicio, periodo_fim).
CREATE TABLE IF NOT EXISTS rule_backtests (
    versao_regras       VARCHAR NOT NULL,
    periodo_inicio      DATE NOT NULL,
    periodo_fim         DATE NOT NULL,          -- exclusive
    id_regra            VARCHAR NOT NULL,
    resultado_regra     VARCHAR,
    solicitacoes        BIGINT,
    automatizadas       BIGINT,
    taxa_automacao      DOUBLE PRECISION,
    disparos            BIGINT,
    decisoes            BIGINT,
    concordancias       BIGINT,
    discordancias       BIGINT,
    concordancia        DOUBLE PRECISION,
    valor_negado        DOUBLE PRECISION,
    run_id              VARCHAR NOT NULL,
    calculado_em        TIMESTAMP NOT NULL
)
