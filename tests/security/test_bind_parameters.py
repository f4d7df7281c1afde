"""Values taken from data reach SQL only as bind parameters.

A hospital and a convênio named like an injection (``O'Brien'); DROP TABLE x; --``) go
through the real glosa pipeline (source -> extract with the hospital as a filter -> DQ ->
features -> clustering -> publish) on DuckDB and on PostgreSQL (source and warehouse of the
same kind), and through the Vigia page's filters. They must land verbatim, and the canary
table ``x`` must still be there with its row.
"""

from __future__ import annotations

import pytest

from tests.unit.test_ui_page import SEP, OCT, client_for, duckdb_uri, fill_glosa, parse_page
from vigia.connections import ConnectionSpec
from vigia.glosa import pipeline as p
from vigia.sources import read_query
from vigia.warehouse import open_warehouse

HOSTILE_HOSPITAL = "O'Brien'); DROP TABLE x; --"
HOSTILE_CONVENIO = "Convênio\"; DELETE FROM glosa_clusters; -- 100% :hospital %(x)s $1 ::text"
GLOSA_TABLES = ("glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs")


def hostile(rows):
    """The first hospital becomes HOSTILE_HOSPITAL; one of its convênios HOSTILE_CONVENIO."""
    rows = rows.copy()
    first = sorted(rows["HOSPITAL"].unique())[0]
    rows.loc[rows["HOSPITAL"] == first, "HOSPITAL"] = HOSTILE_HOSPITAL
    convenio = sorted(rows.loc[rows["HOSPITAL"] == HOSTILE_HOSPITAL, "CONVENIO"].unique())[0]
    rows.loc[rows["CONVENIO"] == convenio, "CONVENIO"] = HOSTILE_CONVENIO
    return rows


def canary(wh):
    """CREATE TABLE x with one row; returns a check that it is intact."""
    with wh.connect() as con:
        con.execute("CREATE TABLE x (canario VARCHAR)")
        con.execute("INSERT INTO x VALUES ('vivo')")

    def intact():
        return wh.query("SELECT canario FROM x")["canario"].tolist() == ["vivo"]

    return intact


@pytest.fixture(params=["duckdb", "postgres"])
def uris(request, tmp_path):
    if request.param == "duckdb":
        return duckdb_uri(tmp_path / "source.duckdb"), duckdb_uri(tmp_path / "warehouse.duckdb")
    pg = request.getfixturevalue("pg_uri")
    return pg, pg                                   # source table tasy.* and the warehouse in one database


def test_hostile_names_land_verbatim_through_the_glosa_pipeline(uris, tmp_path):
    source_uri, warehouse_uri = uris
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", warehouse_uri))
    intact = canary(wh)
    source_rows = fill_glosa(warehouse_uri, tmp_path, segments=60, rows=2000, seed=5, mutate=hostile,
                             source_uri=source_uri)
    assert intact()
    for table in GLOSA_TABLES:
        hospitals = set(wh.query(f"SELECT DISTINCT hospital FROM {table}")["hospital"])
        assert HOSTILE_HOSPITAL in hospitals, table
        convenios = set(wh.query(f"SELECT DISTINCT convenio FROM {table} WHERE hospital = :h",
                                 {"h": HOSTILE_HOSPITAL})["convenio"])
        assert HOSTILE_CONVENIO in convenios, table
    # every cell of the hostile segment arrived, with its money
    src = source_rows[(source_rows["HOSPITAL"] == HOSTILE_HOSPITAL) & (source_rows["MES_RECEBIMENTO"] == OCT)]
    landed = wh.query("SELECT SUM(glosa_atual) AS s FROM glosa_clusters WHERE hospital = :h AND competencia = :m",
                      {"h": HOSTILE_HOSPITAL, "m": OCT})["s"].iloc[0]
    assert landed == pytest.approx(src["VALOR_GLOSA"].sum(), rel=1e-9)

    # the hostile name as the extraction filter (the `hospital` Param): exactly its rows
    spec = ConnectionSpec.from_uri("glosa_source", source_uri)
    run = p.GlosaRun("filtro", OCT, hospital=HOSTILE_HOSPITAL)
    raw = read_query(spec, p.extract_sql_name(spec.kind), p.extract_params(run))
    assert set(raw["HOSPITAL"]) == {HOSTILE_HOSPITAL} and len(raw) == len(src)
    p.run_in_process(run, raw, wh)
    assert intact()
    assert set(wh.query("SELECT DISTINCT hospital FROM glosa_clusters WHERE competencia = :m",
                        {"m": OCT})["hospital"]) == {HOSTILE_HOSPITAL}
    assert wh.query("SELECT COUNT(*) AS n FROM glosa_clusters WHERE competencia = :m", {"m": SEP})["n"].iloc[0] > 0


def test_hostile_values_in_the_vigia_page_filters(uris, tmp_path):
    _, warehouse_uri = uris
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", warehouse_uri))
    intact = canary(wh)
    fill_glosa(warehouse_uri, tmp_path, segments=60, rows=2000, seed=5, mutate=hostile,
               source_uri=uris[0])
    client = client_for(warehouse_uri)
    page = parse_page(client.get("/", params={"hospital": HOSTILE_HOSPITAL, "top": 100}).text)
    rows = page.rows["glosa-perfis"]
    n = wh.query("SELECT COUNT(*) AS n FROM glosa_cluster_profiles WHERE hospital = :h AND competencia = :m",
                 {"h": HOSTILE_HOSPITAL, "m": OCT})["n"].iloc[0]
    assert len(rows) == n > 0 and {r[1]["text"] for r in rows} == {HOSTILE_HOSPITAL}
    assert HOSTILE_CONVENIO in {r[2]["text"] for r in rows}                  # rendered as text, escaped
    for probe in ("x' OR '1'='1", "' UNION SELECT table_name FROM information_schema.tables --",
                  "'); DROP TABLE glosa_cluster_profiles; --"):
        resp = client.get("/", params={"hospital": probe})
        assert resp.status_code == 200
        assert "Sem perfis para o hospital" in parse_page(resp.text).by_id["glosa"]["text"]
        assert client.get("/api/resumo").status_code == 200
    for bad in ({"uf": "'"}, {"sus_competencia": "2026-10' --"}, {"competencia": "1; DROP TABLE x"}):
        assert client.get("/", params=bad).status_code == 422, bad
    assert intact()
    assert wh.query("SELECT COUNT(*) AS n FROM glosa_cluster_profiles")["n"].iloc[0] > 0
