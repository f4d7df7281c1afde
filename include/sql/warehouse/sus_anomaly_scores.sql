-- Establishment x target x competência x score name -> value. NULL value with a reason when a
-- score cannot be computed (e.g. no 12-month history). Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_anomaly_scores (
    competencia   DATE NOT NULL,
    cnes          VARCHAR NOT NULL,
    uf            VARCHAR,            -- of the establishment (CNES)
    alvo          VARCHAR NOT NULL,
    alvo_versao   INTEGER,   -- the target's version (alvos.csv versao) in the scored month's cube
    score         VARCHAR NOT NULL,
    value         DOUBLE PRECISION,
    reason        VARCHAR,
    run_id        VARCHAR NOT NULL
)
