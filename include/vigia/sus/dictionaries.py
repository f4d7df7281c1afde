"""Dictionaries of the distinct raw values of landed DATASUS files, for the SQL ingestion.

A month of SIA or SIH holds millions of rows but few distinct codes (thousands of CNES, 5,570
municipalities, hundreds of procedures, ~100 ages, a handful of competências per file). The SQL
ingestion (:mod:`vigia.sus.ingest_sia`, :mod:`vigia.sus.ingest_sih`) therefore normalises and checks
each distinct value once, in a small table per column (a dictionary: raw value as stored -> text,
problem), and the one pass over the rows joins each row to its dictionaries.

* :func:`register_bruto`: the temporary view ``bruto`` of one group of files (same stored types): arquivo_id
  (DuckDB's ``file_index``: an integer is a cheaper join key than the file name), filename, linha (the row's
  number among its file's data rows, 1 = the first, as the pandas readers number them),
  the raw columns as stored under their aliases, numbers as DOUBLE and per-row texts.
* :func:`register_codes`: one dictionary per fixed-width code column
  (``include/sql/sus/dicionario_codigo.sql``).
* :func:`register_dictionary`: any other dictionary, from the DISTINCT of some raw columns and a
  system's SQL file (competência, age).

Both systems stage into the temporary view ``passagem`` (columns :data:`PASSAGEM`): over the table
``passagem_linhas`` their stage SQL fills (:func:`create_passagem`), or, for SIH files read as one
group, over the stage SQL itself (:func:`stage_view`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vigia import sql as sqlfiles
from vigia.sus import datasus
from vigia.sus.parquet_sources import number_expr, quote_identifier, read_group, text_expr

# ruim: problema IS NOT NULL, known without building the text (the filter of the good rows)
PASSAGEM = ("arquivo VARCHAR, uf VARCHAR, competencia DATE, sistema VARCHAR, cnes VARCHAR, procedimento VARCHAR, "
            "municipio_residencia VARCHAR, idade INTEGER, linha BIGINT, problema VARCHAR, ruim BOOLEAN, "
            "linhas BIGINT, quantidade DOUBLE, valor DOUBLE, n_aih VARCHAR, municipio_estabelecimento VARCHAR, "
            "mes_processamento DATE")
CODE_SQL = "sus/dicionario_codigo.sql"


def create_passagem(con) -> None:
    """An empty staging table ``passagem_linhas`` and the view ``passagem`` over it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE passagem_linhas ({PASSAGEM})")
    con.execute("CREATE OR REPLACE TEMP VIEW passagem AS SELECT * FROM passagem_linhas")


def stage_view(con, stage_sql: str) -> None:
    """``passagem`` as the view of ``stage_sql`` (a query with no bind variable) over the current ``bruto``
    and dictionaries: nothing is read until it is, and each query over it reads the landed files again.
    For a stage that only joins (SIH), that is cheaper than a table: the good rows go straight from the
    files to their Parquet file, and only the bad ones and the per-file counts take another pass."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW passagem AS {stage_sql}")


def drop_passagem(con) -> None:
    """Drop ``passagem`` and what it reads that only it reads (``passagem_linhas``)."""
    con.execute("DROP VIEW IF EXISTS passagem")
    con.execute("DROP TABLE IF EXISTS passagem_linhas")


def register_bruto(con, key: tuple, paths: list[str], raw: Mapping[str, str], numbers: Mapping[str, str],
                   texts: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """The temporary view ``bruto`` of one group of files (``key``: parquet_sources.file_groups' key).

    ``raw``: source column -> alias, kept as stored (an absent optional column is NULL text);
    ``numbers``: source column -> alias, as DOUBLE (``number_expr``); ``texts``: source column -> alias,
    as stripped text per row (``text_expr``; for columns with too many distinct values for a
    dictionary). Returns source column -> (alias, DuckDB type as stored) of the ``raw`` columns.
    """
    texts = texts or {}
    exprs, types = ["file_index AS arquivo_id", "filename", "file_row_number + 1 AS linha"], {}
    for column, name, dtype in key:
        if column in raw:
            alias = raw[column]
            exprs.append(f"CAST(NULL AS VARCHAR) AS {alias}" if name is None else f"{quote_identifier(name)} AS {alias}")
            types[column] = (alias, "VARCHAR" if name is None else dtype)
        elif column in numbers:
            exprs.append(f"{number_expr(name, dtype)} AS {numbers[column]}")
        elif column in texts:
            expr = "CAST(NULL AS VARCHAR)" if name is None else text_expr(name, dtype, datasus.CODE_WIDTHS.get(column))
            exprs.append(f"{expr} AS {texts[column]}")
    # register: a temporary view, the connection's own (two systems staged at once on two cursors of one
    # database each have their bruto), where relation.create_view makes one view of the database for all
    con.register("bruto", read_group(con, paths).project(", ".join(exprs)))
    return types


def text_of(types: Mapping[str, tuple[str, str]], column: str) -> str:
    """SQL for the stripped text of a raw column of ``bruto`` (zero-padded to its width when numeric)."""
    alias, dtype = types[column]
    return text_expr(alias, dtype, datasus.CODE_WIDTHS.get(column))


def number_of(types: Mapping[str, tuple[str, str]], column: str) -> str:
    """SQL for the DOUBLE of a raw column of ``bruto`` (NULL when missing or not a number)."""
    alias, dtype = types[column]
    return number_expr(alias, dtype)


def register_codes(con, types: Mapping[str, tuple[str, str]], codes: Sequence[tuple[str, str, str, int]],
                   chave: Mapping[str, int] | None = None) -> None:
    """One dictionary per code column: ``codes`` = (table, source column, name in messages, digits).

    A dictionary's ``chave`` keeps the first ``chave[table]`` characters of the text (e.g. the
    procedure cut to the cube's grain), the whole code for a table not in ``chave``.
    """
    code_sql = sqlfiles.to_driver(sqlfiles.load(CODE_SQL), "duckdb")
    chave = chave or {}
    for table, column, label, digits in codes:
        alias = types[column][0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE valores AS SELECT {alias} AS bruto, "
                    f"{text_of(types, column)} AS texto FROM (SELECT DISTINCT {alias} FROM bruto)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {code_sql}",
                    {"coluna": label, "digitos": digits, "comprimento": chave.get(table, digits)})
    con.execute("DROP TABLE IF EXISTS valores")


def register_dictionary(con, table: str, distinct: Sequence[str], derived: Mapping[str, str], sql_file: str,
                        params: Mapping | None = None) -> None:
    """``table`` = ``sql_file`` over ``valores``: the DISTINCT ``distinct`` columns of ``bruto`` (with
    ``filename`` when arquivo_id is one of them) plus the ``derived`` alias -> SQL expressions on them."""
    inner = ", ".join(distinct)
    if "arquivo_id" in distinct:
        inner = f"{inner}, any_value(filename) AS filename"
    extra = "".join(f", {expr} AS {alias}" for alias, expr in derived.items())
    outer = ", ".join(distinct) + (", filename" if "arquivo_id" in distinct else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE valores AS SELECT {outer}{extra} "
                f"FROM (SELECT {inner} FROM bruto GROUP BY {', '.join(distinct)})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                + sqlfiles.to_driver(sqlfiles.load(sql_file), "duckdb"), dict(params or {}))
    con.execute("DROP TABLE valores")


__all__ = ["CODE_SQL", "PASSAGEM", "create_passagem", "drop_passagem", "number_of", "register_bruto",
           "register_codes", "register_dictionary", "stage_view", "text_of"]
