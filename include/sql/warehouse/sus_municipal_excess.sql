-- Municipality x target x competência: per-capita rate, empirical-Bayes rate, threshold,
-- log-normal cutoff, excess count and value, 12-month municipal score. Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_municipal_excess (
    competencia          DATE NOT NULL,
    municipio            VARCHAR NOT NULL,
    uf                   VARCHAR,
    alvo                 VARCHAR NOT NULL,
    alvo_versao          INTEGER,   -- the target's version (alvos.csv versao) in the scored month's cube
    populacao            BIGINT,
    quantidade           DOUBLE PRECISION,
    valor                DOUBLE PRECISION,
    taxa                 DOUBLE PRECISION,   -- per inhabitant
    cutoff               DOUBLE PRECISION,   -- 99th percentile of the log-normal fit, per inhabitant
    excesso_quantidade   DOUBLE PRECISION,
    excesso_valor        DOUBLE PRECISION,
    taxa_eb              DOUBLE PRECISION,   -- empirical-Bayes rate per 100,000
    limiar               DOUBLE PRECISION,   -- k x national rate per 100,000
    k                    DOUBLE PRECISION,   -- the run's threshold multiplier (Param k_limiar, default 3)
    escore_municipal     DOUBLE PRECISION,   -- 12-month sum of max(0, taxa_eb - limiar)
    reason               VARCHAR,
    run_id               VARCHAR NOT NULL
)
