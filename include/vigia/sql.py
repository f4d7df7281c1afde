"""SQL files under ``include/sql`` and their bind variables.

Every query is written with named bind variables in the ``:name`` style, the
one Oracle uses natively. :func:`to_driver` rewrites the placeholders (never
the values) into the driver's own style, so values always travel as bind
parameters:

* DuckDB: ``$name``
* psycopg2: ``%(name)s`` (and literal ``%`` doubled)
* Oracle: unchanged
"""

from __future__ import annotations

import re
from functools import lru_cache

from vigia.paths import SQL_DIR

# a :name placeholder that is not part of a PostgreSQL '::' cast, outside quotes
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """Text of ``include/sql/<name>``; raises FileNotFoundError naming the path."""
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text(encoding="utf-8")


def bind_names(sql: str) -> list[str]:
    """Names of the bind variables a query uses, in order of first appearance."""
    seen: list[str] = []
    for match in _TOKEN.finditer(sql):
        name = match.group(1)
        if name and name not in seen:
            seen.append(name)
    return seen


def to_driver(sql: str, kind: str) -> str:
    """Rewrite ``:name`` placeholders into the style of the driver for ``kind``."""
    if kind == "oracle":
        return sql
    if kind == "duckdb":
        style = "${}"
    elif kind == "postgres":
        style = "%({})s"
    else:
        raise ValueError(f"unknown SQL driver kind '{kind}'")

    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            text = match.group(0)
            return text.replace("%", "%%") if kind == "postgres" else text
        return style.format(match.group(1))

    out, last = [], 0
    for match in _TOKEN.finditer(sql):
        chunk = sql[last:match.start()]
        out.append(chunk.replace("%", "%%") if kind == "postgres" else chunk)
        out.append(replace(match))
        last = match.end()
    tail = sql[last:]
    out.append(tail.replace("%", "%%") if kind == "postgres" else tail)
    return "".join(out)


def check_params(sql: str, params: dict, where: str) -> dict:
    """The subset of ``params`` a query binds; a missing one is an error naming the query."""
    names = bind_names(sql)
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"{where}: bind variable(s) {', '.join(missing)} not supplied")
    return {n: params[n] for n in names}
