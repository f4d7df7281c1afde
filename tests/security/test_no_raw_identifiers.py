"""No raw personal identifier from the sample sources reaches any warehouse table.

1. Generate every sample source there is (glosa, SUS, and the regulation source when its
   generator exists) into one data folder.
2. Run the pipelines into one DuckDB warehouse: glosa and SUS in process
   (``run_in_process``), the regulation DAGs (when their DAG files exist) with
   ``airflow dags test``, as a user would.
3. Collect the raw identifiers of the sources: every value of every source column whose name
   says it is a personal identifier (beneficiário, CNS, CPF), found by name in every table
   of the DuckDB sources and every Parquet/CSV file of the landings, plus their digits-only
   forms.
4. Scan every column of every table of the warehouse (``information_schema``: new tables are
   covered without touching this test), as text, for those values: as a whole value or as a
   token inside one (JSON in ``dq_quarantine.row_json``, lists in ``regulation_decisions``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import ROOT
from vigia.connections import ConnectionSpec
from vigia.warehouse import open_warehouse

# identifier columns by name: id_beneficiario, cd_beneficiario, beneficiario, cpf, nr_cpf, cns, cns_paciente,
# n_aih (the number of one hospital admission)...
# (not attributes such as tipo_beneficiario)
PII_COLUMN = re.compile(r"^((id|cd|nr|num|codigo|n)_)?(beneficiari[oa]|cpf|cns|aih)(_[a-z]+)?$", re.IGNORECASE)
NOT_IDS = re.compile(r"^(tipo|categoria|idade|sexo|nome_tipo)_", re.IGNORECASE)
TOKEN = re.compile(r"[A-Za-z0-9]+")
AIRFLOW = str(Path(sys.executable).parent / "airflow")
KEY = "chave-de-teste-dos-pseudonimos-0123456789"
OCT = date(2026, 10, 1)
REG_SAMPLE = ["--beneficiaries", "600", "--requests", "4000", "--end", "2026-11-15", "--seed", "5"]
REG_DAGS = [  # (dag_id, logical date, conf): retraining before decisions, so the model hint runs too
    ("regulation_model_retraining", "2026-11-02T09:00:00+00:00",
     {"models": ["decision_tree"], "cv_folds": 3}),
    ("regulation_decisions", "2026-11-14T12:00:00+00:00", {"executar_backtest": True, "backtest_dias": 30}),
]


def test_identifier_columns_are_found_by_name():
    ids = ["id_beneficiario", "ID_BENEFICIARIO", "beneficiario", "cpf", "NR_CPF", "cns", "cns_paciente", "cd_beneficiario",
           "N_AIH"]
    others = ["tipo_beneficiario", "cnes", "CNES", "id_guia", "PA_CMP", "beneficiarios_ativos", "cpf_autorizador_tipo"]
    assert [c for c in ids if PII_COLUMN.match(c) and not NOT_IDS.match(c)] == ids
    assert [c for c in others if PII_COLUMN.match(c) and not NOT_IDS.match(c)] == []


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def raw_identifiers(data: Path) -> dict[str, set[str]]:
    """{'<source>.<table>.<column>': raw values} for every identifier column of every sample source."""
    found: dict[str, set[str]] = {}
    for db in sorted((data / "sources").glob("*.duckdb")):
        with duckdb.connect(str(db), read_only=True) as con:
            cols = con.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns").fetchall()
            for schema, table, column in cols:
                if PII_COLUMN.match(column) and not NOT_IDS.match(column):
                    values = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}" '
                                         f'WHERE "{column}" IS NOT NULL').fetchall()
                    found[f"{db.stem}.{table}.{column}"] = {v for (v,) in values}
    for path in sorted((data / "sources").rglob("*")):
        if path.suffix.lower() in (".parquet", ".csv"):
            df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype=str)
            for column in df.columns:
                if PII_COLUMN.match(str(column)) and not NOT_IDS.match(str(column)):
                    found[f"{path.name}.{column}"] = set(df[column].dropna().astype(str))
    return found


def leaks(warehouse_path: Path, raw: set[str]) -> list[str]:
    """Every (table.column, value) of the warehouse holding a raw identifier, whole or as a token."""
    digits = {re.sub(r"\D", "", v) for v in raw if len(re.sub(r"\D", "", v)) >= 8}
    needles = {v for v in raw if len(v) >= 4} | digits
    out = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position").fetchall()
        for table, column in columns:
            values = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}" '
                                 f'WHERE "{column}" IS NOT NULL').fetchall()
            for (value,) in values:
                hits = ({value} | set(TOKEN.findall(value)) | {re.sub(r"\D", "", value)}) & needles
                if hits:
                    out.append(f"{table}.{column}: {sorted(hits)[:3]} in {value[:120]!r}")
                    break
    return out


def _run(cmd, env, timeout=900):
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd[:4]))} failed:\n{(proc.stdout + proc.stderr)[-5000:]}"
    return proc


@pytest.fixture
def pipelines_ran(tmp_path, data_dir, monkeypatch):
    """Sources generated and every pipeline run into data_dir/warehouse.duckdb; returns (data_dir, what ran)."""
    monkeypatch.setenv("VIGIA_PSEUDONYM_KEY", KEY)
    env = {**os.environ, "VIGIA_DATA_DIR": str(data_dir), "VIGIA_PSEUDONYM_KEY": KEY}
    wh_uri = f"duckdb:///{(data_dir / 'warehouse.duckdb').as_posix().lstrip('/')}"
    warehouse = open_warehouse(ConnectionSpec.from_uri("warehouse", wh_uri))
    ran = []

    # glosa: sample source, then every step in process
    from vigia.glosa import pipeline as glosa
    from vigia.sources import read_query

    _run([sys.executable, "-m", "vigia.sample_data", "glosa", "--segments", "20", "--rows", "2000",
          "--end-month", "2026-10", "--months", "2", "--seed", "3"], env)
    src = ConnectionSpec.from_uri("glosa_source",
                                  f"duckdb:///{(data_dir / 'sources' / 'glosa.duckdb').as_posix().lstrip('/')}")
    run = glosa.GlosaRun("pii_glosa", OCT)
    glosa.run_in_process(run, read_query(src, glosa.extract_sql_name("duckdb"), glosa.extract_params(run)), warehouse)
    ran.append("glosa_clustering")

    # SUS: a small landing, one month scored in process
    from vigia.sus import pipeline as sus

    landing = data_dir / "sources" / "sus"
    _run([sys.executable, "-m", "vigia.sample_data", "sus", "--landing", str(landing), "--end-month", "2026-10",
          "--months", "2", "--municipalities", "80", "--sia-rows", "4000"], env)
    sus.run_in_process(sus.SusRun("pii_sus", OCT, str(landing), top_fact_sheets=0), warehouse,
                       with_fact_sheets=False)
    ran.append("sus_anomaly_scoring")

    # regulation: its sample source and its DAGs, when they exist
    if _has_module("vigia.sample_data.regulation"):
        _run([sys.executable, "-m", "vigia.sample_data", "regulation", *REG_SAMPLE], env)
        dags = [d for d in REG_DAGS if (ROOT / "dags" / f"{d[0]}.py").exists()]
        if dags:
            home = tmp_path / "airflow_home"
            airflow_env = {**env, "AIRFLOW_HOME": str(home), "VIGIA_MODELS_DIR": str(data_dir / "models")}
            _run([AIRFLOW, "db", "migrate"], airflow_env)
            for dag_id, logical_date, conf in dags:
                _run([AIRFLOW, "dags", "test", dag_id, logical_date, "-c", json.dumps(conf)], airflow_env)
                ran.append(dag_id)
    return data_dir, ran


def test_no_raw_identifier_reaches_the_warehouse(pipelines_ran):
    data, ran = pipelines_ran
    raw = raw_identifiers(data)
    values = set().union(*raw.values()) if raw else set()
    if "regulation_decisions" in ran or "regulation_model_retraining" in ran:
        assert any(k.startswith("regulation.") for k in raw), f"no identifier column found in the sources: {raw.keys()}"
        assert len(values) >= 100
    warehouse = data / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = current_schema()").fetchall()}
        if "regulation_decisions" in ran:
            pseudonyms = con.execute("SELECT COUNT(DISTINCT beneficiario) FROM regulation_decisions").fetchone()[0]
            assert pseudonyms > 0                          # the identifiers did flow, as pseudonyms
    assert {"glosa_clusters", "sus_provider_ranking", "dq_results"} <= tables
    found = leaks(warehouse, values)
    assert not found, f"raw identifiers in the warehouse (ran: {ran}):\n" + "\n".join(found)


def test_the_scan_finds_a_planted_identifier(tmp_path):
    """A table that kept a raw id, whole or inside JSON, is caught; a pseudonym is not."""
    from vigia.pseudonym import pseudonym

    path = tmp_path / "wh.duckdb"
    raw = {"B000000123", "123.456.789-09"}
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE nova_tabela (id VARCHAR, payload VARCHAR, n INTEGER)")
        con.execute("INSERT INTO nova_tabela VALUES (?, ?, 1)", [pseudonym("B000000123", "beneficiario", b"k" * 32),
                                                                  json.dumps({"x": 1})])
    assert leaks(path, raw) == []
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO nova_tabela VALUES ('ok', ?, 2)", [json.dumps({"cpf": "12345678909"})])
        con.execute("CREATE TABLE outra (beneficiario VARCHAR)")
        con.execute("INSERT INTO outra VALUES ('B000000123')")
    found = leaks(path, raw)
    assert len(found) == 2 and found[0].startswith("nova_tabela.payload") and found[1].startswith("outra.beneficiario")
