"""`airflow dags test regulation_model_retraining` end to end, and the DAG's policy checks."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import sample
from vigia.connections import ConnectionSpec, default_uri
from vigia.warehouse import open_warehouse

DAG_ID = "regulation_model_retraining"
LOGICAL_DATE = "2026-11-02T09:00:00+00:00"        # cutoff 2026-11-01: train 2025-11..2026-09, holdout 2026-10
SAMPLE = ["--beneficiaries", "800", "--requests", "5000", "--end", "2026-11-15", "--seed", "5"]
KEY = {"VIGIA_PSEUDONYM_KEY": "chave-de-teste-da-regulacao"}


def assert_success(run):
    assert run.returncode == 0, run.output[-5000:]


def test_end_to_end_promotes_registers_publishes_and_keeps_the_champion(run_dag, data_dir):
    sample(data_dir, *SAMPLE, source="regulation")
    models_dir = data_dir / "models"
    conf = {"models": ["decision_tree", "naive_bayes"], "cv_folds": 3, "models_dir": str(models_dir)}
    first = run_dag(DAG_ID, LOGICAL_DATE, conf=conf, env=KEY)
    assert_success(first)
    states = first.task_states(DAG_ID)
    assert {s[2] for s in states} == {"success"}, states
    assert [m[1] for m in states if m[0] == "train_candidate"] == [0, 1]

    champion = (models_dir / "champion").read_text().strip()
    assert champion.startswith("20261101_") and champion.split("_")[1] in ("decision", "naive")
    version = models_dir / "versions" / champion
    for name in ("model.skops", "model_card.json", "model_card.md"):
        assert (version / name).exists(), name
    card = json.loads((version / "model_card.json").read_text())
    assert card["data"]["train_start"] == "2025-11-01" and card["data"]["cutoff"] == "2026-11-01"
    assert card["promotion"]["promoted"] is True and card["promotion"]["champion_before"] is None
    assert set(card["cross_validation"]) == {"in_fold", "paper"}
    assert card["data"]["train_rows"] > 3000 and card["data"]["holdout_rows"] > 200
    tree_version = [p for p in (models_dir / "versions").iterdir() if "_decision_tree_" in p.name][0]
    assert "ENTÃO" in (tree_version / "regras.md").read_text()
    assert len(list((models_dir / "reports").glob("20261101_*.md"))) == 1

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    runs = wh.query("SELECT model_name, protocol, promoted, is_champion, folds FROM regulation_model_runs "
                    "WHERE cutoff = :c ORDER BY model_name, protocol", {"c": "2026-11-01"})
    assert len(runs) == 4 and runs["promoted"].sum() == 2 and runs["folds"].tolist() == [3, 3, 3, 3]
    assert set(runs["protocol"]) == {"in_fold", "paper"}
    dq = wh.query("SELECT suite, success FROM dq_results ORDER BY validated_at")
    assert set(dq["suite"]) >= {"regulation_training", "regulation_training_balance", "regulation_source_guias"}
    assert dq["success"].all()

    # a second run in the same month with a margin no challenger can beat: the champion stays
    again = run_dag(DAG_ID, "2026-11-03T09:00:00+00:00", env=KEY,
                    conf={**conf, "models": ["naive_bayes"], "promotion_margin": 0.5})
    assert_success(again)
    assert (models_dir / "champion").read_text().strip() == champion
    runs = wh.query("SELECT model_name, promoted, reason FROM regulation_model_runs WHERE cutoff = :c",
                    {"c": "2026-11-01"})
    assert runs["model_name"].tolist() == ["naive_bayes", "naive_bayes"]      # the partition was replaced
    assert not runs["promoted"].any() and "o campeão continua" in runs["reason"].iloc[0]


def test_missing_labels_fail_the_gate_and_nothing_is_promoted(run_dag, data_dir):
    import duckdb

    sample(data_dir, *SAMPLE, source="regulation")
    with duckdb.connect(str(data_dir / "sources" / "regulation.duckdb")) as con:
        con.execute("UPDATE guias SET decisao = 'talvez' WHERE id_guia % 10 = 0 AND decisao IS NOT NULL")
    models_dir = data_dir / "models"
    failed = run_dag(DAG_ID, LOGICAL_DATE, env=KEY,
                     conf={"models": ["naive_bayes"], "cv_folds": 3, "models_dir": str(models_dir)})
    assert failed.returncode == 1
    assert "column decisao" in failed.output and "DQ gate" in failed.output
    states = {(t, m): s for t, m, s in failed.task_states(DAG_ID)}
    assert states[("dq_gates", -1)] == "failed"
    assert states[("register", -1)] == "upstream_failed"
    assert not (models_dir / "champion").exists()


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "regulation_model_retraining.py"))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def test_dag_policy_params_schedule_and_shape(dag):
    assert "vigia" in dag.tags and "regulation" in dag.tags and dag.max_active_runs == 1
    assert dag.doc_md and "regulation_source.guias" in dag.doc_md
    for task in dag.tasks:
        assert task.retries >= 2 and task.owner == "regulacao-medica" and task.execution_timeout is not None
        assert task.retry_exponential_backoff
    assert set(dag.params) == {"window_months", "promotion_margin", "models", "max_rows", "cv_folds", "cutoff",
                               "models_dir"}
    for name, param in dag.params.items():
        assert param.description, name
    assert dag.params["models"] == ["decision_tree", "naive_bayes", "mlp", "gradient_boosting"]
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert timetable.timetable.expression == "0 5 1 * *"
    assert [a.name for a in timetable.asset_condition.objects] == ["regulation_source.guias"]
    order = ["extract_features", "dq_gates", "train_candidate", "decide_promotion", "register", "publish",
             "export_tree"]
    for up, down in zip(order, order[1:]):
        assert down in dag.get_task(up).downstream_task_ids, f"{up} -> {down}"
    assert dag.get_task("train_candidate").map_index_template == "{{ model_name }}"
    assert {o.name for o in dag.get_task("publish").outlets} == {"regulation_model_runs", "dq_quarantine"}
    assert [o.name for o in dag.get_task("dq_gates").outlets] == ["dq_results"]
