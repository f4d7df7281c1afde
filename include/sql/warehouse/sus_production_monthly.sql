-- Monthly production cube: establishment x municipality of residence x target x competência.
-- The coarser cubes (sus_production_by_establishment, sus_production_by_municipality) are its sums,
-- published with it in one transaction.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_production_monthly (
    competencia   DATE NOT NULL,
    cnes          VARCHAR NOT NULL,
    municipio     VARCHAR NOT NULL,   -- of residence, 6-digit IBGE code
    uf            VARCHAR,            -- of the municipality of residence
    alvo          VARCHAR NOT NULL,
    alvo_versao   INTEGER NOT NULL,
    sistema       VARCHAR NOT NULL,   -- SIA | SIH
    quantidade    DOUBLE PRECISION,
    valor         DOUBLE PRECISION,
    n_aih         BIGINT,
    run_id        VARCHAR NOT NULL
)
