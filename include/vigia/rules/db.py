"""Read the regulation source (DuckDB or PostgreSQL) for the rules engine.

Queries come from ``include/sql/rules/`` or from the compiler, always with ``:name``
bind variables; errors name the connection and the query.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.connections import ConnectionSpec, default_uri
from vigia.sources import SourceError, SourceSchemaError, is_schema_error
from vigia.warehouse import DuckDBWarehouse, PostgresWarehouse

SOURCE_CONN_ID = "regulation_source"


def default_source() -> ConnectionSpec:
    return ConnectionSpec.from_uri(SOURCE_CONN_ID, default_uri(SOURCE_CONN_ID))


def spec_of(source: ConnectionSpec | str | None) -> ConnectionSpec:
    if source is None:
        return default_source()
    if isinstance(source, str):
        return ConnectionSpec.from_uri(SOURCE_CONN_ID, source)
    return source


def _db(spec: ConnectionSpec):
    if spec.kind == "duckdb":
        if not Path(spec.path).is_file():
            raise SourceError(f"source '{spec.conn_id}': DuckDB file {spec.path} does not exist; generate it with "
                              "`python -m vigia.sample_data regulation` or point the connection at your database")
        return DuckDBWarehouse(spec)
    if spec.kind == "postgres":
        return PostgresWarehouse(spec)
    raise SourceError(f"source '{spec.conn_id}': {spec.kind} is not supported by the rules engine "
                      "(DuckDB or PostgreSQL)")


def _duckdb_frame(con, text: str, binds: dict) -> pd.DataFrame:
    """DuckDB result through Arrow (faster than ``.df()`` on wide results: ~270 columns x 1M rows in
    the rules engine). Dates become datetime64 like ``.df()``; integer columns with NULLs become
    pandas nullable integers, as with ``.df()``."""
    import pyarrow as pa  # noqa: PLC0415

    table = con.sql(sqlfiles.to_driver(text, "duckdb"), params=binds or None).to_arrow_table()
    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype()}
    frame = table.to_pandas(date_as_object=False, types_mapper=None)
    for i, field in enumerate(table.schema):
        if field.type in nullable and table.column(i).null_count:
            frame[field.name] = pd.Series(pd.array(table.column(i).to_pandas(types_mapper=nullable.get)),
                                          index=frame.index)
    return frame


def query(spec: ConnectionSpec, text: str, params: dict, name: str, arrow: bool = False) -> pd.DataFrame:
    """Run ``text`` (named ``name`` in errors) on the source; lower-case column names. ``arrow``: on
    DuckDB, fetch through Arrow (the rules engine's wide result)."""
    db = _db(spec)
    binds = sqlfiles.check_params(text, params, name)
    try:
        with db.connect(read_only=True) as con:
            if arrow and spec.kind == "duckdb":
                df = _duckdb_frame(con, text, binds)
            else:
                df = db._query_df(con, text, binds)
    except Exception as exc:
        if is_schema_error(exc):
            raise SourceSchemaError(f"source '{spec.conn_id}' ({spec.describe()}): query {name} does not match "
                                    f"the regulation contract's tables: {str(exc).strip()}") from exc
        raise SourceError(f"source '{spec.conn_id}' ({spec.describe()}): query {name} failed: {exc}") from exc
    df.columns = [str(c).lower() for c in df.columns]
    return df


def query_file(spec: ConnectionSpec, name: str, params: dict | None = None) -> pd.DataFrame:
    return query(spec, sqlfiles.load(name), params or {}, name)


def has_cid(spec: ConnectionSpec) -> bool:
    cols = query_file(spec, "rules/guias_columns.sql")
    return "cid" in {str(c).lower() for c in cols["column_name"]}


def requests_sql(spec: ConnectionSpec) -> str:
    """The requests query for this source (cid read when the optional column exists)."""
    text = sqlfiles.load("rules/requests.sql")
    return text if has_cid(spec) else text.replace("CAST(g.cid AS VARCHAR)", "CAST(NULL AS VARCHAR)")
