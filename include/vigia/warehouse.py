"""The warehouse: DuckDB (default) or PostgreSQL behind one small interface.

Writes are idempotent per logical partition. :meth:`Warehouse.replace_partitions`
deletes each table's partition and inserts its new rows, for any number of
tables, inside one transaction: a reader sees the old partition or the new
one, never half of it, and a failure leaves the old one in place.

Tables are declared in ``include/sql/warehouse/<table>.sql`` (portable DDL,
``CREATE TABLE IF NOT EXISTS``) and created on first use.

Connections. Outside a session every call (:meth:`Warehouse.query`, ``query_file``, ``table_exists``,
``replace_partitions``, ``append``, ``replace_table``) opens its own connection and closes it: DuckDB
reads take a read-only connection, so they never block one another. Opening one is not free: on a
large DuckDB file ``duckdb.connect`` costs ~36 ms, and a step making ~16 calls (the SUS score step)
spends 0.6 s connecting. Inside ``with warehouse.session():`` those calls share one read-write
connection of that warehouse instance, closed when the block ends (also when it raises). The writes
still run their own BEGIN ... COMMIT, so a failed write rolls back that write only and the shared
connection stays usable. On DuckDB the session holds the file's write lock for its whole length:
other processes wait for it (``lock_timeout``), so keep sessions to the warehouse work.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.connections import ConnectionSpec

log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


class WarehouseError(RuntimeError):
    """A write the warehouse refused, naming the table and what was expected."""


@dataclass
class PartitionWrite:
    """Replace the rows of ``table`` whose ``partition`` columns equal the given values with ``rows``."""

    table: str
    partition: dict
    rows: pd.DataFrame


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise WarehouseError(f"'{name}' is not a valid warehouse identifier (lowercase, digits, _)")
    return name


class Warehouse:
    kind: str

    def __init__(self, spec: ConnectionSpec):
        self.spec = spec
        self._session_con = None  # the connection held by session(), per instance

    # --- connection -------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, read_only: bool = False):  # pragma: no cover - overridden
        """A new connection, closed on exit (each driver's own; ignores any session)."""
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def session(self):
        """Hold one connection over several calls: inside ``with warehouse.session():``, ``query``,
        ``query_file``, ``table_exists``, ``replace_partitions``, ``append`` and ``replace_table`` of
        this instance reuse it instead of opening their own (~36 ms each on a large DuckDB file).

        The connection is opened read-write, as a session may both read and write, and closed on
        exit, also when the block raises. Nested sessions reuse the outer one's connection. Writes
        still BEGIN/COMMIT (or ROLLBACK) their own transaction; reads run outside any transaction
        (DuckDB and the PostgreSQL connection are in autocommit), so a session never leaves one open
        to block other writers. Not thread-safe: one session per instance at a time. A direct
        :meth:`connect`, or another instance, still opens a separate connection; on DuckDB a
        read-only one to the same file from this process fails while the session is open (DuckDB
        refuses a second configuration of an open file), so read through the session's instance."""
        if self._session_con is not None:
            yield self
            return
        with self.connect() as con:
            self._session_con = con
            try:
                yield self
            finally:
                self._session_con = None

    @contextlib.contextmanager
    def _connection(self, read_only: bool = False):
        """The session's connection if one is held, else a new one of :meth:`connect`."""
        if self._session_con is not None:
            yield self._session_con
        else:
            with self.connect(read_only=read_only) as con:
                yield con

    # --- schema -----------------------------------------------------------------
    def ensure_table(self, con, table: str) -> list[str]:
        """Create ``table`` from its DDL file if needed, add the columns it gained since a warehouse of
        an earlier version created it (``warehouse/upgrade/<table>.sql``, :func:`added_columns`); return
        its columns in order. The ALTER runs only for a column the table lacks: no lock otherwise."""
        con.execute(sqlfiles.load(f"warehouse/{_ident(table)}.sql"))
        columns = self.columns(con, table)
        missing = [(c, alter) for c, alter in added_columns(table) if c not in columns]
        for column, alter in missing:
            log.warning("warehouse %s: table %s of an earlier version gains column %s",
                        self.spec.describe(), table, column)
            con.execute(alter)
        return self.columns(con, table) if missing else columns

    def ensure_tables(self, tables: list[str]) -> None:
        """Create each of ``tables`` from its DDL file if it does not exist yet (tables a query reads)."""
        with self._connection() as con:
            for table in tables:
                self.ensure_table(con, table)

    def columns(self, con, table: str) -> list[str]:
        rows = self._fetch(con, sqlfiles.load("warehouse/_columns.sql"), {"table_name": table})
        return [r[0] for r in rows]

    # --- reads ------------------------------------------------------------------
    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """Run a SELECT with ``:name`` bind variables and return a DataFrame."""
        with self._connection(read_only=True) as con:
            return self._query_df(con, sql, params or {})

    def query_file(self, name: str, params: dict | None = None) -> pd.DataFrame:
        return self.query(sqlfiles.load(name), params)

    def table_exists(self, table: str) -> bool:
        with self._connection(read_only=True) as con:
            return bool(self.columns(con, table))

    # --- writes -----------------------------------------------------------------
    def replace_partitions(self, writes: list[PartitionWrite]) -> dict[str, int]:
        """Replace every given partition in one transaction; return rows inserted per table."""
        counts: dict[str, int] = {}
        with self._connection() as con:
            tables = {w.table: self.ensure_table(con, w.table) for w in writes}
            self._begin(con)
            try:
                for w in writes:
                    self._lock(con, w)
                    columns = tables[w.table]
                    rows = _conform(w, columns)
                    where = " AND ".join(f"{_ident(c)} = :p_{c}" for c in w.partition)
                    self._execute(con, f"DELETE FROM {_ident(w.table)} WHERE {where}",
                                  {f"p_{c}": v for c, v in w.partition.items()})
                    self._insert(con, w.table, columns, rows)
                    counts[w.table] = counts.get(w.table, 0) + len(rows)
                self._commit(con)
            except BaseException:
                self._rollback(con)
                raise
            self._analyze(con, list(counts))
        log.info("warehouse %s: replaced partitions %s", self.spec.describe(), counts)
        return counts

    def replace_table(self, ddl_name: str, table: str, rows: pd.DataFrame) -> int:
        """Create ``table`` from ``include/sql/<ddl_name>`` if needed and replace all its rows
        (used to load sample sources)."""
        rows = rows.rename(columns=str.lower)
        with self._connection() as con:
            con.execute(sqlfiles.load(ddl_name))
            self._begin(con)
            try:
                self._execute(con, f"DELETE FROM {_ident(table)}", {})
                self._insert(con, table, list(rows.columns), rows)
                self._commit(con)
            except BaseException:
                self._rollback(con)
                raise
        return len(rows)

    def append(self, table: str, rows: pd.DataFrame) -> int:
        """Append rows (for logs such as ``dq_results``), in one transaction."""
        with self._connection() as con:
            columns = self.ensure_table(con, table)
            rows = _conform(PartitionWrite(table, {}, rows), columns)
            self._begin(con)
            try:
                self._insert(con, table, columns, rows)
                self._commit(con)
            except BaseException:
                self._rollback(con)
                raise
        return len(rows)

    # --- driver specifics -------------------------------------------------------
    def _begin(self, con):
        con.execute("BEGIN")

    def _commit(self, con):
        con.execute("COMMIT")

    def _rollback(self, con):
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")

    def _lock(self, con, write: PartitionWrite):
        pass

    def _analyze(self, con, tables: list[str]):
        """Refresh the planner's statistics of ``tables`` after a committed write (PostgreSQL)."""

    def _execute(self, con, sql: str, params: dict):
        raise NotImplementedError

    def _fetch(self, con, sql: str, params: dict) -> list[tuple]:
        raise NotImplementedError

    def _query_df(self, con, sql: str, params: dict) -> pd.DataFrame:
        raise NotImplementedError

    def _insert(self, con, table: str, columns: list[str], rows: pd.DataFrame):
        raise NotImplementedError


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+) [A-Z ]+$")


def added_columns(table: str) -> list[tuple[str, str]]:
    """(column, ALTER statement) of each column ``table`` gained after its first release, from
    ``include/sql/warehouse/upgrade/<table>.sql`` (none when the file does not exist). Each statement
    must read ``ALTER TABLE <table> ADD COLUMN <column> <TYPE>``; anything else is refused."""
    try:
        text = sqlfiles.load(f"warehouse/upgrade/{_ident(table)}.sql")
    except FileNotFoundError:
        return []
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    out = []
    for statement in filter(None, (" ".join(st.split()) for st in body.split(";"))):
        m = _ADD_COLUMN.match(statement)
        if not m or m[1] != table:
            raise WarehouseError(f"warehouse/upgrade/{table}.sql: expected 'ALTER TABLE {table} ADD COLUMN "
                                 f"<column> <TYPE>' statements; got {statement!r}")
        out.append((m[2], statement))
    return out


def _conform(write: PartitionWrite, columns: list[str]) -> pd.DataFrame:
    """Rows with the table's columns in order; partition columns filled in; unknown columns refused."""
    rows = write.rows.copy()
    for col, value in write.partition.items():
        if col in rows.columns and not (rows[col] == value).all():
            raise WarehouseError(
                f"table {write.table}: column {col} holds values outside the partition {col}={value!r}"
            )
        rows[col] = value
    missing = [c for c in columns if c not in rows.columns]
    extra = [c for c in rows.columns if c not in columns]
    if extra:
        raise WarehouseError(f"table {write.table}: unexpected column(s) {extra}; the table has {columns}")
    if missing:
        raise WarehouseError(f"table {write.table}: missing column(s) {missing}; expected {columns}")
    return rows[columns]


def arrow_frame(table) -> pd.DataFrame | None:
    """A query result fetched as Arrow, as the DataFrame DuckDB's ``.df()`` gives, or None when a column
    has a type this does not convert (lists, structs, ...: the caller falls back to ``.df()``).

    Why: ``.df()`` builds a Python string per text value and pandas then copies them into Arrow
    strings; from Arrow the strings are handed over once. It is 2-3x faster on the million-row
    aggregates the SUS score step reads. The dtypes are those of ``.df()`` (tested): DATE and
    TIMESTAMP as ``datetime64[us]``, DECIMAL and HUGEINT as float64, integers and booleans with a
    NULL as pandas' nullable Int*/boolean, text as pandas' string dtype.
    """
    import pyarrow as pa

    columns = {}
    for field, column in zip(table.schema, table.columns):
        t = field.type
        if pa.types.is_date(t):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_decimal(t):
            column = column.cast(pa.float64())
        elif pa.types.is_timestamp(t) and t.unit != "us":
            column = column.cast(pa.timestamp("us", tz=t.tz))
        elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                  or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
                  or pa.types.is_timestamp(t) or pa.types.is_null(t)):
            return None
        columns[field.name] = column
    if len(set(columns)) != len(columns):
        return None  # duplicate column names: leave them to .df()
    frame = pa.table(columns).to_pandas(integer_object_nulls=False, date_as_object=False)
    for field, column in zip(table.schema, table.columns):
        name, t = field.name, field.type
        if column.null_count and pa.types.is_integer(t):
            frame[name] = frame[name].astype(f"{'U' if pa.types.is_unsigned_integer(t) else ''}Int{t.bit_width}")
        elif column.null_count and pa.types.is_boolean(t):
            frame[name] = frame[name].astype("boolean")
        elif column.null_count == len(column) and (
                pa.types.is_null(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
                or pa.types.is_string_view(t)):
            frame[name] = pd.Series([None] * len(column), index=frame.index, dtype=object)
    return frame


class DuckDBWarehouse(Warehouse):
    """A DuckDB file. One process writes at a time; others wait for the file lock (``lock_timeout`` s)."""

    kind = "duckdb"
    lock_timeout = 120.0

    @contextlib.contextmanager
    def connect(self, read_only: bool = False):
        import duckdb

        path = Path(self.spec.path)
        if read_only and not path.exists():
            read_only = False  # an empty warehouse: create it rather than fail a read
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.2
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                log.info("warehouse %s is locked by another writer; retrying in %.1fs", path, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        try:
            yield con
        finally:
            con.close()

    def _execute(self, con, sql, params):
        con.execute(sqlfiles.to_driver(sql, "duckdb"), params or None)

    def _fetch(self, con, sql, params):
        return con.execute(sqlfiles.to_driver(sql, "duckdb"), params or None).fetchall()

    def _query_df(self, con, sql, params):
        relation = con.sql(sqlfiles.to_driver(sql, "duckdb"), params=params or None)
        frame = arrow_frame(relation.to_arrow_table())
        return frame if frame is not None else relation.df()

    def _insert(self, con, table, columns, rows):
        if rows.empty:
            return
        cols = ", ".join(_ident(c) for c in columns)
        con.register("_vigia_rows", rows)
        try:
            con.execute(f"INSERT INTO {_ident(table)} ({cols}) SELECT {cols} FROM _vigia_rows")
        finally:
            con.unregister("_vigia_rows")


class _PgCursorAdapter:
    """Gives a psycopg2 connection the ``execute`` shape DuckDB connections have."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, sql, params=None):
        with self.raw.cursor() as cur:
            cur.execute(sql, params)


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database. Writers of the same partition are serialised by an advisory lock."""

    kind = "postgres"

    @contextlib.contextmanager
    def connect(self, read_only: bool = False):
        import psycopg2

        s = self.spec
        raw = psycopg2.connect(
            host=s.host or "127.0.0.1", port=s.port or 5432, user=s.login, password=s.password,
            dbname=s.database, connect_timeout=int(s.extra.get("connect_timeout", 10)),
        )
        raw.autocommit = True  # transactions are explicit: BEGIN ... COMMIT
        try:
            yield _PgCursorAdapter(raw)
        finally:
            raw.close()

    def _analyze(self, con, tables):
        """ANALYZE the tables just written: a query that runs right after a bulk load (the score step
        after publish_cube) is planned from their statistics, and autovacuum has not sampled them yet.
        A table the planner believes to hold 2 rows gets nested loops: the per-capita query over a
        fresh ``sus_production_by_municipality`` took minutes on 450 rows instead of ~0.1 s."""
        for table in tables:
            self._execute(con, f"ANALYZE {_ident(table)}", {})

    def _lock(self, con, write):
        key = f"{write.table}|" + "|".join(f"{k}={v}" for k, v in sorted(write.partition.items()))
        self._execute(con, "SELECT pg_advisory_xact_lock(hashtext(:lock_key))", {"lock_key": key})

    def _execute(self, con, sql, params):
        con.execute(sqlfiles.to_driver(sql, "postgres"), params or None)

    def _fetch(self, con, sql, params):
        with con.raw.cursor() as cur:
            cur.execute(sqlfiles.to_driver(sql, "postgres"), params or None)
            return cur.fetchall()

    def _query_df(self, con, sql, params):
        with con.raw.cursor() as cur:
            cur.execute(sqlfiles.to_driver(sql, "postgres"), params or None)
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def _insert(self, con, table, columns, rows):
        if rows.empty:
            return
        buf = io.StringIO()
        rows.to_csv(buf, index=False, header=False, na_rep="\\N")
        buf.seek(0)
        cols = ", ".join(_ident(c) for c in columns)
        with con.raw.cursor() as cur:
            cur.copy_expert(
                f"COPY {_ident(table)} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf
            )


def open_warehouse(spec: ConnectionSpec) -> Warehouse:
    """The warehouse behind a connection: DuckDB or PostgreSQL."""
    if spec.kind == "duckdb":
        return DuckDBWarehouse(spec)
    if spec.kind == "postgres":
        return PostgresWarehouse(spec)
    raise WarehouseError(
        f"connection '{spec.conn_id}' is of type {spec.kind}; the warehouse must be duckdb or postgres"
    )
