"""Reading landed DATASUS Parquet files into DuckDB as the pandas reader (``vigia.sus.datasus``) sees them.

The Parquet schema of every file is read first; files are grouped by the name and DuckDB type of the
columns used (:func:`file_groups`), and each group is one ``read_parquet([...], union_by_name=true,
filename=true, file_row_number=true)``: the paths travel as list arguments of the relation API, never
inside SQL text. :func:`text_expr` and :func:`number_expr` give, for one column of one group, the SQL of
what ``datasus.read_raw`` + ``normalise`` hold: codes as stripped text (a code stored as a number
zero-padded back to its fixed width, ``datasus.CODE_WIDTHS``), numbers as DOUBLE (a decimal comma
tolerated, NaN as missing). Grouping per type keeps the per-file semantics of the pandas reader (one
file with a numeric code column, another with a text one).
"""

from __future__ import annotations

from vigia.sus import datasus

# what str.strip() removes (ASCII whitespace), for DuckDB's trim(string, characters)
_WS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes (a column name as stored in a Parquet file)."""
    return '"' + str(name).replace('"', '""') + '"'


def _file_columns(con, path: str) -> dict[str, tuple[str, str]]:
    """UPPER(stripped name) -> (name as stored, DuckDB type) of one Parquet file."""
    rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    out: dict[str, tuple[str, str]] = {}
    for name, dtype, *_ in rows:
        out.setdefault(str(name).strip().upper(), (str(name), str(dtype)))
    return out


def strip_expr(text: str) -> str:
    """SQL for ``text`` (a VARCHAR expression) without leading/trailing ASCII whitespace (str.strip()).

    ``trim(x, characters)`` costs ~0.4 us a value (the N_AIH of a national SP month, ~670k values, one
    per row: 0.25 s; a VARCHAR number of SIA, two per row, likewise), so it runs only when x may change:
    a value whose first and last characters are above ' ' (code point > 32, so neither is one of 9..13
    or 32) is returned as it is (0.06 s for the same N_AIH); '' and NULL go through trim.
    """
    return f"CASE WHEN ascii({text}) > 32 AND ascii({text}[-1]) > 32 THEN {text} ELSE trim({text}, {_WS}) END"


def text_expr(col: str, dtype: str, width: int | None) -> str:
    """SQL for the text a CSV export of this column would hold (what datasus reads), stripped."""
    c = quote_identifier(col)
    base = dtype.split("(")[0].upper()
    if base == "VARCHAR":
        return strip_expr(c)
    if base in _INTEGER_TYPES:
        s = f"CAST({c} AS VARCHAR)"
        return f"CASE WHEN {c} >= 0 AND length({s}) < {width} THEN lpad({s}, {width}, '0') ELSE {s} END" \
            if width else s
    if base in _FLOAT_TYPES:
        whole = f"CAST(CAST({c} AS HUGEINT) AS VARCHAR)"
        s = (f"CASE WHEN isnan({c}) THEN NULL WHEN isfinite({c}) AND {c} = trunc({c}) THEN {whole} "
             f"ELSE CAST({c} AS VARCHAR) END")
        if not width:
            return f"CASE WHEN isnan({c}) THEN NULL ELSE CAST({c} AS VARCHAR) END"
        return (f"CASE WHEN isfinite({c}) AND {c} >= 0 AND {c} = trunc({c}) AND length({whole}) < {width} "
                f"THEN lpad({whole}, {width}, '0') ELSE {s} END")
    if base == "BOOLEAN":
        return f"CASE WHEN {c} THEN 'T' WHEN NOT {c} THEN 'F' END"
    if base.startswith("TIMESTAMP"):
        return f"strftime({c}, '%Y%m%d')"
    return strip_expr(f"CAST({c} AS VARCHAR)")


def number_expr(col: str, dtype: str) -> str:
    """SQL for the DOUBLE datasus._number makes of this column (NULL when missing or not a number)."""
    c = quote_identifier(col)
    base = dtype.split("(")[0].upper()
    if base in _INTEGER_TYPES or base in _FLOAT_TYPES or base == "DECIMAL":
        return _nan_to_null(f"CAST({c} AS DOUBLE)")
    if base == "BOOLEAN":
        return "CAST(NULL AS DOUBLE)"
    t = f"replace({strip_expr(f'CAST({c} AS VARCHAR)')}, ',', '.')"
    return _nan_to_null(f"CASE WHEN contains({t}, '_') THEN NULL ELSE TRY_CAST({t} AS DOUBLE) END")


def _nan_to_null(number: str) -> str:
    """NaN as missing, as pandas' ``to_numeric`` + ``isna`` see it. Needs a database without statistics
    propagation (:func:`vigia.sus.ingest_sql._trust_no_float_statistics`, set by every staging): over a
    Parquet column whose min/max leave NaN out, DuckDB folds ``isnan`` to false and the NaN stays a number."""
    return f"(CASE WHEN isnan({number}) THEN NULL ELSE {number} END)"


def local_path(f: datasus.DatasusFile) -> str:
    """The path DuckDB reads for a landed file (a local path, or the object-storage URL)."""
    return str(f.path.path) if f.path.protocol in ("", "file", "local") else str(f.path)


def file_groups(con, system: str, files: list[datasus.DatasusFile]) -> dict[tuple, list[str]]:
    """Files of ``system`` grouped by (column, name as stored, DuckDB type) of the columns read.

    A file without a required column raises :class:`datasus.DatasusFormatError` naming the file, the
    missing columns and the ones it has. An absent optional column is ``(column, None, None)``.
    """
    wanted = datasus.REQUIRED[system] + datasus.OPTIONAL[system]
    groups: dict[tuple, list[str]] = {}
    for f in files:
        path = local_path(f)
        cols = _file_columns(con, path)
        missing = [c for c in datasus.REQUIRED[system] if c not in cols]
        if missing:
            found = list(cols)
            raise datasus.DatasusFormatError(
                f"{f.name}: missing required column(s) {', '.join(missing)}; expected a "
                f"{datasus.DESCRIPTION[system]} file with columns {', '.join(datasus.REQUIRED[system])}"
                + (f" (optional: {', '.join(datasus.OPTIONAL[system])})" if datasus.OPTIONAL[system] else "")
                + f"; found {len(found)} column(s): {', '.join(found[:20])}" + (" ..." if len(found) > 20 else ""))
        key = tuple((c, *cols[c]) if c in cols else (c, None, None) for c in wanted)
        groups.setdefault(key, []).append(path)
    return groups


def register_arquivos(con, files: list[datasus.DatasusFile]) -> None:
    """The ``arquivos`` table: filename (as DuckDB reports it), arquivo (file name), uf, mes_arquivo."""
    # one statement (an executemany costs ~0.3 ms a row)
    con.execute("CREATE OR REPLACE TEMP TABLE arquivos AS SELECT unnest(?::VARCHAR[]) AS filename, "
                "unnest(?::VARCHAR[]) AS arquivo, unnest(?::VARCHAR[]) AS uf, unnest(?::DATE[]) AS mes_arquivo",
                [[local_path(f) for f in files], [f.name for f in files], [f.uf for f in files],
                 [f.processing_month for f in files]])


def read_group(con, paths: list[str]):
    """One group's files as a DuckDB relation with ``filename`` and ``file_row_number``."""
    return con.read_parquet(paths, union_by_name=True, filename=True, file_row_number=True)
