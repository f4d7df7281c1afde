"""`airflow dags test glosa_clustering` end to end, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import pandas as pd

from tests.integration.conftest import sample
from vigia.connections import ConnectionSpec, default_uri
from vigia.warehouse import open_warehouse

LOGICAL_DATE = "2026-11-02T09:00:00+00:00"   # analyses 2026-10, the month before
SAMPLE = ["--segments", "30", "--rows", "6000", "--end-month", "2026-10", "--months", "2", "--seed", "3"]


def counts(wh, month: str) -> dict:
    out = {}
    for table in ("glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs"):
        out[table] = int(wh.query(f"SELECT COUNT(*) AS n FROM {table} WHERE competencia = :m",
                                  {"m": month})["n"].iloc[0])
    return out


def assert_success(run):
    assert run.returncode == 0, run.output[-4000:]


def test_duckdb_end_to_end_mapped_tasks_params_and_idempotency(run_dag, data_dir):
    sample(data_dir, *SAMPLE)
    first = run_dag("glosa_clustering", LOGICAL_DATE, conf={"max_batches": 5})
    assert_success(first)
    states = first.task_states("glosa_clustering")
    mapped = [s for s in states if s[0] == "cluster_batch"]
    assert [m[1] for m in mapped] == [0, 1, 2, 3, 4]                 # bounded by the Param
    assert {s[2] for s in states} == {"success"}, states

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    oct_counts = counts(wh, "2026-10-01")
    assert oct_counts["glosa_segment_runs"] == 30
    assert oct_counts["glosa_clusters"] > 1000 and oct_counts["glosa_cluster_profiles"] > 30
    runs = wh.query("SELECT status, COUNT(*) AS n FROM glosa_segment_runs GROUP BY status ORDER BY status")
    assert runs["n"].sum() == 30 and "clustered" in set(runs["status"])
    dq = wh.query("SELECT suite, success FROM dq_results ORDER BY validated_at")
    assert dq.values.tolist() == [["glosa_extract", True], ["glosa_features", True], ["glosa_segment_runs", True]]
    csv = pd.read_csv(data_dir / "exports" / "base_cluster_por_hospital.csv")
    assert len(csv) == oct_counts["glosa_clusters"]

    # the same week again: same partition, same counts, nothing duplicated
    again = run_dag("glosa_clustering", "2026-11-03T09:00:00+00:00")
    assert_success(again)
    assert counts(wh, "2026-10-01") == oct_counts
    assert wh.query("SELECT COUNT(DISTINCT run_id) AS n FROM glosa_clusters")["n"].iloc[0] == 1

    # Params as a user sets them in the trigger form: another month, one hospital
    hospital = wh.query("SELECT MIN(hospital) AS h FROM glosa_clusters")["h"].iloc[0]
    sept = run_dag("glosa_clustering", "2026-11-04T09:00:00+00:00",
                   conf={"competencia": "2026-09", "hospital": hospital})
    assert_success(sept)
    hospitals = wh.query("SELECT DISTINCT hospital FROM glosa_clusters WHERE competencia = :m",
                         {"m": "2026-09-01"})
    assert hospitals["hospital"].tolist() == [hospital]
    assert counts(wh, "2026-10-01") == oct_counts                      # October untouched


def test_postgres_source_and_warehouse(run_dag, data_dir, pg_uri):
    env = {"AIRFLOW_CONN_GLOSA_SOURCE": pg_uri, "AIRFLOW_CONN_WAREHOUSE": pg_uri}
    sample(data_dir, *SAMPLE, "--target", pg_uri)
    run = run_dag("glosa_clustering", LOGICAL_DATE, env=env)
    assert_success(run)
    assert "postgres" in run.output and not (data_dir / "warehouse.duckdb").exists()
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri))
    first = counts(wh, "2026-10-01")
    assert first["glosa_segment_runs"] == 30 and first["glosa_clusters"] > 1000
    assert_success(run_dag("glosa_clustering", "2026-11-03T09:00:00+00:00", env=env))
    assert counts(wh, "2026-10-01") == first


def test_failing_gate_stops_before_publishing_and_keeps_the_previous_partition(run_dag, data_dir):
    sample(data_dir, *SAMPLE)
    assert_success(run_dag("glosa_clustering", LOGICAL_DATE))
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    before = counts(wh, "2026-10-01")
    before_run = wh.query("SELECT DISTINCT run_id FROM glosa_clusters")["run_id"].tolist()

    import duckdb

    with duckdb.connect(str(data_dir / "sources" / "glosa.duckdb")) as con:
        con.execute("UPDATE tasy.tb_glosa_apriori_recente SET valor_glosa = -valor_glosa "
                    "WHERE hospital = (SELECT MIN(hospital) FROM tasy.tb_glosa_apriori_recente)")
    failed = run_dag("glosa_clustering", "2026-11-03T09:00:00+00:00")
    assert failed.returncode == 1
    assert "DQ gate 'glosa_extract' failed" in failed.output
    assert "column VALOR_GLOSA: expect_column_values_to_be_between" in failed.output
    states = dict(((t, m), s) for t, m, s in failed.task_states("glosa_clustering"))
    assert states[("dq_extract", -1)] == "failed"
    assert states[("publish", -1)] == "upstream_failed"
    assert counts(wh, "2026-10-01") == before
    assert wh.query("SELECT DISTINCT run_id FROM glosa_clusters")["run_id"].tolist() == before_run
    last = wh.query("SELECT suite, success FROM dq_results ORDER BY validated_at DESC LIMIT 1")
    assert last.values.tolist() == [["glosa_extract", False]]
