"""`airflow dags test regulation_decisions` end to end on DuckDB: decisions of the interval's pending
guias land in the warehouse, a rerun replaces them, the DQ gate quarantines bad requests, a
backtest is published on request, and a ruleset with errors stops the run before anything is decided."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from tests.integration.conftest import sample
from tests.unit.rules_fixtures import duckdb_uri, rule_yaml, ruleset_file, write_rules, write_source
from vigia.connections import ConnectionSpec, default_uri
from vigia.rules.pipeline import interval
from vigia.warehouse import open_warehouse

# logical 2026-10-31 12:00 UTC = 09:00 in São Paulo: the daily interval is 2026-10-30 (local)
LOGICAL_DATE = "2026-10-31T12:00:00+00:00"
SAMPLE = ["--beneficiaries", "1500", "--requests", "12000", "--end", "2026-11-01", "--seed", "4"]


def assert_success(run):
    assert run.returncode == 0, run.output[-4000:]


def wh():
    return open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))


def pending_on(data_dir, day: str) -> list[int]:
    with duckdb.connect(str(data_dir / "sources" / "regulation.duckdb"), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT id_guia FROM guias WHERE decisao IS NULL AND CAST(data_solicitacao AS DATE) = CAST(? AS DATE) "
            "ORDER BY id_guia", [day]).fetchall()]


def test_interval_daily_and_hourly():
    import pendulum

    start, end = pendulum.datetime(2026, 10, 30, 3, tz="UTC"), pendulum.datetime(2026, 10, 31, 3, tz="UTC")
    assert interval(start, end, "America/Sao_Paulo") == (datetime(2026, 10, 30), datetime(2026, 10, 31))
    moment = pendulum.datetime(2026, 10, 31, 13, 5, tz="UTC")              # 10:05 in São Paulo
    assert interval(start, end, "America/Sao_Paulo", hours=1, moment=moment) == \
        (datetime(2026, 10, 31, 9), datetime(2026, 10, 31, 10))


def champion_registry(data_dir, root):
    """A registry with a small decision-tree champion trained on the sample's decided guias."""
    from datetime import date

    from vigia.regulation.features import build_features
    from vigia.regulation.models import make_model
    from vigia.regulation.preprocessing import build_pipeline
    from vigia.regulation.registry import save_version, set_champion

    spec = ConnectionSpec.from_uri("regulation_source", duckdb_uri(data_dir / "sources" / "regulation.duckdb"))
    train = build_features(spec, date(2026, 8, 1), date(2026, 10, 29))
    pipe = build_pipeline(make_model("decision_tree")).fit(train, train["autorizado"].astype(int))
    save_version(root, "v-teste", pipe, {"model": "decision_tree"}, "# teste")
    set_champion(root, "v-teste")
    return root


def test_decisions_published_and_rerun_replaces_them(run_dag, data_dir, tmp_path):
    sample(data_dir, *SAMPLE, source="regulation")
    pending = pending_on(data_dir, "2026-10-30")
    assert len(pending) > 10
    no_models = {"VIGIA_MODELS_DIR": str(tmp_path / "no_models")}
    first = run_dag("regulation_decisions", LOGICAL_DATE, conf={"executar_backtest": True, "backtest_dias": 30},
                    env=no_models)
    assert_success(first)
    states = dict((t, s) for t, _, s in first.task_states("regulation_decisions"))
    assert states == {t: "success" for t in ("lint_rules", "extract", "dq_requests", "evaluate", "model_hint",
                                             "publish", "backtest")}
    w = wh()
    rows = w.query("SELECT * FROM regulation_decisions ORDER BY CAST(id_guia AS BIGINT)")
    assert [int(i) for i in rows["id_guia"]] == pending
    assert set(rows["intervalo_inicio"]) == {datetime(2026, 10, 30)} and set(rows["intervalo_fim"]) == {datetime(2026, 10, 31)}
    assert set(rows["resultado"]) <= {"autorizar", "negar", "bloquear", "analise_tecnica"}
    assert rows["versao_regras"].nunique() == 1
    assert not rows["beneficiario"].str.startswith("B").any() and rows["beneficiario"].str.len().eq(24).all()
    decided = rows[rows["regra_decisiva"].notna()].iloc[0]
    fired = json.loads(decided["regras_disparadas"])
    assert fired[0] == decided["regra_decisiva"] and len(json.loads(decided["porques"])) == len(fired)
    assert rows["dica_modelo"].isna().all()                      # no champion model in this data folder
    act = w.query("SELECT SUM(decisoes) AS d, COUNT(DISTINCT dia) AS days FROM rule_activations")
    assert int(act["d"].iloc[0]) == len(pending) and int(act["days"].iloc[0]) == 1
    bt = w.query("SELECT * FROM rule_backtests WHERE id_regra = '(total)'")
    assert len(bt) == 1 and str(bt["periodo_inicio"].iloc[0])[:10] == "2026-09-30" and bt["solicitacoes"].iloc[0] > 100
    assert 0.5 < bt["taxa_automacao"].iloc[0] <= 1
    dq = w.query("SELECT suite, success, rows_validated FROM dq_results")
    assert dq.values.tolist() == [["regulation_requests", True, len(pending)]]

    # the rerun, now with a champion model: same partition replaced, hints on analise_tecnica only
    registry = champion_registry(data_dir, tmp_path / "models")
    again = run_dag("regulation_decisions", LOGICAL_DATE, env={"VIGIA_MODELS_DIR": str(registry)})
    assert_success(again)
    rerun = w.query("SELECT * FROM regulation_decisions ORDER BY CAST(id_guia AS BIGINT)")
    assert [int(i) for i in rerun["id_guia"]] == pending
    assert rerun["resultado"].tolist() == rows["resultado"].tolist()
    review = rerun["resultado"] == "analise_tecnica"
    assert review.sum() >= 1
    assert rerun.loc[review, "dica_modelo"].between(0, 1).all()
    assert set(rerun.loc[review, "versao_modelo"]) == {"v-teste"}
    assert rerun.loc[~review, "dica_modelo"].isna().all() and rerun.loc[~review, "versao_modelo"].isna().all()
    assert rerun["run_id"].nunique() == 1 and rerun["run_id"].iloc[0] != rows["run_id"].iloc[0]
    assert int(w.query("SELECT SUM(decisoes) AS d FROM rule_activations")["d"].iloc[0]) == len(pending)
    states = dict((t, s) for t, _, s in again.task_states("regulation_decisions"))
    assert states["backtest"] == "skipped"


def test_quarantine_of_bad_requests_and_lint_failure(run_dag, data_dir, tmp_path):
    # the hand-made source: on 2026-10-11 guias 7 and 8 are fine, guia 9 asks for an unknown code
    write_source(duckdb_uri(data_dir / "sources" / "regulation.duckdb"))
    run = run_dag("regulation_decisions", "2026-10-12T12:00:00+00:00", conf={"quarantine_tolerance": 0.5})
    assert_success(run)
    w = wh()
    rows = w.query("SELECT id_guia, resultado, regra_decisiva FROM regulation_decisions ORDER BY id_guia")
    # by hand: guia 7 (colesterol, events 10-05 and 10-10 in the last 30 days) -> COL-001 (negar, prio 100)
    # wins over EXA-010/REP-001 (negar, lower prio) and the autorizar rules; guia 8 (glicose, no history,
    # no catalogue limits) -> EXA-900 (autorizar, prio 1) over AUT-900 (prio 0)
    assert rows.values.tolist() == [["7", "negar", "COL-001"], ["8", "autorizar", "EXA-900"]]
    q = w.query("SELECT dq_reason, row_json FROM dq_quarantine")
    assert len(q) == 1 and json.loads(q["row_json"].iloc[0])["id_guia"] == "9"
    assert "procedimento: expect_column_values_to_be_in_set" in q["dq_reason"].iloc[0]

    bad = write_rules(tmp_path / "bad_rules", {"exames.yaml": ruleset_file(
        rule_yaml("COL-001", 'procedimento = "40301630" e idade >= e'))})
    failed = run_dag("regulation_decisions", "2026-10-12T12:00:00+00:00",
                     env={"AIRFLOW_VAR_REGULATION_RULES_PATH": str(bad)})
    assert failed.returncode == 1
    assert ("exames.yaml, regra COL-001, linha 1, coluna 38: esperado um número, um texto entre aspas, "
            "uma data (AAAA-MM-DD), um atributo ou uma função depois de '>=', encontrado 'e'") in failed.output
    states = dict((t, s) for t, _, s in failed.task_states("regulation_decisions"))
    assert states["lint_rules"] == "failed" and states["publish"] == "upstream_failed"
    assert w.query("SELECT id_guia FROM regulation_decisions ORDER BY id_guia")["id_guia"].tolist() == ["7", "8"]
