"""DAG integrity: every DAG imports, follows the project's policy, and parses fast without heavy imports."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

EXPECTED_DAGS = {"glosa_clustering", "sus_anomaly_scoring", "regulation_model_retraining", "regulation_decisions"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_policy(dagbag, dag_id):
    dag = dagbag.dags.get(dag_id)
    assert dag.tags and "vigia" in dag.tags
    assert dag.doc_md and len(dag.doc_md) > 200
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.retries >= 2, f"{dag_id}.{task.task_id} retries={task.retries}"
        assert task.owner not in ("airflow", None, ""), task.task_id
        assert task.execution_timeout is not None, task.task_id
    for name, param in dag.params.items():
        assert param.description, f"{dag_id}: Param {name} has no description"


def test_glosa_dag_shape(dagbag):
    dag = dagbag.dags.get("glosa_clustering")
    assert dag.timetable.expression == "0 6 * * 1" and str(dag.timetable.timezone) == "America/Sao_Paulo"
    order = ["extract", "dq_extract", "build_features", "dq_features", "plan_batches", "cluster_batch",
             "dq_clusters", "publish", "export_csv"]
    for up, down in zip(order, order[1:]):
        assert down in dag.get_task(up).downstream_task_ids, f"{up} -> {down}"
    mapped = dag.get_task("cluster_batch")
    assert mapped.map_index_template == "{{ batch_label }}"
    assert {o.name for o in dag.get_task("publish").outlets} == {
        "glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs", "dq_quarantine"}
    for gate in ("dq_extract", "dq_features", "dq_clusters"):
        assert [o.name for o in dag.get_task(gate).outlets] == ["dq_results"]
    assert set(dag.params) == {"competencia", "hospital", "max_batches", "quarantine_tolerance"}


PARSE_PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])  # as Airflow does for its processes
import airflow.sdk  # the framework itself is not the DAG file's cost
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
seconds = time.perf_counter() - start
heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in
               {"pandas", "sklearn", "great_expectations", "duckdb", "psycopg2", "pyarrow", "vigia"}
               and m != "vigia.connections" and m != "vigia.paths" and m != "vigia")
print(json.dumps({"seconds": seconds, "errors": list(bag.import_errors), "heavy": heavy}))
"""


def test_sus_dag_shape(dagbag):
    dag = dagbag.dags.get("sus_anomaly_scoring")
    assert dag.timetable.expression == "0 4 10 * *"
    order = ["list_ufs", "ingest_uf", "dq_ingest", "build_cube", "dq_cube", "publish_cube",
             "find_missing_history", "build_history_cube", "score", "dq_scores", "fact_sheet_parts", "fact_sheets",
             "publish_scores"]
    for up, down in zip(order, order[1:]):
        assert down in dag.get_task(up).downstream_task_ids, f"{up} -> {down}"
    assert dag.get_task("ingest_uf").map_index_template == "{{ uf }}"
    assert dag.get_task("build_history_cube").map_index_template == "{{ competencia }}"
    sheets = dag.get_task("fact_sheets")                     # mapped over fact_sheet_parts' bounded list
    assert sheets.is_mapped and sheets.map_index_template == "{{ fact_sheet_label }}"
    assert sheets.max_active_tis_per_dag == 2
    assert dag.get_task("publish_scores").upstream_task_ids == {"fact_sheets"}
    for empty_map_ok in ("score", "publish_scores"):        # an empty map (no history / no sheets) is skipped
        assert dag.get_task(empty_map_ok).trigger_rule == "none_failed"
    assert {o.name for o in dag.get_task("publish_scores").outlets} == {
        "sus_anomaly_scores", "sus_municipal_excess", "sus_provider_ranking", "sus_provider_excess",
        "sus_benign_flags", "sus_excess_concentration"}
    cubes = ["sus_production_monthly", "sus_production_by_establishment", "sus_production_by_municipality"]
    assert [o.name for o in dag.get_task("publish_cube").outlets] == [*cubes, "sus_cube_files", "sus_cube_uf_coverage", "dq_quarantine"]
    assert [o.name for o in dag.get_task("build_history_cube").outlets] == [
        *cubes, "sus_cube_files", "sus_cube_uf_coverage", "dq_quarantine", "dq_results"]
    assert [o.name for o in dag.get_task("score").outlets] == ["sus_population", *cubes[1:]]
    assert set(dag.params) == {"competencia", "landing", "max_bad_share", "build_missing_history",
                               "refresh_late_records", "k_limiar", "top_fact_sheets"}


@pytest.mark.parametrize("dag_file", sorted(f"{d}.py" for d in EXPECTED_DAGS))
def test_dag_file_parses_in_under_a_second_without_heavy_imports(dag_file):
    out = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(ROOT / "dags" / dag_file),
                          str(ROOT / "dags")],
                         capture_output=True, text=True, check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["errors"] == []
    assert probe["heavy"] == [], "DAG files must import pandas/sklearn/GX/DB drivers inside tasks"
    assert probe["seconds"] < 1.0, probe
