"""Read a source query from DuckDB or PostgreSQL into a DataFrame.

Oracle sources are read through the Airflow Oracle provider (see
``dags/common/connections.py``); the SQL and its bind variables are the same
files either way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.connections import ConnectionSpec
from vigia.warehouse import DuckDBWarehouse, PostgresWarehouse


class SourceError(RuntimeError):
    """A source query failed; the message names the connection and the query file."""


class SourceSchemaError(SourceError):
    """The source lacks a table or column the query needs: retrying will not help."""


def is_schema_error(exc: Exception) -> bool:
    name = type(exc).__name__
    return name in {"BinderException", "CatalogException", "UndefinedColumn", "UndefinedTable"} or (
        "ORA-00904" in str(exc) or "ORA-00942" in str(exc)
    )


def read_query(spec: ConnectionSpec, sql_name: str, params: dict) -> pd.DataFrame:
    """Run ``include/sql/<sql_name>`` against a DuckDB or PostgreSQL source, columns upper-cased."""
    text = sqlfiles.load(sql_name)
    binds = sqlfiles.check_params(text, params, sql_name)
    if spec.kind == "duckdb":
        if not Path(spec.path).is_file():
            raise SourceError(
                f"source '{spec.conn_id}': DuckDB file {spec.path} does not exist; generate the sample "
                f"sources with `make sample-data` or point AIRFLOW_CONN_{spec.conn_id.upper()} at your database"
            )
        db = DuckDBWarehouse(spec)
    elif spec.kind == "postgres":
        db = PostgresWarehouse(spec)
    else:
        raise SourceError(f"connection '{spec.conn_id}' ({spec.kind}) must be read through its Airflow provider")
    try:
        with db.connect(read_only=True) as con:
            df = db._query_df(con, text, binds)
    except Exception as exc:
        if is_schema_error(exc):
            raise SourceSchemaError(
                f"source '{spec.conn_id}' ({spec.describe()}): query {sql_name} does not match the "
                f"source's tables: {str(exc).strip()}"
            ) from exc
        raise SourceError(
            f"source '{spec.conn_id}' ({spec.describe()}): query {sql_name} failed: {exc}"
        ) from exc
    df.columns = [str(c).upper() for c in df.columns]
    return df
