"""Every DAG, triggered through the REST API with Params on the Celery topology, lands in PostgreSQL.

As a user pressing Trigger in the UI: POST /api/v2/dags/{dag_id}/dagRuns with conf = Params,
then the run's state, its task instances (mapped ones included, with their labels) and
the warehouse rows, read straight from PostgreSQL.
"""

from __future__ import annotations

import warnings

import pytest

from tests.conftest import ROOT
from tests.topology.conftest import DAG_FILES, GLOSA_TABLES, REGULATION_LOGICAL_DATE, SUS_CONF, TOPOLOGY_DAGS

UFS = ["AC", "BA", "MG", "PR", "SP"]  # the sample's five UFs


def ran_on_celery(topology, run_id: str, tis: list[dict]) -> None:
    """Every task went through the Celery queue, and the workers' logs show they ran this run."""
    assert {t["queue"] for t in tis} == {"default"}
    worker_logs = "".join((topology.dir / "logs" / f"worker-{n}.log").read_text(errors="replace") for n in (1, 2))
    assert run_id in worker_logs, "no Celery worker logged this run's tasks"


def check_glosa(topology, glosa_clean_run):
    run_id, tis = glosa_clean_run.run_id, glosa_clean_run.task_instances
    assert {t["state"] for t in tis} == {"success"}
    mapped = sorted((t["map_index"], t["rendered_map_index"]) for t in tis if t["task_id"] == "cluster_batch")
    assert [m for m, _ in mapped] == [0, 1, 2, 3, 4]                     # max_batches=5, from the Params
    assert [label.split(":")[0] for _, label in mapped] == [f"lote {i}/5" for i in range(1, 6)]
    assert {t["task_id"] for t in tis} == {"extract", "dq_extract", "build_features", "dq_features",
                                           "plan_batches", "cluster_batch", "dq_clusters", "publish", "export_csv"}
    ran_on_celery(topology, run_id, tis)

    counts = glosa_clean_run.counts
    assert counts["glosa_segment_runs"] == 30                             # the sample's 30 segments
    assert counts["glosa_clusters"] > 1000 and counts["glosa_cluster_profiles"] > 30
    assert counts["run_ids"] == [run_id]
    dq = topology.warehouse().query("SELECT suite, success FROM dq_results WHERE run_id = :r ORDER BY suite",
                                    {"r": run_id})
    assert dq.values.tolist() == [["glosa_extract", True], ["glosa_features", True], ["glosa_segment_runs", True]]
    # the month's cells add up to the clusters' money: nothing lost between tables
    wh = topology.warehouse()
    profiles = wh.query("SELECT SUM(total_glosa) AS s FROM glosa_cluster_profiles WHERE competencia = :m",
                        {"m": "2026-10-01"})["s"].iloc[0]
    clustered = wh.query("SELECT SUM(glosa_atual) AS s FROM glosa_clusters WHERE competencia = :m "
                         "AND cluster IS NOT NULL", {"m": "2026-10-01"})["s"].iloc[0]
    assert float(profiles) == pytest.approx(float(clustered), abs=0.05)
    assert set(GLOSA_TABLES) <= set(counts)


def check_sus(topology, _glosa_clean_run):
    api = topology.api
    run_id = api.trigger("sus_anomaly_scoring", SUS_CONF)
    run = api.wait_run("sus_anomaly_scoring", run_id, timeout=900)
    tis = api.task_instances("sus_anomaly_scoring", run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]
    assert {t["state"] for t in tis} == {"success"}
    ingest = sorted(t["rendered_map_index"] for t in tis if t["task_id"] == "ingest_uf")
    assert ingest == UFS                                                  # one mapped task per UF, labelled
    history = sorted(t["rendered_map_index"] for t in tis if t["task_id"] == "build_history_cube")
    assert history == [f"{y}-{m:02d}" for y, m in [(2025, 10), (2025, 11), (2025, 12)] +
                       [(2026, m) for m in range(1, 10)]]                  # the 12 competências before 2026-10
    ran_on_celery(topology, run_id, tis)

    wh = topology.warehouse()
    months = wh.query("SELECT COUNT(DISTINCT competencia) AS n FROM sus_production_monthly")["n"].iloc[0]
    assert months == 13
    ranking = wh.query("SELECT COUNT(*) AS n, MIN(rank) AS top, COUNT(DISTINCT run_id) AS runs "
                       "FROM sus_provider_ranking WHERE competencia = :m", {"m": "2026-10-01"})
    assert ranking["n"].iloc[0] > 0 and ranking["top"].iloc[0] == 1
    assert ranking["runs"].iloc[0] == 1
    suites = wh.query("SELECT DISTINCT suite FROM dq_results WHERE run_id = :r AND success", {"r": run_id})
    assert len(suites) >= 3


def check_regulation(topology, _glosa_clean_run):
    import duckdb

    source = topology.data_dir / "sources" / "regulation.duckdb"
    with duckdb.connect(str(source), read_only=True) as con:
        pending = [int(r[0]) for r in con.execute(
            "SELECT id_guia FROM guias WHERE decisao IS NULL AND CAST(data_solicitacao AS DATE) = DATE '2026-10-30' "
            "ORDER BY id_guia").fetchall()]
    assert len(pending) > 5
    api = topology.api
    run_id = api.trigger("regulation_decisions", {"executar_backtest": False}, logical_date=REGULATION_LOGICAL_DATE)
    run = api.wait_run("regulation_decisions", run_id, timeout=600)
    states = api.states("regulation_decisions", run_id)
    assert run["state"] == "success", states
    assert states == {(t, -1): "success" for t in ("lint_rules", "extract", "dq_requests", "evaluate",
                                                   "model_hint", "publish")} | {("backtest", -1): "skipped"}
    ran_on_celery(topology, run_id, api.task_instances("regulation_decisions", run_id))

    wh = topology.warehouse()
    rows = wh.query("SELECT id_guia, resultado, beneficiario, run_id FROM regulation_decisions "
                    "WHERE run_id = :r ORDER BY CAST(id_guia AS BIGINT)", {"r": run_id})
    assert [int(i) for i in rows["id_guia"]] == pending                    # every pending guia, once
    assert set(rows["resultado"]) <= {"autorizar", "negar", "bloquear", "analise_tecnica"}
    assert rows["beneficiario"].str.len().eq(24).all()                     # pseudonyms, not raw ids
    activations = wh.query("SELECT SUM(decisoes) AS d FROM rule_activations")["d"].iloc[0]
    assert int(activations) == len(pending)


def check_retraining(topology, _glosa_clean_run):
    api = topology.api
    models_dir = topology.data_dir / "models"   # never the checkout's include/models
    conf = {"models": ["decision_tree", "naive_bayes"], "cv_folds": 3, "cutoff": "2026-10-01",
            "models_dir": str(models_dir)}
    run_id = api.trigger("regulation_model_retraining", conf)
    run = api.wait_run("regulation_model_retraining", run_id, timeout=900)
    tis = api.task_instances("regulation_model_retraining", run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]
    assert {t["state"] for t in tis} == {"success"}
    trained = sorted((t["map_index"], t["rendered_map_index"]) for t in tis if t["task_id"] == "train_candidate")
    assert trained == [(0, "decision_tree"), (1, "naive_bayes")]        # one mapped task per model Param
    ran_on_celery(topology, run_id, tis)

    champion = (models_dir / "champion").read_text().strip()
    assert champion.startswith("20261001_")
    runs = topology.warehouse().query(
        "SELECT model_name, protocol, promoted, folds, run_id FROM regulation_model_runs WHERE cutoff = :c "
        "ORDER BY model_name, protocol", {"c": "2026-10-01"})
    assert runs["model_name"].tolist() == ["decision_tree", "decision_tree", "naive_bayes", "naive_bayes"]
    assert runs["protocol"].tolist() == ["in_fold", "paper"] * 2 and runs["folds"].tolist() == [3, 3, 3, 3]
    assert set(runs["run_id"]) == {run_id}
    promoted = set(runs.loc[runs["promoted"].astype(bool), "model_name"])
    assert len(promoted) == 1 and champion.startswith(f"20261001_{promoted.pop()}")


CASES = {"glosa_clustering": check_glosa, "regulation_decisions": check_regulation,
         "regulation_model_retraining": check_retraining, "sus_anomaly_scoring": check_sus}


def integration_tested(dag_id: str) -> bool:
    """Whether an `airflow dags test` integration test of this DAG exists (tests/integration)."""
    return any(f'"{dag_id}"' in p.read_text() for p in (ROOT / "tests" / "integration").glob("test_*.py"))


def test_every_integration_tested_dag_has_a_topology_case():
    assert sorted(CASES) == sorted(TOPOLOGY_DAGS)
    missing = [d for d in DAG_FILES if d not in CASES and integration_tested(d)]
    assert missing == [], f"add a case for {missing} to tests/topology/test_dags.py and conftest.TOPOLOGY_DAGS"
    pending = [d for d in DAG_FILES if d not in CASES]
    if pending:
        warnings.warn(f"DAG(s) {pending} have no integration test yet, so no topology case either")


@pytest.mark.parametrize("dag_id", TOPOLOGY_DAGS)
def test_trigger_with_params_through_rest_runs_on_celery_and_lands_in_postgres(dag_id, dags_ready,
                                                                                 glosa_clean_run):
    if dag_id not in CASES:
        pytest.fail(f"no topology case for DAG {dag_id}")
    CASES[dag_id](dags_ready, glosa_clean_run)
