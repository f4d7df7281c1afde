-- One row per segment x cluster: size, mean features, money lost, rank and a description.
-- Partition: competencia.
CREATE TABLE IF NOT EXISTS glosa_cluster_profiles (
    competencia             DATE NOT NULL,
    hospital                VARCHAR NOT NULL,
    convenio                VARCHAR NOT NULL,
    tipo_glosa              VARCHAR NOT NULL,
    cluster                 INTEGER NOT NULL,
    size                    BIGINT NOT NULL,
    mean_glosa_atual        DOUBLE PRECISION,
    mean_ind_glosa          DOUBLE PRECISION,
    mean_salto_valor        DOUBLE PRECISION,
    mean_salto_indice       DOUBLE PRECISION,
    total_glosa             DOUBLE PRECISION,
    share_of_segment_glosa  DOUBLE PRECISION,
    rank_in_segment         INTEGER,
    rank_overall            INTEGER,
    descricao               VARCHAR,
    run_id                  VARCHAR NOT NULL
)
