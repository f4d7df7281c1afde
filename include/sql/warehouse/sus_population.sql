-- IBGE population per municipality of residence (6 digits, without the check digit, as in DATASUS) and
-- year, as landed in IBGE/populacao.csv. The score step replaces the years of its window before the
-- per-capita rates are computed in the warehouse (include/sql/sus/score_per_capita.sql); analysts can
-- join it to sus_production_monthly for rates of their own. Partition: ano.
CREATE TABLE IF NOT EXISTS sus_population (
    municipio  VARCHAR NOT NULL,
    ano        INTEGER NOT NULL,
    populacao  BIGINT NOT NULL,
    run_id     VARCHAR NOT NULL
)
