"""The thin layer between Airflow and the ``vigia`` package.

* Connections: every external system is an Airflow connection
  (``AIRFLOW_CONN_<ID>`` or the metadata DB); when none is defined, the
  embedded default from ``vigia.connections.default_uri`` is used and logged.
* Oracle sources are read through the Oracle provider's hook; DuckDB and
  PostgreSQL through ``vigia.sources``. The SQL file is the same.
* Errors that a retry cannot fix (a failed data-quality gate, a source that
  breaks the contract) become ``AirflowFailException``: the task fails at
  once, with the gate's message in its log.
* Every warehouse table is an Airflow Asset, named after the table.

Heavy imports stay inside functions: DAG files import this module at parse time.
"""

from __future__ import annotations

import contextlib
import logging

from airflow.sdk import Asset

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "warehouse"


def warehouse_asset(table: str) -> Asset:
    """The Asset of a warehouse table (whatever database the ``warehouse`` connection points to)."""
    return Asset(name=table, uri=f"vigia://warehouse/{table}", group="warehouse")


def connection_spec(conn_id: str):
    """The ``vigia`` ConnectionSpec of an Airflow connection, or of its embedded default."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from vigia.connections import ConnectionSpec, default_uri

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        uri = default_uri(conn_id)
        if uri is None:
            raise
        log.info("connection '%s' is not defined; using the embedded default %s", conn_id, uri)
        return ConnectionSpec.from_uri(conn_id, uri)
    return ConnectionSpec.from_fields(
        conn_id, conn.conn_type, host=conn.host, port=conn.port, login=conn.login,
        password=conn.password, schema=conn.schema, extra=conn.extra_dejson,
    )


def warehouse():
    from vigia.warehouse import open_warehouse

    spec = connection_spec(WAREHOUSE_CONN_ID)
    log.info("warehouse: %s", spec.describe())
    return open_warehouse(spec)


def read_source(conn_id: str, sql_name_for, params: dict):
    """Run a query file with bind variables against a source connection.

    ``sql_name_for(kind)`` names the file under ``include/sql`` for the source's kind
    (``oracle``, ``duckdb`` or ``postgres``), since Oracle has its own dialect.
    """
    from vigia import sources
    from vigia import sql as sqlfiles

    spec = connection_spec(conn_id)
    sql_name = sql_name_for(spec.kind)
    log.info("source '%s': %s, query %s, binds %s", conn_id, spec.describe(), sql_name, params)
    if spec.kind != "oracle":
        return sources.read_query(spec, sql_name, params)

    from airflow.providers.oracle.hooks.oracle import OracleHook

    text = sqlfiles.load(sql_name)
    binds = sqlfiles.check_params(text, params, sql_name)
    try:
        df = OracleHook(oracle_conn_id=conn_id).get_df(text, parameters=binds, df_type="pandas")
    except Exception as exc:
        if sources.is_schema_error(exc):
            raise sources.SourceSchemaError(f"source '{conn_id}': query {sql_name}: {exc}") from exc
        raise
    df.columns = [str(c).upper() for c in df.columns]
    return df


@contextlib.contextmanager
def fail_fast():
    """Turn errors that retries cannot fix into AirflowFailException (no retry, message kept)."""
    from airflow.sdk.exceptions import AirflowFailException

    from vigia.dq import DataQualityError
    from vigia.glosa.contract import SourceContractError
    from vigia.sources import SourceSchemaError

    try:
        yield
    except (DataQualityError, SourceContractError, SourceSchemaError, ValueError) as exc:
        raise AirflowFailException(str(exc)) from exc


def logical_moment(context):
    """The run's logical date, or when it was due to run for runs triggered without one."""
    return context.get("logical_date") or context["dag_run"].run_after


PSEUDONYM_CONN_ID = "pseudonym_key"


def use_pseudonym_key() -> None:
    """Put the pseudonymisation key where ``vigia.pseudonym`` reads it.

    The key is the password of the ``pseudonym_key`` connection
    (``AIRFLOW_CONN_PSEUDONYM_KEY``, or a secrets backend). Without that connection,
    ``VIGIA_PSEUDONYM_KEY`` from the environment is used, and failing that a local key
    kept in the data folder (local use only; see ``vigia.pseudonym``).
    """
    import os

    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from vigia.pseudonym import KEY_ENV

    try:
        conn = Connection.get(PSEUDONYM_CONN_ID)
    except AirflowNotFoundException:
        log.info("connection '%s' is not defined; pseudonymisation key from %s or the local key file",
                 PSEUDONYM_CONN_ID, KEY_ENV)
        return
    if conn.password:
        os.environ[KEY_ENV] = conn.password
