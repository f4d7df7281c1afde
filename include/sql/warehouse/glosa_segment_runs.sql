-- One row per segment: cells, chosen k, silhouette, status, skip reason and seconds.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS glosa_segment_runs (
    competencia       DATE NOT NULL,
    hospital          VARCHAR NOT NULL,
    convenio          VARCHAR NOT NULL,
    tipo_glosa        VARCHAR NOT NULL,
    n_rows            BIGINT NOT NULL,
    k                 INTEGER,
    silhouette        DOUBLE PRECISION,
    silhouette_rows   BIGINT,
    status            VARCHAR NOT NULL,   -- clustered | skipped
    reason            VARCHAR,            -- why a segment was skipped (Portuguese)
    seconds           DOUBLE PRECISION,
    run_id            VARCHAR NOT NULL
)
