"""Shared fixtures: an isolated data folder per test session, a real PostgreSQL database, warehouses."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration from the environment: point it at this project before any import.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# Airflow puts the DAGs folder on sys.path for its own processes (DAG files import dags/common)
sys.path.insert(0, str(ROOT / "dags"))
PG_ADMIN_URI = os.environ.get("VIGIA_TEST_PG_ADMIN_URI", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Every test writes its raw files, staging and exports under its own tmp folder."""
    path = tmp_path / "data"
    monkeypatch.setenv("VIGIA_DATA_DIR", str(path))
    monkeypatch.delenv("VIGIA_STAGING_DIR", raising=False)
    return path


def _pg_admin():
    import psycopg2

    from vigia.connections import ConnectionSpec

    s = ConnectionSpec.from_uri("admin", PG_ADMIN_URI)
    con = psycopg2.connect(host=s.host, port=s.port, user=s.login, password=s.password, dbname=s.database)
    con.autocommit = True
    return con, s


@pytest.fixture
def pg_uri():
    """A fresh PostgreSQL database on this machine's server, dropped afterwards."""
    try:
        admin, spec = _pg_admin()
    except Exception as exc:  # the suite needs PostgreSQL: say so instead of skipping silently
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URI} is required for this test: {exc}")
    name = f"vigia_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    user = spec.login or "postgres"
    yield f"postgresql://{user}@{spec.host}:{spec.port or 5432}/{name}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_uri(request, tmp_path):
    """A warehouse URI of each kind the project supports."""
    if request.param == "duckdb":
        return f"duckdb:///{(tmp_path / 'warehouse.duckdb').as_posix().lstrip('/')}"
    return request.getfixturevalue("pg_uri")


@pytest.fixture
def warehouse(warehouse_uri):
    from vigia.connections import ConnectionSpec
    from vigia.warehouse import open_warehouse

    return open_warehouse(ConnectionSpec.from_uri("warehouse", warehouse_uri))
