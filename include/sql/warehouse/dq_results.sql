-- Every data-quality validation, passed or failed (append-only log).
CREATE TABLE IF NOT EXISTS dq_results (
    validated_at            TIMESTAMP NOT NULL,
    dag_id                  VARCHAR NOT NULL,
    run_id                  VARCHAR NOT NULL,
    task_id                 VARCHAR,
    partition_key           VARCHAR,
    suite                   VARCHAR NOT NULL,
    success                 BOOLEAN NOT NULL,
    rows_validated          BIGINT,
    expectations_evaluated  INTEGER,
    expectations_failed     INTEGER,
    rows_quarantined        BIGINT,
    failed_expectations     VARCHAR,   -- JSON: expectation, column, detail, counts, sample bad values
    flagged_expectations    VARCHAR    -- JSON: row-level expectations that passed within tolerance
)
