-- Estimated excess money per establishment x target x competência, by part (the ranking's
-- excesso_valor is their sum over the targets). Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_provider_excess (
    competencia          DATE NOT NULL,
    cnes                 VARCHAR NOT NULL,
    uf                   VARCHAR,
    municipio            VARCHAR,            -- of the establishment
    alvo                 VARCHAR NOT NULL,
    alvo_versao          INTEGER,   -- the target's version (alvos.csv versao) in the scored month's cube
    excesso_per_capita   DOUBLE PRECISION,   -- its share of its municipalities' log-normal excess value
    excesso_preco        DOUBLE PRECISION,   -- SIH: admissions above the 99% price cutoff
    excesso_salto        DOUBLE PRECISION,   -- production above 3x its own 12-month median
    excesso_valor        DOUBLE PRECISION,   -- the sum of the three
    run_id               VARCHAR NOT NULL
)
