"""Read-only access to the warehouse for the Vigia page.

The page never writes, so it never opens the warehouse for writing:

* DuckDB: the file is opened ``read_only``; a missing file is "no warehouse yet"
  (the page never creates one). DuckDB lets one writer *or* several readers hold
  the file, so while a DAG task publishes, opening fails with a lock error; the
  reader retries for ``lock_timeout`` seconds (default 5) and then reports the
  warehouse busy instead of making the page hang.
* PostgreSQL: the session is ``readonly`` (``SET SESSION CHARACTERISTICS AS
  TRANSACTION READ ONLY`` through psycopg2) with a ``statement_timeout``, so even
  a wrong query cannot change anything; point the ``warehouse_readonly``
  connection at the BI role to have the database enforce it as well.

Every query is a file under ``include/sql`` with ``:name`` bind variables;
values travel as bind parameters (``vigia.sql.to_driver``), never in the text.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.connections import ConnectionSpec

log = logging.getLogger(__name__)


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read right now (locked by a writer, or unreachable)."""


class Session:
    """One open read-only connection: table list, columns, query files."""

    def __init__(self, kind: str, con):
        self.kind = kind
        self.con = con
        self._tables: set[str] | None = None

    def query(self, sql: str, params: dict | None = None, where: str = "query") -> pd.DataFrame:
        binds = sqlfiles.check_params(sql, params or {}, where)
        text = sqlfiles.to_driver(sql, self.kind)
        if self.kind == "duckdb":
            return self.con.execute(text, binds or None).df()
        with self.con.cursor() as cur:
            cur.execute(text, binds or None)
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def query_file(self, name: str, params: dict | None = None) -> pd.DataFrame:
        return self.query(sqlfiles.load(name), params, where=name)

    def tables(self) -> set[str]:
        if self._tables is None:
            self._tables = set(self.query_file("ui/tables.sql")["table_name"].astype(str))
        return self._tables

    def has(self, table: str) -> bool:
        return table in self.tables()

    def columns(self, table: str) -> list[str]:
        return self.query_file("warehouse/_columns.sql", {"table_name": table})["column_name"].astype(str).tolist()


class Reader:
    """Opens read-only sessions on the warehouse behind a connection spec."""

    def __init__(self, spec: ConnectionSpec, lock_timeout: float = 5.0, statement_timeout_ms: int = 15_000):
        if spec.kind not in ("duckdb", "postgres"):
            raise ValueError(f"connection '{spec.conn_id}' is {spec.kind}; the warehouse is duckdb or postgres")
        self.spec = spec
        self.lock_timeout = lock_timeout
        self.statement_timeout_ms = statement_timeout_ms

    def describe(self) -> str:
        return self.spec.describe()

    def exists(self) -> bool:
        """False for a DuckDB file that was never written (no DAG has published yet)."""
        return self.spec.kind != "duckdb" or Path(self.spec.path).is_file()

    @contextlib.contextmanager
    def session(self):
        if self.spec.kind == "duckdb":
            with self._duckdb() as con:
                yield Session("duckdb", con)
        else:
            with self._postgres() as con:
                yield Session("postgres", con)

    @contextlib.contextmanager
    def _duckdb(self):
        import duckdb

        path = Path(self.spec.path)
        if not path.is_file():
            raise WarehouseUnavailable(f"the warehouse {path} does not exist yet: no DAG has published to it")
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.1
        while True:
            try:
                con = duckdb.connect(str(path), read_only=True)
                break
            except duckdb.Error as exc:
                if "lock" not in str(exc).lower():
                    raise WarehouseUnavailable(f"the warehouse {path} cannot be opened: {exc}") from exc
                if time.monotonic() > deadline:
                    raise WarehouseUnavailable(
                        f"the warehouse {path} is being written by a DAG run; try again in a moment") from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _postgres(self):
        import psycopg2

        s = self.spec
        try:
            raw = psycopg2.connect(
                host=s.host or "127.0.0.1", port=s.port or 5432, user=s.login, password=s.password,
                dbname=s.database, connect_timeout=int(s.extra.get("connect_timeout", 5)),
                options=f"-c statement_timeout={int(self.statement_timeout_ms)}",
                application_name="vigia-ui",
            )
        except psycopg2.OperationalError as exc:
            raise WarehouseUnavailable(f"the warehouse ({s.describe()}) is unreachable: {exc}".strip()) from exc
        raw.set_session(readonly=True, autocommit=True)
        try:
            yield raw
        finally:
            raw.close()
