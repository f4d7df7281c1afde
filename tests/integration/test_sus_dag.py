"""`airflow dags test sus_anomaly_scoring` end to end, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from tests.integration.conftest import sample
from vigia.connections import ConnectionSpec, default_uri
from vigia.warehouse import open_warehouse

LOGICAL_DATE = "2026-11-02T09:00:00+00:00"   # scores 2026-10
SAMPLE = ["--municipalities", "100", "--sia-rows", "20000", "--end-month", "2026-10", "--months", "13"]
CONF = {"build_missing_history": True, "top_fact_sheets": 11}   # 11 sheets: 2 mapped fact_sheets parts


def counts(wh) -> dict:
    tables = ["sus_production_monthly", "sus_anomaly_scores", "sus_municipal_excess", "sus_provider_ranking",
              "sus_provider_excess", "sus_benign_flags", "sus_excess_concentration"]
    return {t: int(wh.query(f"SELECT COUNT(*) AS n FROM {t}")["n"].iloc[0]) for t in tables}


def check_run(run, wh, data_dir):
    assert run.returncode == 0, run.output[-4000:]
    months = wh.query("SELECT DISTINCT competencia FROM sus_production_monthly ORDER BY 1")["competencia"]
    assert len(months) == 13                                 # 12 months of history built in the same run
    coarse_cubes = (("sus_production_by_establishment", "cnes"), ("sus_production_by_municipality", "municipio"))
    for coarse, key in coarse_cubes:                         # table and key names are the constants above
        same = wh.query(f"SELECT COUNT(*) AS n FROM (SELECT competencia, {key}, alvo, SUM(quantidade) AS q "
                        f"FROM sus_production_monthly GROUP BY competencia, {key}, alvo) f JOIN {coarse} c "
                        f"ON c.competencia = f.competencia AND c.{key} = f.{key} AND c.alvo = f.alvo "
                        "AND ABS(c.quantidade - f.q) < 1e-6")["n"].item()
        rows = wh.query(f"SELECT COUNT(*) AS n FROM {coarse}")["n"].item()
        assert same == rows > 0, coarse                      # every month's coarse cube: the finest one's sums
    states = run.task_states("sus_anomaly_scoring")
    assert {s for _, _, s in states} == {"success"}, states
    assert len([t for t, _, _ in states if t == "ingest_uf"]) == 5            # one mapped task per UF
    assert len([t for t, _, _ in states if t == "build_history_cube"]) == 12  # one per missing month
    assert sorted(m for t, m, _ in states if t == "fact_sheets") == [0, 1]     # ceil(11 / 10) parts
    with sqlite3.connect(run.home / "airflow.db") as con:                    # the mapped parts' labels
        labels = con.execute(
            "SELECT rendered_map_index FROM task_instance WHERE task_id = 'fact_sheets' AND run_id = "
            "(SELECT run_id FROM dag_run WHERE dag_id = 'sus_anomaly_scoring' ORDER BY id DESC LIMIT 1) "
            "ORDER BY map_index").fetchall()
    assert [label for (label,) in labels] == ["fichas 1 de 2", "fichas 2 de 2"]
    planted = {p["kind"]: p for p in json.loads((data_dir / "sources" / "sus" / "_planted.json").read_text())["planted"]}
    mobile = planted["campanha_unidade_movel"]["cnes"]
    row = wh.query("SELECT rank, flags, folha_de_fatos FROM sus_provider_ranking WHERE cnes = :c "
                   "AND competencia = :m", {"c": mobile, "m": "2026-10-01"})
    assert row["rank"].item() <= 5 and "unidade_movel" in row["flags"].item()
    assert row["folha_de_fatos"].item().endswith(f"2026-10_{mobile}_SIA-020403.html")
    assert (data_dir / "reports" / "sus" / "2026-10").is_dir()


def test_duckdb_end_to_end_builds_history_and_rerun_is_idempotent(run_dag, data_dir):
    sample(data_dir, *SAMPLE, source="sus")
    first = run_dag("sus_anomaly_scoring", LOGICAL_DATE, conf=CONF)
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    check_run(first, wh, data_dir)
    before = counts(wh)
    again = run_dag("sus_anomaly_scoring", "2026-11-03T09:00:00+00:00", conf={"top_fact_sheets": 3})
    assert again.returncode == 0, again.output[-4000:]
    assert counts(wh) == before
    built = [(m, s) for t, m, s in again.task_states("sus_anomaly_scoring") if t == "build_history_cube"]
    assert built == [(-1, "skipped")]  # history already there: an empty map, nothing built

    # any fact sheet on demand, from the warehouse
    top = wh.query("SELECT cnes FROM sus_provider_ranking WHERE rank = 10")["cnes"].item()
    out = data_dir / "on_demand.html"
    subprocess.run([sys.executable, "-m", "vigia.sus", "sheet", "--cnes", top, "--alvo", "SIA-030101",
                    "--competencia", "2026-10", "--out", str(out)], check=True, capture_output=True,
                   env={**os.environ, "VIGIA_DATA_DIR": str(data_dir)})
    text = out.read_text(encoding="utf-8")
    assert top in text and "<svg" in text and "https://" not in text


def test_postgres_warehouse(run_dag, data_dir, pg_uri):
    sample(data_dir, *SAMPLE, source="sus")
    run = run_dag("sus_anomaly_scoring", LOGICAL_DATE, conf=CONF, env={"AIRFLOW_CONN_WAREHOUSE": pg_uri})
    check_run(run, open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri)), data_dir)


def test_no_fact_sheets_skip_the_map_and_the_scores_are_published_without_sheets(run_dag, data_dir):
    """top_fact_sheets = 0: no part, the mapped fact_sheets is skipped, and publish_scores (none_failed) still
    runs on the empty map's XCom (no results) and publishes the month's scores with no fact sheet."""
    sample(data_dir, "--municipalities", "100", "--sia-rows", "20000", "--end-month", "2026-10", "--months", "1",
           source="sus")
    run = run_dag("sus_anomaly_scoring", "2026-11-04T09:00:00+00:00", conf={"top_fact_sheets": 0})
    assert run.returncode == 0, run.output[-4000:]
    states = {(t, m): s for t, m, s in run.task_states("sus_anomaly_scoring")}
    assert states[("fact_sheet_parts", -1)] == "success" and states[("fact_sheets", -1)] == "skipped"
    assert states[("publish_scores", -1)] == "success", states
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    got = wh.query("SELECT COUNT(*) AS n, COUNT(folha_de_fatos) AS sheets FROM sus_provider_ranking")
    assert got["n"].item() > 0 and got["sheets"].item() == 0
    assert not (data_dir / "reports" / "sus" / "2026-10").exists()
