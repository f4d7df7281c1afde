-- Rows a data-quality gate moved out of a pipeline, with the reason. Nothing is lost.
-- Partition: (dag_id, partition_key).
CREATE TABLE IF NOT EXISTS dq_quarantine (
    dag_id          VARCHAR NOT NULL,
    partition_key   VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    suite           VARCHAR NOT NULL,
    dq_reason       VARCHAR NOT NULL,
    row_json        VARCHAR NOT NULL
)
