-- Benign explanations attached to findings (mobile unit, regional spike, small municipality).
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_benign_flags (
    competencia   DATE NOT NULL,
    cnes          VARCHAR,
    municipio     VARCHAR,
    alvo          VARCHAR NOT NULL,
    alvo_versao   INTEGER,   -- the target's version (alvos.csv versao) in the scored month's cube
    flag          VARCHAR NOT NULL,
    detail        VARCHAR,
    run_id        VARCHAR NOT NULL
)
