-- How concentrated the estimated excess is: share held by the top 5 and top 100 establishments.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_excess_concentration (
    competencia           DATE NOT NULL,
    excesso_total         DOUBLE PRECISION,
    n_com_excesso         BIGINT,
    participacao_top5     DOUBLE PRECISION,
    participacao_top100   DOUBLE PRECISION,
    run_id                VARCHAR NOT NULL
)
