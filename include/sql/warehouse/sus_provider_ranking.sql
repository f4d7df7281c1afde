-- The audit priority list: one row per establishment x competência. Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_provider_ranking (
    competencia        DATE NOT NULL,
    cnes               VARCHAR NOT NULL,
    uf                 VARCHAR,
    municipio          VARCHAR,           -- of the establishment
    rank               INTEGER NOT NULL,  -- by estimated excess value
    rank_escore        INTEGER NOT NULL,  -- by the most extreme score
    excesso_valor      DOUBLE PRECISION,
    escore_combinado   DOUBLE PRECISION,
    escore_maximo      DOUBLE PRECISION,
    n_escores          INTEGER,
    flags              VARCHAR,           -- benign explanations, comma-separated
    folha_de_fatos     VARCHAR,           -- path of the fact sheet, when one was rendered
    run_id             VARCHAR NOT NULL
)
