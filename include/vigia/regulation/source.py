"""The ``regulation_source`` contract: four tables with fixed names, columns and types.

A plan maps its own database onto these with views (docs/regulation_source.md). :func:`check`
reads ``information_schema.columns`` (DuckDB and PostgreSQL alike; views count as tables) and
raises :class:`RegulationContractError` naming the table and every missing or mistyped column.

Types are checked by family, so a plan is free to choose widths and precisions:

* ``text``: VARCHAR / TEXT / CHAR / CHARACTER VARYING
* ``integer``: SMALLINT / INTEGER / BIGINT / HUGEINT (and the unsigned DuckDB ones)
* ``number``: any integer or floating or DECIMAL / NUMERIC type
* ``date``: DATE
* ``timestamp``: TIMESTAMP, with or without time zone
* ``boolean``: BOOLEAN
* ``identifier``: text or integer (ids may be either)

Optional columns (``guias.cid``) are checked only when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vigia.connections import ConnectionSpec

CONN_ID = "regulation_source"


@dataclass(frozen=True)
class Column:
    name: str
    family: str
    nullable: bool = False
    optional: bool = False  # an extension column the contract allows but does not require


CONTRACT: dict[str, list[Column]] = {
    "beneficiarios": [
        Column("id_beneficiario", "identifier"),
        Column("sexo", "text"),
        Column("data_nascimento", "date"),
        Column("tipo_beneficiario", "text"),
        Column("data_adesao", "date"),
    ],
    "procedimentos": [
        Column("codigo_procedimento", "text"),
        Column("descricao", "text"),
        Column("grupo", "text"),
        Column("periodicidade_dias", "integer", nullable=True),
        Column("idade_minima", "integer", nullable=True),
        Column("idade_maxima", "integer", nullable=True),
        Column("sexo_permitido", "text", nullable=True),
        Column("carencia_dias", "integer"),
        Column("valor", "number"),
        Column("valor_moderacao", "number"),
        Column("nivel_complexidade", "integer"),
        Column("ordem", "integer"),
        Column("especial", "boolean"),
        Column("pericia_inicial", "boolean"),
    ],
    "guias": [
        Column("id_guia", "identifier"),
        Column("id_beneficiario", "identifier"),
        Column("data_solicitacao", "timestamp"),
        Column("codigo_procedimento", "text"),
        Column("tipo_guia", "text"),
        Column("id_prestador", "identifier"),
        Column("texto_anexo", "text", nullable=True),
        Column("decisao", "text", nullable=True),
        Column("data_decisao", "timestamp", nullable=True),
        Column("cid", "text", nullable=True, optional=True),
    ],
    "eventos": [
        Column("id_beneficiario", "identifier"),
        Column("codigo_procedimento", "text"),
        Column("data_realizacao", "date"),
        Column("valor", "number"),
    ],
}
TABLES = tuple(CONTRACT)
SEXOS = ("M", "F")
TIPOS_BENEFICIARIO = ("titular", "dependente", "agregado")
TIPOS_GUIA = ("consulta", "sadt", "internacao", "odontologia")
DECISOES = ("autorizado", "negado")

_TEXT = ("varchar", "text", "char", "character", "character varying", "string", "bpchar")
_INTEGER = ("smallint", "integer", "bigint", "hugeint", "int", "int2", "int4", "int8", "tinyint",
            "utinyint", "usmallint", "uinteger", "ubigint")
_FLOAT = ("double", "double precision", "real", "float", "float4", "float8")
_FAMILIES = {
    "text": lambda t: t.startswith(_TEXT),
    "integer": lambda t: t in _INTEGER,
    "number": lambda t: t in _INTEGER or t in _FLOAT or t.startswith(("decimal", "numeric")),
    "date": lambda t: t == "date",
    "timestamp": lambda t: t.startswith("timestamp"),
    "boolean": lambda t: t in ("boolean", "bool"),
    "identifier": lambda t: t.startswith(_TEXT) or t in _INTEGER,
}


class RegulationContractError(ValueError):
    """The source does not match the contract: names the table and the missing or mistyped columns."""


def _expected(col: Column) -> str:
    return {"identifier": "text or integer", "number": "a number"}.get(col.family, col.family)


def problems(columns: pd.DataFrame) -> list[str]:
    """Every mismatch between the contract and ``columns`` (table_name, column_name, data_type rows)."""
    found: dict[str, dict[str, str]] = {}
    for row in columns.itertuples(index=False):
        found.setdefault(str(row.table_name).lower(), {})[str(row.column_name).lower()] = str(row.data_type).lower()
    out = []
    for table, cols in CONTRACT.items():
        have = found.get(table)
        if have is None:
            out.append(f"table {table} is missing; expected columns "
                       f"{', '.join(c.name for c in cols if not c.optional)}")
            continue
        missing = [c.name for c in cols if c.name not in have and not c.optional]
        if missing:
            out.append(f"table {table}: missing column(s) {', '.join(missing)}")
        for c in cols:
            if c.name in have and not _FAMILIES[c.family](have[c.name]):
                out.append(f"table {table}: column {c.name} has type {have[c.name].upper()}; "
                           f"expected {_expected(c)}")
    return out


def read_columns(spec: ConnectionSpec) -> pd.DataFrame:
    """The source's columns of the four contract tables (information_schema, current schema)."""
    from vigia.sources import SourceError
    from vigia.warehouse import open_warehouse

    if spec.kind == "duckdb" and not Path(spec.path).is_file():
        raise SourceError(
            f"source '{spec.conn_id}': DuckDB file {spec.path} does not exist; generate the sample with "
            f"`python -m vigia.sample_data regulation` or point AIRFLOW_CONN_{spec.conn_id.upper()} at "
            "your database")
    df = open_warehouse(spec).query_file("regulation/source_columns.sql")
    df.columns = [c.lower() for c in df.columns]
    return df


def check(spec: ConnectionSpec) -> None:
    """Raise :class:`RegulationContractError` unless the source provides the four contract tables."""
    found = problems(read_columns(spec))
    if found:
        raise RegulationContractError(
            f"source '{spec.conn_id}' ({spec.describe()}) does not match the regulation contract:\n  - "
            + "\n  - ".join(found)
            + "\n(see docs/regulation_source.md; a plan can map its tables with views of these names)")


def has_column(columns: pd.DataFrame, table: str, column: str) -> bool:
    """Whether the source's ``table`` has ``column`` (e.g. the optional ``guias.cid``)."""
    lower = columns.assign(t=columns["table_name"].str.lower(), c=columns["column_name"].str.lower())
    return bool(((lower["t"] == table) & (lower["c"] == column)).any())
