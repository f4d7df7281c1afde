-- The seed's source table, as the sample-data generator creates it (DuckDB and PostgreSQL).
CREATE SCHEMA IF NOT EXISTS tasy;
CREATE TABLE IF NOT EXISTS tasy.tb_glosa_apriori_recente (
    mes_recebimento      DATE,
    hospital             VARCHAR(120),
    regional             VARCHAR(120),
    i_item_categoria     VARCHAR(120),
    setor_n1             VARCHAR(120),
    setor_n2             VARCHAR(120),
    tipo_grupo           VARCHAR(120),
    tipo_atendimento     VARCHAR(120),
    convenio             VARCHAR(120),
    tipo_glosa           VARCHAR(120),
    valor_cobrado_geral  DOUBLE PRECISION,
    valor_glosa          DOUBLE PRECISION,
    cobrado_anterior     DOUBLE PRECISION,
    glosa_anterior       DOUBLE PRECISION,
    qtd_linhas_glosa     DOUBLE PRECISION
);
