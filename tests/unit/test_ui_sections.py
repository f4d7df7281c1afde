"""The Vigia page's SUS, regulation and rules sections, PostgreSQL, read-only access, the plugin."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import date, datetime

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from tests.unit.test_ui_page import (
    brl_value, client_for, duckdb_uri, fill_glosa, int_value, parse_page,
)
from vigia.connections import ConnectionSpec
from vigia.ui import fmt
from vigia.ui.reader import Reader
from vigia.warehouse import PartitionWrite, open_warehouse

OCT = date(2026, 10, 1)


def ranking_rows(reports) -> pd.DataFrame:
    sheet = reports / "sus" / "2026-10" / "2026-10_1234567_SIA-020403.html"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_text("<html><body><h1>Folha de fatos 1234567</h1></body></html>", encoding="utf-8")
    return pd.DataFrame({
        "cnes": ["1234567", "7654321", "1111111"], "uf": ["AC", "SP", "SP"],
        "municipio": ["120040", "355030", "355030"], "rank": [1, 2, 3], "rank_escore": [2, 1, 3],
        "excesso_valor": [150000.25, 98000.5, 1000.0], "escore_combinado": [0.9, 0.95, 0.5],
        "escore_maximo": [0.99, 0.999, 0.7], "n_escores": [4, 5, 2], "flags": [None, "unidade_movel", ""],
        "folha_de_fatos": [str(sheet), str(reports / "sus" / "2026-10" / "2026-10_7654321_SIA-1.html"), None],
        "run_id": "r1",
    })


def test_sus_ranking_totals_and_fact_sheets(tmp_path, warehouse_uri):
    uri = warehouse_uri                                                 # DuckDB and PostgreSQL
    reports = tmp_path / "reports"
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", uri))
    wh.replace_partitions([PartitionWrite("sus_provider_ranking", {"competencia": OCT}, ranking_rows(reports))])
    client = client_for(uri, reports_dir=reports)
    page = parse_page(client.get("/").text)
    rows = page.rows["sus-ranking"]
    assert [(int_value(r[0]["text"]), r[1]["text"], brl_value(r[4]["text"])) for r in rows] == [
        (1, "1234567", 150000.25), (2, "7654321", 98000.5), (3, "1111111", 1000.0)]
    assert brl_value(page.by_id["sus-total"]["text"]) == 249000.75                  # 150000.25 + 98000.5 + 1000
    assert int_value(page.by_id["sus-estabelecimentos"]["text"]) == 3
    assert int_value(page.by_id["sus-benignos"]["text"]) == 1                        # '' is no flag
    assert rows[0][7]["text"] == "abrir" and rows[1][7]["text"] == "—"               # sheet 2's file is missing
    assert "sus/folhas/2026-10/2026-10_1234567_SIA-020403.html" in page.links
    sheet = client.get("/sus/folhas/2026-10/2026-10_1234567_SIA-020403.html")
    assert sheet.status_code == 200 and "Folha de fatos 1234567" in sheet.text
    (tmp_path / "secret.html").write_text("no")
    for bad in ("/sus/folhas/2026-10/..%2F..%2Fsecret.html", "/sus/folhas/..%2F..%2F/secret.html",
                "/sus/folhas/2026-10/nao_existe.html", "/sus/folhas/2026-10/x.txt"):
        assert client.get(bad).status_code == 404, bad
    sp = parse_page(client.get("/", params={"uf": "SP"}).text)
    assert [r[1]["text"] for r in sp.rows["sus-ranking"]] == ["7654321", "1111111"]
    assert brl_value(sp.by_id["sus-total"]["text"]) == 99000.5
    full = parse_page(client.get("/sus", params={"competencia": "2026-10"}).text)
    assert len(full.rows["sus-ranking"]) == 3


def excess_rows() -> pd.DataFrame:
    """sus_provider_excess of ranking_rows: per establishment x target, parts summing to the ranking's value."""
    rows = [("1234567", "AC", "120040", "SIA-020403", 150000.25, 0.0, 0.0),
            ("7654321", "SP", "355030", "SIA-020403", 8000.5, 0.0, 0.0),
            ("7654321", "SP", "355030", "SIH-030310", 0.0, 60000.0, 30000.0),
            ("1111111", "SP", "355030", "SIH-030310", 0.0, 0.0, 1000.0)]
    df = pd.DataFrame(rows, columns=["cnes", "uf", "municipio", "alvo", "excesso_per_capita", "excesso_preco",
                                     "excesso_salto"])
    return df.assign(excesso_valor=df[["excesso_per_capita", "excesso_preco", "excesso_salto"]].sum(axis=1),
                     alvo_versao=1, run_id="r1")


def test_sus_ranking_filtered_by_target(tmp_path, warehouse_uri):
    uri = warehouse_uri                                                 # DuckDB and PostgreSQL
    reports = tmp_path / "reports"
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", uri))
    wh.replace_partitions([PartitionWrite("sus_provider_ranking", {"competencia": OCT}, ranking_rows(reports))])
    client = client_for(uri, reports_dir=reports)
    html = client.get("/").text                                         # no sus_provider_excess yet: no target list
    assert 'id="sus-alvos"' not in html and len(parse_page(html).rows["sus-ranking"]) == 3
    older = parse_page(client.get("/", params={"alvo": "SIH-030310"}).text)
    assert "ainda não publicou sus_provider_excess" in older.by_id["sus"]["text"]

    wh.replace_partitions([PartitionWrite("sus_provider_excess", {"competencia": OCT}, excess_rows())])
    html = client.get("/").text
    # the month's targets, costliest first (SIH-030310: 91,000; SIA-020403: 158,000.75), named from alvos.csv
    assert re.findall(r'<option value="([^"]*)"', html.split('id="sus-alvos"')[1].split("</select>")[0]) == [
        "", "SIA-020403", "SIH-030310"]
    assert "SIH-030310 Tratamento durante a gestação, parto e puerpério" in html

    page = parse_page(client.get("/", params={"alvo": "SIH-030310"}).text)
    rows = page.rows["sus-alvo-ranking"]
    # by the excess on the target: 7654321 (90,000 = 60,000 price + 30,000 jump), then 1111111 (1,000)
    assert [(int_value(r[0]["text"]), r[1]["text"], brl_value(r[4]["text"]), brl_value(r[6]["text"]),
             brl_value(r[7]["text"]), brl_value(r[8]["text"]), int_value(r[9]["text"])) for r in rows] == [
        (1, "7654321", 90000.0, 60000.0, 30000.0, 98000.5, 2), (2, "1111111", 1000.0, 0.0, 1000.0, 1000.0, 3)]
    assert brl_value(page.by_id["sus-total"]["text"]) == 91000.0
    assert int_value(page.by_id["sus-estabelecimentos"]["text"]) == 2
    assert int_value(page.by_id["sus-benignos"]["text"]) == 1            # 7654321: unidade_movel
    assert page.by_id["sus-alvo"]["text"] == "SIH-030310"
    assert "sus?competencia=2026-10&amp;alvo=SIH-030310" in client.get("/", params={"alvo": "SIH-030310"}).text

    ac = parse_page(client.get("/sus", params={"alvo": "SIA-020403", "uf": "AC"}).text)
    assert [r[1]["text"] for r in ac.rows["sus-alvo-ranking"]] == ["1234567"]
    assert ac.rows["sus-alvo-ranking"][0][11]["text"] == "abrir"       # its fact sheet exists
    none = parse_page(client.get("/sus", params={"alvo": "SIA-020201"}).text)
    assert "Sem estabelecimentos com o alvo SIA-020201 em 2026-10" in none.by_id["sus"]["text"]
    for bad in ("SIA 020201", "x" * 41, "<b>"):
        assert client.get("/sus", params={"alvo": bad}).status_code == 422, bad


def write(wh, table: str, partition: dict, rows: list[dict]) -> None:
    """Rows into a warehouse table created from its real DDL; columns not given are NULL."""
    with wh.connect() as con:
        columns = wh.ensure_table(con, table)
    df = pd.DataFrame(rows)
    for c in columns:
        if c not in df.columns and c not in partition:
            df[c] = None
    wh.replace_partitions([PartitionWrite(table, partition, df)])


def model_run(cutoff, run_id, model, protocol, promoted, champion, kappa):
    return {"cutoff": cutoff, "run_id": run_id, "model_version": f"{cutoff:%Y%m%d}-{model}", "model_name": model,
            "protocol": protocol, "train_start": date(2025, 1, 1), "holdout_start": date(2026, 1, 1),
            "train_rows": 1000, "holdout_rows": 200, "folds": 5, "significantly_worse_than_best": False,
            "holdout_kappa": kappa, "holdout_f1": kappa + 0.1, "promoted": promoted, "is_champion": champion,
            "reason": "teste"}


def test_regulation_and_rules_sections(tmp_path, warehouse_uri):
    uri = warehouse_uri                                                 # DuckDB and PostgreSQL
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", uri))
    models = tmp_path / "models"
    client = client_for(uri, models_dir=models)
    with wh.connect() as con:                                            # a warehouse with none of their tables
        wh.ensure_table(con, "dq_results")
    page = parse_page(client.get("/").text)
    assert "Nenhum modelo ainda" in page.by_id["sem-modelo"]["text"]
    assert "regulation_model_retraining não publicou" in page.by_id["regulacao"]["text"]
    assert "Nenhuma decisão ainda" in page.by_id["regras"]["text"]

    oct_, nov = date(2026, 10, 1), date(2026, 11, 1)
    write(wh, "regulation_model_runs", {"cutoff": oct_}, [
        model_run(oct_, "r_out", m, p, m == "decision_tree", m == "decision_tree", k)
        for m, k in (("decision_tree", 0.61), ("naive_bayes", 0.40)) for p in ("in_fold", "paper")])
    write(wh, "regulation_model_runs", {"cutoff": nov}, [               # November keeps October's champion
        model_run(nov, "r_nov", m, p, False, False, k)
        for m, k in (("decision_tree", 0.58), ("mlp", 0.55)) for p in ("in_fold", "paper")])
    version = "20261001-decision_tree"
    (models / "versions" / version).mkdir(parents=True)
    (models / "champion").write_text(version + "\n")
    (models / "versions" / version / "model_card.json").write_text(
        json.dumps({"version": version, "model": "decision_tree", "holdout": {"kappa": 0.61}}))
    (models / "versions" / version / "model_card.md").write_text("# Árvore\n\n<script>alert(1)</script>\n")
    t0, t1 = datetime(2026, 11, 20), datetime(2026, 11, 21)
    write(wh, "rule_activations", {"intervalo_inicio": datetime(2026, 11, 19), "intervalo_fim": t0}, [
        {"dia": date(2026, 11, 19), "id_regra": "R9", "resultado": "negar", "disparos": 50, "decisoes": 50,
         "versao_regras": "v0", "run_id": "old"}])
    write(wh, "rule_activations", {"intervalo_inicio": t0, "intervalo_fim": t1}, [
        {"dia": date(2026, 11, 20), "id_regra": r, "resultado": res, "disparos": d, "decisoes": n,
         "versao_regras": "v1", "run_id": "new"}
        for r, res, d, n in (("R1", "negar", 7, 5), ("R2", "autorizar", 12, 10), ("(nenhuma regra)", "analise_tecnica", 4, 4))])

    page = parse_page(client.get("/").text)
    assert page.by_id["model-card"]["text"] == version and "campeão" in page.by_id["regulacao"]["text"]
    assert "holdout.kappa" in page.by_id["model-card-campos"]["text"]
    assert int_value(page.by_id["modelo-execucoes"]["text"]) == 2
    assert int_value(page.by_id["modelo-promocoes"]["text"]) == 1
    history = page.by_id["modelo-historico"]["text"]
    assert history.index("r_nov") < history.index("r_out")                       # newest first
    assert "(de execução anterior)" in history and version in history
    # the latest interval only: 5 + 10 + 4 requests, 15 settled by a rule, 19 firings of 2 rules
    assert int_value(page.by_id["regras-solicitacoes"]["text"]) == 19
    assert int_value(page.by_id["regras-automatizadas"]["text"]) == 15
    assert int_value(page.by_id["regras-disparos"]["text"]) == 19
    assert int_value(page.by_id["regras-distintas"]["text"]) == 2
    table = page.by_id["regras-tabela"]["text"]
    assert table.index("R2") < table.index("R1") < table.index("(nenhuma regra)") and "R9" not in table
    card = client.get("/regulacao/modelo").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card and "<script>" not in card


def test_postgres_warehouse_gives_the_same_numbers(tmp_path, pg_uri):
    fill_glosa(pg_uri, tmp_path, segments=12, rows=1500, seed=11)
    page = parse_page(client_for(pg_uri).get("/", params={"top": 3}).text)
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri))
    expected = wh.query("SELECT ROUND(CAST(SUM(total_glosa) AS NUMERIC), 2) AS t, COUNT(*) AS n "
                        "FROM glosa_cluster_profiles WHERE competencia = :m", {"m": OCT})
    assert brl_value(page.by_id["glosa-total"]["text"]) == float(expected["t"].iloc[0])
    assert int_value(page.by_id["glosa-n-perfis"]["text"]) == int(expected["n"].iloc[0])
    top = wh.query("SELECT hospital, ROUND(CAST(total_glosa AS NUMERIC), 2) AS t FROM glosa_cluster_profiles "
                   "WHERE competencia = :m ORDER BY rank_overall LIMIT 3", {"m": OCT})
    assert [(r[1]["text"], brl_value(r[6]["text"])) for r in page.rows["glosa-perfis"]] == [
        (h, float(t)) for h, t in top.itertuples(index=False)]


def test_reader_sessions_are_read_only(tmp_path, pg_uri):
    import psycopg2

    with Reader(ConnectionSpec.from_uri("warehouse", pg_uri)).session() as s:
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            s.query("CREATE TABLE x (a INTEGER)")
    path = tmp_path / "wh.duckdb"
    duckdb.connect(str(path)).close()
    with Reader(ConnectionSpec.from_uri("warehouse", duckdb_uri(path))).session() as s:
        with pytest.raises(duckdb.Error, match="read-only"):
            s.query("CREATE TABLE x (a INTEGER)")


def test_brazilian_formats():
    assert fmt.brl(1234567.891) == "R$ 1.234.567,89"
    assert fmt.brl(-0.001) == "R$ 0,00"
    assert fmt.num(2894) == "2.894"
    assert fmt.pct(0.4567) == "45,7%"
    assert fmt.brl(None) == fmt.brl(float("nan")) == "—"


def _load_plugin():
    spec = importlib.util.spec_from_file_location("vigia_ui_plugin", ROOT / "plugins" / "vigia_ui.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_mounts_the_app_behind_airflow_login_and_adds_the_nav_entry():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse

    plugin = _load_plugin().VigiaPlugin
    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/vigia"
    FastAPIAppResponse(app=str(app["app"]), url_prefix=app["url_prefix"], name=app["name"])
    (view,) = plugin.external_views
    assert ExternalViewResponse(**view).destination == "nav" and view["url_route"] == "vigia"
    anonymous = TestClient(app["app"]).get("/")
    assert anonymous.status_code == 401                                              # Airflow's login, not open
    assert "Not authenticated" in anonymous.text       # a logged-in user's cookie: tests/browser
