-- Every glosa cell of the month with its keys, features and cluster id.
-- Successor of base_cluster_por_hospital.csv. Partition: competencia (month analysed).
-- cluster is NULL for cells of a segment that was skipped (see glosa_segment_runs.reason).
CREATE TABLE IF NOT EXISTS glosa_clusters (
    competencia         DATE NOT NULL,
    mes_recebimento     DATE NOT NULL,
    hospital            VARCHAR NOT NULL,
    regional            VARCHAR,
    tipo_despesa        VARCHAR,
    setor_n1            VARCHAR,
    setor_n2            VARCHAR,
    tipo_grupo          VARCHAR,
    tipo_atendimento    VARCHAR,
    convenio            VARCHAR NOT NULL,
    tipo_glosa          VARCHAR NOT NULL,
    valor_cobrado       DOUBLE PRECISION,
    glosa_atual         DOUBLE PRECISION,
    cobrado_anterior    DOUBLE PRECISION,
    glosa_anterior      DOUBLE PRECISION,
    qtd_linhas_glosa    DOUBLE PRECISION,
    ind_glosa           DOUBLE PRECISION,
    ind_glosa_anterior  DOUBLE PRECISION,
    salto_valor         DOUBLE PRECISION,
    salto_indice        DOUBLE PRECISION,
    cluster             INTEGER,
    run_id              VARCHAR NOT NULL
)
