"""The warehouse's BI role (include/sql/admin/warehouse_bi_role.sql) reads everything and writes nothing."""

from __future__ import annotations

import subprocess

import psycopg2
import pytest
from psycopg2 import errors

from tests.conftest import ROOT
from vigia import sql as sqlfiles

ROLE_SQL = ROOT / "include" / "sql" / "admin" / "warehouse_bi_role.sql"
WRITES = [
    "INSERT INTO glosa_segment_runs (competencia, hospital, convenio, tipo_glosa, n_rows, status, run_id) "
    "VALUES (DATE '2026-10-01', 'H', 'C', 'T', 1, 'clustered', 'bi')",
    "UPDATE glosa_segment_runs SET n_rows = 0",
    "DELETE FROM glosa_segment_runs",
    "TRUNCATE glosa_segment_runs",
    "CREATE TABLE bi_scratch (x int)",
    "CREATE TEMPORARY TABLE bi_scratch (x int)",
    "DROP TABLE glosa_segment_runs",
]


def apply_role_file(uri: str) -> None:
    subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-q", "-v", "bi_password=", "-f", str(ROLE_SQL)],
                   check=True, capture_output=True, text=True)


def connect_as_bi(uri: str):
    host_db = uri.split("@", 1)[1]
    con = psycopg2.connect(f"postgresql://vigia_bi@{host_db}")
    con.autocommit = True
    return con


def assert_cannot_write(con) -> None:
    for read_only in ("on", "off"):   # refused by the grants themselves, not only by read-only sessions
        with con.cursor() as cur:
            cur.execute(f"SET default_transaction_read_only = {read_only}")
        for statement in WRITES:
            with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)), con.cursor() as cur:
                cur.execute(statement)


def test_bi_role_selects_every_table_and_cannot_write(pg_uri):
    owner = psycopg2.connect(pg_uri)
    owner.autocommit = True
    with owner.cursor() as cur:   # one table before the role file, one after (default privileges)
        cur.execute(sqlfiles.load("warehouse/glosa_segment_runs.sql"))
        cur.execute("INSERT INTO glosa_segment_runs (competencia, hospital, convenio, tipo_glosa, n_rows, status, "
                    "run_id) VALUES (DATE '2026-10-01', 'Hospital 01', 'Amil', 'Técnica', 42, 'clustered', 'r1')")
    apply_role_file(pg_uri)
    apply_role_file(pg_uri)       # idempotent: every `topology.sh up` runs it again
    with owner.cursor() as cur:
        cur.execute(sqlfiles.load("warehouse/dq_quarantine.sql"))
    bi = connect_as_bi(pg_uri)
    try:
        with bi.cursor() as cur:
            cur.execute("SELECT hospital, n_rows FROM glosa_segment_runs")
            assert cur.fetchall() == [("Hospital 01", 42)]
            cur.execute("SELECT COUNT(*) FROM dq_quarantine")
            assert cur.fetchone() == (0,)
            cur.execute("SHOW default_transaction_read_only")
            assert cur.fetchone() == ("on",)
        assert_cannot_write(bi)
        with owner.cursor() as cur:
            cur.execute("SELECT n_rows FROM glosa_segment_runs")
            assert cur.fetchall() == [(42,)]
    finally:
        bi.close()
        owner.close()


def test_bi_role_reads_what_the_topology_published_and_cannot_write(glosa_clean_run, dags_ready):
    bi = connect_as_bi(dags_ready.warehouse_uri)
    try:
        with bi.cursor() as cur:
            for table in ("glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs"):
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE competencia = DATE '2026-10-01'")
                assert cur.fetchone()[0] == glosa_clean_run.counts[table]
        assert_cannot_write(bi)
    finally:
        bi.close()
