"""Two writers of the same warehouse partition at once: the advisory lock serialises them.

Deterministic: a third connection holds a row lock on the partition, so both writers are
inside ``replace_partitions`` at the same moment before it is released. With the per-partition
advisory lock, the second writer's DELETE starts after the first one committed and removes its
rows: the partition ends with exactly one writer's rows. Without it, both DELETEs would wait on
the same old rows, neither would see the other's inserts, and the partition would hold both.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pandas as pd
import psycopg2

from vigia.connections import ConnectionSpec
from vigia.warehouse import PartitionWrite, open_warehouse

MONTH = date(1999, 1, 1)


def rows(run_id: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "hospital": [f"Hospital {i:02d}" for i in range(n)], "convenio": "Amil", "tipo_glosa": "Técnica",
        "n_rows": 10, "k": 2, "silhouette": 0.5, "silhouette_rows": 10, "status": "clustered", "reason": None,
        "seconds": 0.1, "run_id": run_id,
    })


def test_concurrent_writers_of_one_partition_leave_exactly_one_writers_rows(pg_uri):
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri))
    wh.replace_partitions([PartitionWrite("glosa_segment_runs", {"competencia": MONTH}, rows("seed", 3))])

    locker = psycopg2.connect(pg_uri)
    with locker.cursor() as cur:   # holds the partition's rows: both writers will queue behind it
        cur.execute("SELECT * FROM glosa_segment_runs WHERE competencia = %s FOR UPDATE", (MONTH,))
    errors: list[BaseException] = []

    def write(run_id: str, n: int):
        try:
            open_warehouse(ConnectionSpec.from_uri("warehouse", pg_uri)).replace_partitions(
                [PartitionWrite("glosa_segment_runs", {"competencia": MONTH}, rows(run_id, n))])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=a) for a in (("A", 5), ("B", 7))]
    for t in writers:
        t.start()
    waiting = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = sum(1 for _state, wait_type, _event, _q in activity(pg_uri) if wait_type == "Lock")
        if waiting >= 2:
            break
        time.sleep(0.2)
    assert waiting >= 2, f"both writers should be waiting inside their transactions: {activity(pg_uri)}"
    locker.rollback()
    locker.close()
    for t in writers:
        t.join(60)
    assert errors == []

    result = wh.query("SELECT run_id, COUNT(*) AS n FROM glosa_segment_runs WHERE competencia = :m GROUP BY run_id",
                      {"m": MONTH})
    assert len(result) == 1, result                     # one writer's rows, never both, never the seed's
    assert (result["run_id"].iloc[0], int(result["n"].iloc[0])) in {("A", 5), ("B", 7)}


def activity(uri: str) -> list[tuple]:
    """The other sessions of the database, from a new connection (a fresh statistics snapshot)."""
    con = psycopg2.connect(uri)
    try:
        cur = con.cursor()
        cur.execute("SELECT state, wait_event_type, wait_event, LEFT(query, 60) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cur.fetchall()
    finally:
        con.close()
