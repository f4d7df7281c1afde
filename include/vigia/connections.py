"""Connection descriptions, independent of Airflow.

A connection is written as a URI, exactly as in ``AIRFLOW_CONN_<ID>``:

* DuckDB: ``duckdb:///<absolute path>.duckdb``
* PostgreSQL: ``postgresql://user:password@host:5432/db``
* Oracle: ``oracle://user:password@host:1521/service`` (read through the Oracle provider)

The Airflow side (``dags/common``) turns an Airflow ``Connection`` into a
:class:`ConnectionSpec`; everything below works from the spec alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from vigia import paths

SUPPORTED_KINDS = ("duckdb", "postgres", "oracle")
_KIND_ALIASES = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb", "oracle": "oracle"}


class ConnectionConfigError(ValueError):
    """A connection that cannot be used, with what was expected."""


@dataclass(frozen=True)
class ConnectionSpec:
    conn_id: str
    kind: str
    path: str | None = None  # DuckDB file
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in SUPPORTED_KINDS:
            raise ConnectionConfigError(
                f"connection '{self.conn_id}': type '{self.kind}' is not supported; "
                f"expected one of {', '.join(SUPPORTED_KINDS)}"
            )
        if self.kind == "duckdb" and not self.path:
            raise ConnectionConfigError(
                f"connection '{self.conn_id}': a DuckDB connection needs a file, "
                "written duckdb:///<absolute path>.duckdb"
            )

    def describe(self) -> str:
        """A log-safe description (never the password)."""
        if self.kind == "duckdb":
            return f"duckdb file {self.path}"
        return f"{self.kind} {self.login or ''}@{self.host}:{self.port}/{self.database}"

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> "ConnectionSpec":
        parts = urlsplit(uri)
        kind = _KIND_ALIASES.get(parts.scheme.lower())
        if kind is None:
            raise ConnectionConfigError(
                f"connection '{conn_id}': scheme '{parts.scheme}' is not supported; expected "
                "duckdb:///<path>.duckdb or postgresql://user:password@host:5432/db"
            )
        if kind == "duckdb":
            path = unquote(parts.path)
            # Airflow writes the path quoted (duckdb:///%2Fdata%2Fw.duckdb): one slash of the URI, one of the path
            return cls(conn_id, kind, path=(path[1:] if path.startswith("//") else path) or None)
        return cls(
            conn_id,
            kind,
            host=parts.hostname,
            port=parts.port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            database=unquote(parts.path.lstrip("/")) or None,
            extra=dict(parse_qsl(parts.query)),
        )

    @classmethod
    def from_fields(cls, conn_id, conn_type, host=None, port=None, login=None, password=None,
                    schema=None, extra=None) -> "ConnectionSpec":
        """Build from the fields of an Airflow Connection (``schema`` is the database, or the DuckDB path)."""
        kind = _KIND_ALIASES.get((conn_type or "").lower(), (conn_type or "").lower())
        if kind == "duckdb":
            path = schema or host
            if path and not path.startswith("/"):
                path = "/" + path
            return cls(conn_id, kind, path=path)
        return cls(conn_id, kind, host=host, port=port, login=login, password=password,
                   database=schema, extra=dict(extra or {}))


def default_uri(conn_id: str) -> str | None:
    """The embedded default for a connection id, used when no Airflow connection is defined."""
    data = paths.data_dir()
    defaults = {
        "warehouse": data / "warehouse.duckdb",
        "glosa_source": data / "sources" / "glosa.duckdb",
        "regulation_source": data / "sources" / "regulation.duckdb",
    }
    target = defaults.get(conn_id)
    return f"duckdb:///{Path(target).as_posix().lstrip('/')}" if target else None
