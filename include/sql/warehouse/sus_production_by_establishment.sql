-- Monthly production cube: establishment x target x competência (the issue's first cube).
-- Sums of sus_production_monthly over the municipality of residence (include/sql/sus/cube_by_establishment.sql),
-- written with it in the same transaction: the score step reads the 13 months of the oscillation from here
-- instead of grouping the finest cube, and BI reads an establishment's production without summing it.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_production_by_establishment (
    competencia   DATE NOT NULL,
    cnes          VARCHAR NOT NULL,
    alvo          VARCHAR NOT NULL,
    alvo_versao   INTEGER NOT NULL,
    sistema       VARCHAR NOT NULL,   -- SIA | SIH
    quantidade    DOUBLE PRECISION,
    valor         DOUBLE PRECISION,
    n_aih         BIGINT,
    run_id        VARCHAR NOT NULL
)
