"""Warehouse writes on DuckDB and PostgreSQL: one transaction, partition replaced, never half-written."""

from datetime import date

import pandas as pd
import pytest

from vigia.warehouse import PartitionWrite, WarehouseError

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


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
