-- Monthly production cube: municipality of residence x target x competência (the issue's second cube).
-- Sums of sus_production_monthly over the establishments (include/sql/sus/cube_by_municipality.sql),
-- written with it in the same transaction: the per-capita rates and the UF totals of the score step read
-- it instead of grouping the finest cube.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_production_by_municipality (
    competencia   DATE NOT NULL,
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
