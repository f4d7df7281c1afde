"""The Vigia page (vigia.ui) through FastAPI's TestClient: the numbers it shows are the warehouse's.

The warehouse is filled by the real glosa pipeline (two months of sample data) and, for the
SUS, regulation and rules sections, by rows written directly into the warehouse tables.
"""

from __future__ import annotations

import os
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from vigia.connections import ConnectionSpec
from vigia.glosa import pipeline as p
from vigia.sample_data import glosa as sample
from vigia.sample_data.__main__ import write_glosa
from vigia.sources import read_query
from vigia.ui.app import create_app
from vigia.ui.reader import Reader
from vigia.warehouse import open_warehouse

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


# --- helpers (also used by tests/security) -----------------------------------------------
class _Page(HTMLParser):
    """Collects elements by id (text and data-value) and table rows with a data-rank."""

    def __init__(self):
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.rows: dict[str, list[list[dict]]] = {}
        self._stack: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._row: list[dict] | None = None
        self._cell: dict | None = None
        self._capture: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "table":
            self._table = a.get("id")
            self.rows.setdefault(self._table, [])
        elif tag == "tr" and self._table and ("data-rank" in a or "data-posicao" in a):
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = {"text": "", "value": a.get("data-value")}
        if a.get("id"):
            self._stack.append((tag, a["id"]))
            self.by_id[a["id"]] = {"text": "", "value": a.get("data-value")}

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        if self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        for _, ident in self._stack:
            self.by_id[ident]["text"] += data


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def brl_value(text: str) -> float:
    """'R$ 1.234,56' -> 1234.56 (written here, not with vigia.ui.fmt, so the test checks it)."""
    m = re.fullmatch(r"R\$ (-?[\d.]+,\d{2})", text.strip())
    assert m, f"not a BRL amount: {text!r}"
    return float(m.group(1).replace(".", "").replace(",", "."))


def int_value(text: str) -> int:
    return int(text.strip().replace(".", ""))


def duckdb_uri(path: Path) -> str:
    return f"duckdb:///{path.as_posix().lstrip('/')}"


def fill_glosa(warehouse_uri: str, tmp: Path, segments: int = 20, rows: int = 3000, seed: int = 5,
               mutate=None, source_uri: str | None = None) -> pd.DataFrame:
    """Run the real glosa pipeline for Sept and Oct 2026 into a warehouse; return the source rows.

    The source is a DuckDB file in ``tmp`` unless ``source_uri`` names another (e.g. PostgreSQL).
    """
    src_uri = source_uri or duckdb_uri(tmp / "glosa_source.duckdb")
    data = sample.generate([SEP, OCT], n_segments=segments, n_rows=rows, seed=seed)
    source_rows = mutate(data.rows.copy()) if mutate else data.rows
    write_glosa(sample.GlosaSample(source_rows, data.truth), src_uri)
    src = ConnectionSpec.from_uri("glosa_source", src_uri)
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", warehouse_uri))
    for month in (SEP, OCT):
        run = p.GlosaRun(f"teste_{month:%Y%m}", month, max_batches=4)
        p.run_in_process(run, read_query(src, p.extract_sql_name(src.kind), p.extract_params(run)), wh)
    return source_rows


def client_for(warehouse_uri: str, **kwargs) -> TestClient:
    spec = ConnectionSpec.from_uri("warehouse", warehouse_uri)
    return TestClient(create_app(lambda: Reader(spec), **kwargs))


# --- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def glosa_wh(tmp_path_factory):
    """A DuckDB warehouse filled once by the glosa pipeline (its own data folder)."""
    tmp = tmp_path_factory.mktemp("ui_glosa")
    old = os.environ.get("VIGIA_DATA_DIR")
    os.environ["VIGIA_DATA_DIR"] = str(tmp / "data")
    try:
        uri = duckdb_uri(tmp / "warehouse.duckdb")
        source = fill_glosa(uri, tmp)
    finally:
        if old is None:
            os.environ.pop("VIGIA_DATA_DIR", None)
        else:
            os.environ["VIGIA_DATA_DIR"] = old
    return uri, tmp / "warehouse.duckdb", source


def q(path: Path, sql: str, *params):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


# --- glosa -------------------------------------------------------------------------------
def test_glosa_top_profiles_and_total_equal_the_warehouse(glosa_wh):
    uri, path, _ = glosa_wh
    page = parse_page(client_for(uri).get("/", params={"top": 5}).text)
    assert page.by_id["glosa-competencia"]["text"] == "2026-10"          # the latest month by default
    expected = q(path, "SELECT rank_overall, hospital, convenio, tipo_glosa, cluster, size, ROUND(total_glosa, 2) "
                       "FROM glosa_cluster_profiles WHERE competencia = DATE '2026-10-01' "
                       "ORDER BY total_glosa DESC LIMIT 5")
    shown = [(int_value(r[0]["text"]), r[1]["text"], r[2]["text"], r[3]["text"], int_value(r[4]["text"]),
              int_value(r[5]["text"]), brl_value(r[6]["text"])) for r in page.rows["glosa-perfis"]]
    assert shown == [tuple(e) for e in expected]
    assert [s[0] for s in shown] == [1, 2, 3, 4, 5]
    (total, n, cells), = q(path, "SELECT ROUND(SUM(total_glosa), 2), COUNT(*), SUM(size) FROM glosa_cluster_profiles "
                                 "WHERE competencia = DATE '2026-10-01'")
    assert brl_value(page.by_id["glosa-total"]["text"]) == total
    assert float(page.by_id["glosa-total"]["value"]) == pytest.approx(total, abs=0.005)
    assert int_value(page.by_id["glosa-n-perfis"]["text"]) == n
    assert int_value(page.by_id["glosa-celulas"]["text"]) == cells
    assert "glosa?competencia=2026-10" in page.links


def test_glosa_other_month_hospital_filter_and_full_report(glosa_wh):
    uri, path, source = glosa_wh
    client = client_for(uri)
    sept = parse_page(client.get("/", params={"competencia": "2026-09"}).text)
    (total_sep,), = q(path, "SELECT ROUND(SUM(total_glosa), 2) FROM glosa_cluster_profiles "
                            "WHERE competencia = DATE '2026-09-01'")
    assert sept.by_id["glosa-competencia"]["text"] == "2026-09"
    assert brl_value(sept.by_id["glosa-total"]["text"]) == total_sep

    hospital = sorted(source["HOSPITAL"].unique())[-1]
    one = parse_page(client.get("/", params={"hospital": hospital, "top": 100}).text)
    (total_h, n_h), = q(path, "SELECT ROUND(SUM(total_glosa), 2), COUNT(*) FROM glosa_cluster_profiles "
                              "WHERE competencia = DATE '2026-10-01' AND hospital = ?", hospital)
    assert {r[1]["text"] for r in one.rows["glosa-perfis"]} == {hospital}
    assert len(one.rows["glosa-perfis"]) == n_h
    assert brl_value(one.by_id["glosa-total"]["text"]) == total_h

    full = parse_page(client.get("/glosa", params={"competencia": "2026-10"}).text)
    (n_all,), = q(path, "SELECT COUNT(*) FROM glosa_cluster_profiles WHERE competencia = DATE '2026-10-01'")
    assert len(full.rows["glosa-perfis"]) == n_all > 10


def test_summary_json_matches_the_page(glosa_wh):
    uri, path, _ = glosa_wh
    data = client_for(uri).get("/api/resumo", params={"top": 3}).json()
    (total, n), = q(path, "SELECT SUM(total_glosa), COUNT(*) FROM glosa_cluster_profiles "
                          "WHERE competencia = DATE '2026-10-01'")
    assert data["glosa"]["competencia"] == "2026-10"
    assert data["glosa"]["totals"]["perfis"] == n
    assert data["glosa"]["totals"]["total_glosa"] == pytest.approx(total)
    assert [r["rank_overall"] for r in data["glosa"]["top"]] == [1, 2, 3]
    assert data["sus"]["status"] == data["regras"]["status"] == data["regulacao"]["status"] == "missing"


def test_bad_filters_are_refused(glosa_wh):
    uri, _, _ = glosa_wh
    client = client_for(uri)
    assert client.get("/", params={"competencia": "2026-13"}).status_code == 422
    assert client.get("/", params={"top": 0}).status_code == 422
    assert client.get("/", params={"uf": "S'"}).status_code == 422           # not two capital letters
    empty = parse_page(client.get("/", params={"competencia": "2020-01"}).text)
    assert "Sem perfis para a competência 2020-01" in empty.by_id["glosa"]["text"]


# --- empty and missing warehouse ---------------------------------------------------------
def test_missing_tables_and_missing_warehouse(tmp_path):
    path = tmp_path / "empty.duckdb"
    uri = duckdb_uri(path)
    gone = client_for(uri).get("/")
    assert gone.status_code == 503 and "ainda não existe" in gone.text
    assert not path.exists()                                                  # the page never creates it
    duckdb.connect(str(path)).close()
    page = parse_page(client_for(uri).get("/").text)
    assert "o DAG glosa_clustering não publicou" in page.by_id["glosa"]["text"]
    assert "o DAG sus_anomaly_scoring não publicou" in page.by_id["sus"]["text"]
    assert "Nenhum modelo ainda" in page.by_id["regulacao"]["text"]
    assert "Nenhuma decisão ainda" in page.by_id["regras"]["text"]


def test_a_locked_warehouse_gives_a_busy_page_not_a_hang(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "wh.duckdb"
    duckdb.connect(str(path)).close()
    # another process holds the write lock, as a DAG task publishing does
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(60)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        spec = ConnectionSpec.from_uri("warehouse", duckdb_uri(path))
        busy = TestClient(create_app(lambda: Reader(spec, lock_timeout=0.3))).get("/")
        assert busy.status_code == 503
        assert "is being written by a DAG run; try again in a moment" in busy.text
    finally:
        writer.kill()
        writer.wait()
