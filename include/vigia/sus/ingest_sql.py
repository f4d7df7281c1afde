"""DuckDB-native ingestion of Parquet DATASUS landings (SIA PA, SIH RD) for one competência.

The pandas path (:mod:`vigia.sus.datasus` ``read_competencia`` + ``code_problems``,
``pipeline.ingest_uf``) loads every row into a DataFrame; at national shape
(tens of millions of SIA rows a month) that is too slow and too big. This module
does the same reading, normalising and checking in DuckDB and streams the rows
to Parquet with ``COPY (SELECT ...) TO ... (FORMAT parquet)``: nothing but
per-file counts comes back to Python.

Split of the work
-----------------
* File selection stays in :mod:`datasus` (:func:`select_landing_files` uses
  ``datasus.discover`` + ``datasus.select_files``; :func:`ingest_competencia`
  re-checks the window with ``parse_name`` + ``select_files``).
* Reading (this module, :func:`register_sources`): the Parquet schema of every
  file is read first; files are grouped by the name and DuckDB type of the
  columns used, and each group is one ``read_parquet([...], union_by_name=true,
  filename=true, file_row_number=true)``. Each source column is turned into
  what ``datasus.read_raw`` + ``normalise`` hold: codes as stripped text, a code
  stored as a number zero-padded back to its fixed width with ``lpad``
  (``datasus.CODE_WIDTHS``), numbers as DOUBLE (a decimal comma tolerated, NaN
  as missing). Grouping per type keeps the per-file semantics of the pandas
  reader (one file with a numeric code column, another with a text one).
* Normalising, the competência window and the problems: one SQL file per
  system, ``include/sql/sus/normalise_sia.sql`` and ``normalise_sih.sql``,
  whose ``problema`` column says in the words of ``datasus.code_problems``
  what is wrong (NULL for a good row).

Passes over the input per system: one ``COPY`` of the good rows (the one that
reads and writes everything), one ``COPY`` of the quarantined rows (reads
everything, writes few rows), and one count per file that reads only the
file name and the competência columns. The per-file bad counts and examples
are read back from the (small) quarantine file.

Only Parquet landings: a .csv or .dbc file raises :class:`datasus.DatasusFormatError`
(use the pandas path for those).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from vigia import sql as sqlfiles
from vigia.sus import datasus
from vigia.sus.cubes import PRODUCTION_COLUMNS

log = logging.getLogger(__name__)

SYSTEMS = ("SIA", "SIH")
NORMALISE_SQL = {"SIA": "sus/normalise_sia.sql", "SIH": "sus/normalise_sih.sql"}
PRODUCTION_TYPES = {
    "competencia": "DATE", "sistema": "VARCHAR", "cnes": "VARCHAR", "procedimento": "VARCHAR",
    "municipio_residencia": "VARCHAR", "idade": "INTEGER", "quantidade": "DOUBLE", "valor": "DOUBLE",
    "n_aih": "VARCHAR",
}
# columns of the quarantine file: the production columns, what locates the row, and the problem
QUARANTINE_COLUMNS = PRODUCTION_COLUMNS + ["municipio_estabelecimento", "mes_processamento", "uf", "arquivo",
                                           "linha", "problema"]
# source columns the SQL reads as numbers (DOUBLE); every other used column is read as text
NUMBER_COLUMNS = {"SIA": ("PA_IDADE", "PA_QTDAPR", "PA_VALAPR"), "SIH": ("IDADE", "VAL_TOT")}

# what str.strip() removes (ASCII whitespace), for DuckDB's trim(string, characters)
_WS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect(memory_limit: str = "4GB", threads: int | None = None):
    """An in-memory DuckDB with the memory limit and thread count of the ingestion."""
    import duckdb

    config = {"memory_limit": memory_limit, "preserve_insertion_order": True}
    if threads:
        config["threads"] = int(threads)
    return duckdb.connect(config=config)


# ----------------------------------------------------------------------------- file selection


def select_landing_files(landing, competencia: date, systems: Iterable[str] = SYSTEMS,
                         ufs: Iterable[str] | None = None) -> dict[str, list[Path]]:
    """The files of each system that can hold ``competencia`` (SIA: processed up to 3 months later).

    The same choice as ``datasus.read_competencia``: ``datasus.discover`` + ``datasus.select_files``
    over the processing months ``competencia .. competencia + MAX_DELAY_MONTHS[system]``.
    """
    target = datasus._as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    wanted_ufs = None if ufs is None else {u.upper() for u in ufs}
    out: dict[str, list[Path]] = {}
    for system in systems:
        months = {datasus._add_months(target, k) for k in range(datasus.MAX_DELAY_MONTHS[system] + 1)}
        found = datasus.discover(landing, system).files
        chosen = datasus.select_files(
            f for f in found if f.processing_month in months and (wanted_ufs is None or f.uf in wanted_ufs))
        out[system] = [Path(f.path.path) if f.path.protocol in ("", "file", "local") else f.path for f in chosen]
    return out


def _window_files(system: str, files: Iterable, target: date) -> list[datasus.DatasusFile]:
    """Parsed files of ``system`` whose processing month can hold ``target``; Parquet only."""
    delay = datasus.MAX_DELAY_MONTHS[system]
    months = {datasus._add_months(target, k) for k in range(delay + 1)}
    parsed = []
    for path in files:
        f = datasus.parse_name(path, system)
        if f is None:
            raise datasus.DatasusFormatError(
                f"{Path(str(path)).name}: not a DATASUS {system} file name "
                f"({datasus.PREFIX[system]}<UF><AA><MM>.parquet)")
        if f.processing_month not in months:
            log.warning("%s: processing month %s cannot hold competência %s; not read", f.name,
                        f.processing_month.strftime("%Y-%m"), target.strftime("%Y-%m"))
            continue
        parsed.append(f)
    chosen = datasus.select_files(parsed)
    other = [f.name for f in chosen if f.format != "parquet"]
    if other:
        raise datasus.DatasusFormatError(
            f"{', '.join(other)}: the SQL ingestion reads Parquet landings only; "
            "use datasus.read_competencia for .csv and .dbc files")
    return chosen


# ----------------------------------------------------------------------------- reading


def _file_columns(con, path: str) -> dict[str, tuple[str, str]]:
    """UPPER(stripped name) -> (name as stored, DuckDB type) of one Parquet file."""
    rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    out: dict[str, tuple[str, str]] = {}
    for name, dtype, *_ in rows:
        out.setdefault(str(name).strip().upper(), (str(name), str(dtype)))
    return out


def _text_expr(col: str, dtype: str, width: int | None) -> str:
    """SQL for the text a CSV export of this column would hold (what datasus reads), stripped."""
    c = _q(col)
    base = dtype.split("(")[0].upper()
    if base == "VARCHAR":
        return f"trim({c}, {_WS})"
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
    return f"trim(CAST({c} AS VARCHAR), {_WS})"


def _number_expr(col: str, dtype: str) -> str:
    """SQL for the DOUBLE datasus._number makes of this column (NULL when missing or not a number)."""
    c = _q(col)
    base = dtype.split("(")[0].upper()
    if base in _INTEGER_TYPES or base in _FLOAT_TYPES or base == "DECIMAL":
        return f"nullif(CAST({c} AS DOUBLE), 'NaN'::DOUBLE)"
    if base == "BOOLEAN":
        return "CAST(NULL AS DOUBLE)"
    t = f"replace(trim(CAST({c} AS VARCHAR), {_WS}), ',', '.')"
    return f"nullif(CASE WHEN contains({t}, '_') THEN NULL ELSE TRY_CAST({t} AS DOUBLE) END, 'NaN'::DOUBLE)"


def register_sources(con, system: str, files: list[datasus.DatasusFile]) -> None:
    """Create the ``fonte`` view and the ``arquivos`` table the normalisation SQL of ``system`` reads."""
    wanted = datasus.REQUIRED[system] + datasus.OPTIONAL[system]
    numbers = NUMBER_COLUMNS[system]
    groups: dict[tuple, list[str]] = {}
    for f in files:
        path = str(f.path.path) if f.path.protocol in ("", "file", "local") else str(f.path)
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

    con.execute("CREATE OR REPLACE TEMP TABLE arquivos "
                "(filename VARCHAR, arquivo VARCHAR, uf VARCHAR, mes_arquivo DATE)")
    rows = [(str(f.path.path) if f.path.protocol in ("", "file", "local") else str(f.path), f.name, f.uf,
             f.processing_month) for f in files]
    if rows:
        con.executemany("INSERT INTO arquivos VALUES (?, ?, ?, ?)", rows)

    selects = []
    for key, paths in groups.items():
        exprs = ["filename", "file_row_number AS linha"]
        for column, name, dtype in key:
            if name is None:
                expr = "CAST(NULL AS DOUBLE)" if column in numbers else "CAST(NULL AS VARCHAR)"
            elif column in numbers:
                expr = _number_expr(name, dtype)
            else:
                expr = _text_expr(name, dtype, datasus.CODE_WIDTHS.get(column))
            exprs.append(f"{expr} AS {column}")
        if system == "SIH":
            has = dict((c, n) for c, n, _ in key)["COD_IDADE"] is not None
            exprs.append(f"{'true' if has else 'false'} AS tem_cod_idade")
        source = (f"read_parquet([{', '.join(_lit(p) for p in paths)}], union_by_name=true, filename=true, "
                  "file_row_number=true)")
        selects.append(f"SELECT {', '.join(exprs)} FROM {source}")
    if not selects:  # no file: an empty source with the same columns
        exprs = ["CAST(NULL AS VARCHAR) AS filename", "CAST(NULL AS BIGINT) AS linha"]
        exprs += [f"CAST(NULL AS {'DOUBLE' if c in numbers else 'VARCHAR'}) AS {c}" for c in wanted]
        if system == "SIH":
            exprs.append("false AS tem_cod_idade")
        selects.append(f"SELECT {', '.join(exprs)} WHERE false")
    con.execute("CREATE OR REPLACE TEMP VIEW fonte AS\n" + "\nUNION ALL\n".join(selects))


def normalise_sql(system: str) -> str:
    """The normalisation query of ``system`` for DuckDB ($competencia, $atraso)."""
    system = str(system).upper()
    if system not in NORMALISE_SQL:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(NORMALISE_SQL)}")
    return sqlfiles.to_driver(sqlfiles.load(NORMALISE_SQL[system]), "duckdb")


def _params(system: str, target: date) -> dict:
    return {"competencia": target, "atraso": datasus.MAX_DELAY_MONTHS[system]}


def normalised(con, system: str, landing_files: Iterable, competencia: date):
    """The normalised rows + ``problema`` of one system and competência as a DuckDB relation (lazy).

    For inspection and tests; :func:`ingest_competencia` streams them to Parquet instead.
    """
    system = str(system).upper()
    target = datasus._as_month(competencia)
    register_sources(con, system, _window_files(system, landing_files, target))
    return con.sql(normalise_sql(system), params=_params(system, target))


# ----------------------------------------------------------------------------- ingestion


def ingest_competencia(landing_files: Mapping[str, list[Path]], competencia: date, out_dir: Path, con=None,
                       memory_limit: str = "4GB", threads: int | None = None) -> dict:
    """Normalise SIA and SIH Parquet landings of one competência in DuckDB; stage good and bad rows.

    ``landing_files``: system -> files (e.g. :func:`select_landing_files`); files whose processing
    month cannot hold the competência are skipped with a warning. Writes, per system present:

    * ``out_dir/producao_<system>.parquet``: the good rows, exactly ``cubes.PRODUCTION_COLUMNS``;
    * ``out_dir/quarantine_<system>.parquet``: the bad rows, ``QUARANTINE_COLUMNS``
      (``problema`` says what is wrong, as ``datasus.code_problems`` does).

    Returns ``{"competencia", "systems": {system: {rows, quarantined, files, producao, quarantine,
    seconds}}, "files": [...]}`` where ``files`` holds one dict per landed file with rows of the
    competência, the shape ``pipeline.ingest_uf`` records: uf, sistema, arquivo, rows, bad,
    bad_share, examples (the first 3 problems of the file, joined with '; ').
    ``con``: an open DuckDB connection to use (its settings are kept); otherwise one is opened with
    ``memory_limit`` and ``threads`` and closed at the end.
    """
    target = datasus._as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own = con is None
    if own:
        con = connect(memory_limit, threads)
    summary: list[dict] = []
    systems: dict[str, dict] = {}
    try:
        for system, paths in landing_files.items():
            system = str(system).upper()
            if system not in NORMALISE_SQL:
                raise ValueError(f"unknown system {system!r}; expected one of {', '.join(NORMALISE_SQL)}")
            started = time.perf_counter()
            files = _window_files(system, paths, target)
            register_sources(con, system, files)
            norm = normalise_sql(system)
            params = _params(system, target)
            good_path, bad_path = out_dir / f"producao_{system}.parquet", out_dir / f"quarantine_{system}.parquet"

            typed = ", ".join(f"CAST({c} AS {PRODUCTION_TYPES[c]}) AS {c}" for c in PRODUCTION_COLUMNS)
            good = con.execute(
                f"COPY (SELECT {typed} FROM ({norm}) WHERE problema IS NULL) TO {_lit(good_path)} "
                "(FORMAT parquet)", params).fetchone()[0]
            bad = con.execute(
                f"COPY (SELECT {', '.join(QUARANTINE_COLUMNS)} FROM ({norm}) WHERE problema IS NOT NULL "
                f"ORDER BY arquivo, linha) TO {_lit(bad_path)} (FORMAT parquet)", params).fetchone()[0]
            # rows per file: only the file name and the competência columns are read
            counts = con.execute(f"SELECT uf, arquivo, count(*) FROM ({norm}) GROUP BY ALL", params).fetchall()
            bads = {a: (n, ex) for a, n, ex in con.execute(
                "SELECT arquivo, count(*), list(problema ORDER BY linha)[1:3] "
                f"FROM read_parquet({_lit(bad_path)}) GROUP BY arquivo").fetchall()}
            for uf, arquivo, rows in sorted(counts, key=lambda r: r[1]):
                n_bad, examples = bads.get(arquivo, (0, []))
                summary.append({"uf": uf, "sistema": system, "arquivo": arquivo, "rows": int(rows),
                                "bad": int(n_bad), "bad_share": float(n_bad / rows) if rows else 0.0,
                                "examples": "; ".join(examples)})
            systems[system] = {"rows": int(good), "quarantined": int(bad), "files": len(files),
                               "producao": str(good_path), "quarantine": str(bad_path),
                               "seconds": round(time.perf_counter() - started, 3)}
            log.info("%s competência %s: %d good, %d quarantined row(s) from %d file(s) in %.1fs", system,
                     target.strftime("%Y-%m"), good, bad, len(files), systems[system]["seconds"])
    finally:
        if own:
            con.close()
    return {"competencia": target, "systems": systems, "files": summary}


def production_files(result: dict) -> list[Path]:
    """The ``producao_<system>.parquet`` files of an :func:`ingest_competencia` result (for cubes.build_cube)."""
    return [Path(s["producao"]) for s in result["systems"].values()]


__all__ = ["connect", "ingest_competencia", "normalise_sql", "normalised", "production_files", "register_sources",
           "select_landing_files", "NORMALISE_SQL", "PRODUCTION_TYPES", "QUARANTINE_COLUMNS"]
