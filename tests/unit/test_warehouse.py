"""Warehouse writes on DuckDB and PostgreSQL: one transaction, partition replaced, never half-written."""

import time
from datetime import date

import pandas as pd
import pytest

from vigia.warehouse import PartitionWrite, WarehouseError

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


def runs_rows(n, run_id="r1"):
    return pd.DataFrame({
        "hospital": [f"H{i}" for i in range(n)], "convenio": "Unimed", "tipo_glosa": "Técnica",
        "n_rows": range(n), "k": pd.array([2] * n, dtype="Int64"), "silhouette": 0.5,
        "silhouette_rows": pd.array([None] * n, dtype="Int64"), "status": "clustered", "reason": None,
        "seconds": 0.1, "run_id": run_id,
    })


def count(warehouse, month):
    return int(warehouse.query("SELECT COUNT(*) AS n FROM glosa_segment_runs WHERE competencia = :m",
                               {"m": month})["n"].iloc[0])


def test_rerun_replaces_its_partition_only(warehouse):
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(5))])
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": NOV}, runs_rows(3))])
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(4, "r2"))])
    assert count(warehouse, OCT) == 4 and count(warehouse, NOV) == 3
    got = warehouse.query("SELECT run_id, silhouette_rows, reason FROM glosa_segment_runs WHERE competencia = :m",
                          {"m": OCT})
    assert set(got["run_id"]) == {"r2"}
    assert got["silhouette_rows"].isna().all() and got["reason"].isna().all()  # NULLs stay NULL


def test_postgresql_statistics_are_fresh_after_a_partition_write(pg_uri):
    """The next query is planned on the rows just written (ANALYZE after COMMIT), not on an empty table."""
    from vigia.connections import ConnectionSpec
    from vigia.warehouse import open_warehouse

    warehouse = open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri))
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(500))])
    stats = warehouse.query("SELECT reltuples FROM pg_class WHERE relname = :t", {"t": "glosa_segment_runs"})
    assert float(stats["reltuples"].iloc[0]) == 500.0


def test_a_failure_inside_the_transaction_leaves_the_old_partitions(warehouse):
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(5))])
    bad = runs_rows(2).assign(not_a_column=1)
    with pytest.raises(WarehouseError, match="glosa_segment_runs: unexpected column.*not_a_column"):
        warehouse.replace_partitions([
            PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(1)),  # applied first...
            PartitionWrite("glosa_segment_runs", {"competencia": NOV}, bad),           # ...then this fails
        ])
    assert count(warehouse, OCT) == 5 and count(warehouse, NOV) == 0


def test_rows_outside_the_partition_are_refused(warehouse):
    rows = runs_rows(2).assign(competencia=[OCT, NOV])
    with pytest.raises(WarehouseError, match="competencia holds values outside the partition"):
        warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, rows)])


def test_missing_columns_are_named(warehouse):
    with pytest.raises(WarehouseError, match=r"missing column\(s\) \['status'\]"):
        warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT},
                                                     runs_rows(1).drop(columns="status"))])


def test_a_table_of_an_earlier_version_gains_its_new_columns_and_keeps_its_rows(warehouse):
    """sus_provider_excess as it was created before alvo_versao (upgrade/sus_provider_excess.sql)."""
    from vigia import sql as sqlfiles

    old_ddl = sqlfiles.load("warehouse/sus_provider_excess.sql").replace(
        "    alvo_versao          INTEGER,", "--")
    assert "alvo_versao" not in old_ddl.split("CREATE TABLE")[1]
    with warehouse.connect() as con:
        con.execute(old_ddl)
        con.execute("INSERT INTO sus_provider_excess (competencia, cnes, alvo, excesso_valor, run_id) "
                    "VALUES (DATE '2026-09-01', '1234567', 'SIA-020201', 10.5, 'old')")
    row = {"cnes": "7654321", "uf": "SP", "municipio": "355030", "alvo": "SIA-020201", "alvo_versao": 2,
           "excesso_per_capita": 1.0, "excesso_preco": 0.0, "excesso_salto": 0.0, "excesso_valor": 1.0,
           "run_id": "new"}
    warehouse.replace_partitions([PartitionWrite("sus_provider_excess", {"competencia": OCT}, pd.DataFrame([row]))])
    got = warehouse.query("SELECT run_id, alvo_versao, excesso_valor FROM sus_provider_excess ORDER BY run_id")
    assert got["run_id"].tolist() == ["new", "old"] and got["excesso_valor"].tolist() == [1.0, 10.5]
    assert got["alvo_versao"].iloc[0] == 2 and pd.isna(got["alvo_versao"].iloc[1])  # earlier rows: NULL
    # the next write finds the column there: no second ALTER (it would raise 'already exists')
    warehouse.replace_partitions([PartitionWrite("sus_provider_excess", {"competencia": OCT}, pd.DataFrame([row]))])


def test_an_upgrade_file_holds_only_add_column_statements(monkeypatch):
    from vigia import sql as sqlfiles
    from vigia import warehouse as wh

    assert wh.added_columns("sus_anomaly_scores") == [
        ("alvo_versao", "ALTER TABLE sus_anomaly_scores ADD COLUMN alvo_versao INTEGER")]
    assert wh.added_columns("glosa_segment_runs") == []  # no upgrade file
    monkeypatch.setattr(sqlfiles, "load", lambda name: "ALTER TABLE x DROP COLUMN y;")
    with pytest.raises(WarehouseError, match=r"upgrade/sus_anomaly_scores.sql: expected 'ALTER TABLE "
                                             r"sus_anomaly_scores ADD COLUMN <column> <TYPE>' statements; "
                                             r"got 'ALTER TABLE x DROP COLUMN y'"):
        wh.added_columns("sus_anomaly_scores")


# --- sessions: one connection held over several calls ---------------------------------------------

def _count_driver_connects(monkeypatch, warehouse) -> list:
    """Patch the driver's connect (duckdb.connect / psycopg2.connect) to record each call."""
    import duckdb
    import psycopg2

    module = duckdb if warehouse.kind == "duckdb" else psycopg2
    calls, real = [], module.connect

    def counting(*args, **kwargs):
        calls.append(kwargs.get("read_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "connect", counting)
    return calls


def _seed(warehouse):
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(5))])
    warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": NOV}, runs_rows(3))])


def test_a_session_opens_one_connection_and_reads_the_same(warehouse, monkeypatch):
    _seed(warehouse)
    sql = "SELECT hospital, n_rows FROM glosa_segment_runs WHERE competencia = :m ORDER BY hospital"
    outside = [warehouse.query(sql, {"m": m}) for m in (OCT, NOV)]
    calls = _count_driver_connects(monkeypatch, warehouse)
    with warehouse.session():
        inside = [warehouse.query(sql, {"m": m}) for m in (OCT, NOV)]
        assert warehouse.table_exists("glosa_segment_runs") and not warehouse.table_exists("no_such_table")
        with warehouse.session():  # nested: the outer connection again
            assert count(warehouse, OCT) == 5
        assert warehouse.append("glosa_segment_runs", runs_rows(2).assign(competencia=DEC)) == 2
        assert count(warehouse, DEC) == 2  # a write then a read on the same connection
    assert len(calls) == 1
    if warehouse.kind == "duckdb":
        assert calls == [False]  # read-write: a session may write
    for a, b in zip(outside, inside):
        pd.testing.assert_frame_equal(a, b)
    assert [len(f) for f in inside] == [5, 3]
    count(warehouse, OCT)  # outside again: a connection per call, as before
    assert len(calls) == 2


def test_a_failed_write_in_a_session_rolls_back_and_the_session_goes_on(warehouse):
    _seed(warehouse)
    bad = runs_rows(2).assign(not_a_column=1)
    with warehouse.session():
        with pytest.raises(WarehouseError, match="unexpected column.*not_a_column"):
            warehouse.replace_partitions([
                PartitionWrite("glosa_segment_runs", {"competencia": OCT}, runs_rows(1)),  # deleted 5, inserted 1...
                PartitionWrite("glosa_segment_runs", {"competencia": NOV}, bad),           # ...then this fails
            ])
        assert count(warehouse, OCT) == 5 and count(warehouse, NOV) == 3  # rolled back
        _assert_no_open_transaction(warehouse)
        warehouse.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": NOV}, runs_rows(4, "r2"))])
        assert count(warehouse, NOV) == 4
    got = warehouse.query("SELECT DISTINCT run_id FROM glosa_segment_runs WHERE competencia = :m", {"m": NOV})
    assert list(got["run_id"]) == ["r2"]  # committed: seen by a new connection after the session


def _assert_no_open_transaction(warehouse):
    """On PostgreSQL, the session's backend is idle, not idle in transaction (which would hold locks)."""
    if warehouse.kind == "postgres":
        assert [state for _, state in _pg_backends(warehouse)] == ["idle"]


def _pg_backends(warehouse) -> list[tuple[int, str]]:
    """(pid, state) of the client connections to the warehouse's database, but this one."""
    import psycopg2

    from tests.conftest import PG_ADMIN_URI

    admin = psycopg2.connect(PG_ADMIN_URI)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pid, state FROM pg_stat_activity WHERE datname = %s AND backend_type = "
                        "'client backend' AND pid <> pg_backend_pid()", (warehouse.spec.database,))
            return cur.fetchall()
    finally:
        admin.close()


def _duckdb_opens_read_write_elsewhere(path) -> bool:
    """Whether another process can open the DuckDB file read-write (no one holds its lock)."""
    import subprocess
    import sys

    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True).returncode == 0


def _released(warehouse) -> bool:
    if warehouse.kind == "duckdb":
        return _duckdb_opens_read_write_elsewhere(warehouse.spec.path)
    deadline = time.monotonic() + 5  # the backend exits shortly after the client closes
    while _pg_backends(warehouse) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _pg_backends(warehouse)


def test_a_session_releases_its_connection_on_exit_and_on_error(warehouse):
    _seed(warehouse)
    with warehouse.session():
        assert count(warehouse, OCT) == 5
        assert not _released(warehouse)  # held while the session lasts (the check can fail)
    assert _released(warehouse)
    with pytest.raises(RuntimeError, match="boom"):
        with warehouse.session():
            assert count(warehouse, NOV) == 3
            raise RuntimeError("boom")
    assert _released(warehouse)
    assert count(warehouse, NOV) == 3  # and the warehouse is usable outside a session again


def test_sessions_are_per_warehouse_instance(warehouse, monkeypatch):
    from vigia.warehouse import open_warehouse

    _seed(warehouse)
    other = open_warehouse(warehouse.spec)
    calls = _count_driver_connects(monkeypatch, warehouse)
    with warehouse.session():
        assert count(warehouse, DEC) == 0
        # another instance is outside the session: its write opens (and closes) its own connection
        other.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": DEC}, runs_rows(2))])
        assert len(calls) == 2
        assert count(warehouse, DEC) == 2  # committed, so the session's connection sees it
    assert len(calls) == 2
