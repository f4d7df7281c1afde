-- The UFs each competência's cube covers, per system: a UF is covered when its file of the competência's
-- own processing month (SIA/PA<UF><AA><MM>*, SIH/RD<UF><AA><MM>*) was read into the cube. Files of later
-- months hold late records only, so a UF with those alone is not covered. The per-capita pool (the
-- national rate b of the empirical-Bayes rates) and the log-normal fit take the municipalities of the
-- covered UFs only (include/sql/sus/score_per_capita.sql, vigia.sus.scoring.in_coverage): a UF whose
-- files have not landed is not counted as zero production. A month with no row here (a cube published
-- before this table existed, or written by another tool) counts as covering every UF.
-- Published with the cube, in the same transaction. Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_cube_uf_coverage (
    competencia  DATE NOT NULL,
    sistema      VARCHAR NOT NULL,   -- SIA | SIH
    uf           VARCHAR NOT NULL,   -- sigla, e.g. SP
    uf_codigo    VARCHAR NOT NULL,   -- IBGE code, the first two digits of its municipalities' codes
    run_id       VARCHAR NOT NULL
)
