"""DuckDB-native ingestion of Parquet DATASUS landings (SIA PA, SIH RD) for one competência.

The pandas path (:mod:`vigia.sus.datasus` ``read_competencia`` + ``code_problems``,
:mod:`vigia.sus.ingest_pandas`) loads every row into a DataFrame; at national shape
(tens of millions of SIA rows a month) that is too slow and too big. This module
does the same reading, normalising and checking in DuckDB, in one pass over the
landed files per system, and nothing but per-file counts comes back to Python.

Split of the work
-----------------
* File selection stays in :mod:`datasus` (:func:`select_landing_files` uses
  ``datasus.discover`` + ``datasus.select_files``; :func:`ingest_competencia`
  re-checks the window with ``parse_name`` + ``select_files``).
* Reading: :mod:`vigia.sus.parquet_sources` groups the files by the stored
  type of each column and gives the SQL that turns a column into what
  ``datasus.read_raw`` + ``normalise`` hold.
* SIA (tens of millions of rows a month): :mod:`vigia.sus.ingest_sia` checks
  each distinct value of each code column once (dictionaries), then one pass
  over the rows joins them to the dictionaries and sums the good rows to the
  grain the cube needs (file, competência, CNES, procedure cut to the longest
  target prefix, municipality of residence, age band: :func:`age_bands`,
  :func:`prefix_length`); every bad row stays one row with its problem.
* SIH (one AIH per row, a few million a month): :mod:`vigia.sus.ingest_sih`
  checks each distinct value once too, and keeps the rows one each (the cube
  counts AIHs).

Either way the problems are in the words of ``datasus.code_problems`` and the
result is the temporary view ``passagem`` (a ``ruim`` flag tells the bad rows
without building their text), from which the staged production, the quarantine
(the bad rows, kept in a small table ``ruins``), the per-file counts and the
counts per broken rule are all read. SIA's view is over the table of its sums
(small next to the input: the sums are the pass's work, done once); SIH's, when
its files are one group, over the landed files themselves (nothing is summed:
the good rows stream from the files to their Parquet file, and the bad rows and
the per-file counts take one more pass each, cheaper than holding every AIH in a
table first). The file paths reach DuckDB as list arguments of the relation API
(``con.read_parquet(paths, ...)``), never inside SQL text.

The two systems are staged at the same time (:data:`PARALLEL_SYSTEMS`), each on
its own cursor of one DuckDB (its own temporary tables): a landed file is read by
one thread per Parquet row group, and a state's SIH file, or a SIA file of one or
two row groups, would otherwise leave a core idle for the whole pass.

Only Parquet landings: a .csv or .dbc file raises :class:`datasus.DatasusFormatError`
(use the pandas path for those).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from vigia.sus import datasus, ingest_sia, ingest_sih
from vigia.sus.cubes import PRODUCTION_COLUMNS
from vigia.sus.dictionaries import drop_passagem

log = logging.getLogger(__name__)

SYSTEMS = ("SIA", "SIH")
# stage the systems of one call at the same time, each on its own cursor (False: one after the other).
# The 5M-row benchmark (5 states, one ingest_competencia each, 2 cores): 3.9 s -> 3.1 s (medians of 7)
PARALLEL_SYSTEMS = True
PRODUCTION_TYPES = {
    "competencia": "DATE", "sistema": "VARCHAR", "cnes": "VARCHAR", "procedimento": "VARCHAR",
    "municipio_residencia": "VARCHAR", "idade": "INTEGER", "quantidade": "DOUBLE", "valor": "DOUBLE",
    "n_aih": "VARCHAR",
}
# columns of the quarantine file: the production columns, what locates the row, and the problem
QUARANTINE_COLUMNS = PRODUCTION_COLUMNS + ["municipio_estabelecimento", "mes_processamento", "uf", "arquivo",
                                           "linha", "problema"]


def connect(memory_limit: str = "4GB", threads: int | None = None):
    """An in-memory DuckDB with the memory limit and thread count of the ingestion."""
    import duckdb

    config = {"memory_limit": memory_limit, "preserve_insertion_order": True}
    if threads:
        config["threads"] = int(threads)
    return duckdb.connect(config=config)


def _trust_no_float_statistics(con) -> None:
    """Turn statistics propagation off for ``con``'s database (a global option: its cursors too), before
    any staging on it, whoever opened it. A Parquet writer leaves NaN out of a float column's min/max (as
    the format asks), and DuckDB then folds ``isnan(x)`` / ``nullif(x, 'NaN')`` to "never", so a NaN
    quantity or value passed the checks as a number and its row was staged as good. The staging reads
    every row anyway (no row group to skip): no measurable cost at 5M rows."""
    con.execute("SET disabled_optimizers = 'statistics_propagation'")


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


def _stage(con, system: str, files: list[datasus.DatasusFile], target: date, targets=None,
           linha_a_linha: bool = False, grain: tuple | None = None) -> None:
    """Stage ``files`` into the temporary view ``passagem`` (see the module doc).

    SIA: :func:`ingest_sia.stage` (good rows summed to the cube's grain unless ``linha_a_linha``);
    SIH: :func:`ingest_sih.stage` (one AIH per row: the cube counts them). ``grain``: :func:`_grain` of
    ``targets`` when the caller has it already.
    """
    if system == "SIA":
        prefix, bands = grain or _grain(targets)
        ingest_sia.stage(con, files, target, prefix, list(bands), linha_a_linha=linha_a_linha)
    elif system == "SIH":
        ingest_sih.stage(con, files, target)
    else:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")


def normalised(con, system: str, landing_files: Iterable, competencia: date):
    """The normalised rows + ``problema`` of one system and competência, one per landed row (a DuckDB
    relation over the temporary view ``passagem``, valid until the next staging on ``con``). For
    inspection and tests; :func:`ingest_competencia` stages the same rows summed to the cube's grain instead.
    """
    system = str(system).upper()
    target = datasus._as_month(competencia)
    _trust_no_float_statistics(con)
    _stage(con, system, _window_files(system, landing_files, target), target, linha_a_linha=True)
    return con.table("passagem").project(", ".join(QUARANTINE_COLUMNS))


# ----------------------------------------------------------------------------- ingestion


def age_bands(targets=None, oldest: int = 150) -> list[tuple[int, int]]:
    """(idade, faixa) for ages 0..``oldest``: the age a staged aggregated row keeps.

    The bounds of the targets split ages into bands: b_1 < ... < b_k are every ``idade_min`` and
    ``idade_max + 1``. faixa = the largest b_i <= idade, or b_1 - 1 below b_1 (0 for every age when
    no target has an age range). A target's test ``idade >= idade_min AND idade <= idade_max`` gives
    the same answer on faixa as on idade, because both bounds are band starts.
    """
    from vigia.sus import targets as targets_mod

    codes = targets_mod.expand_codes(targets_mod.load() if targets is None else targets)
    bounds = sorted({int(v) for v in codes["idade_min"].dropna()} | {int(v) + 1 for v in codes["idade_max"].dropna()})
    out = []
    for age in range(oldest + 1):
        if not bounds:
            out.append((age, 0))
        elif age < bounds[0]:
            out.append((age, bounds[0] - 1))
        else:
            out.append((age, max(b for b in bounds if b <= age)))
    return out


def prefix_length(targets=None) -> int:
    """The longest SIGTAP prefix of the targets (digits of procedimento the cube needs; 10 if none)."""
    from vigia.sus import targets as targets_mod

    codes = targets_mod.expand_codes(targets_mod.load() if targets is None else targets)
    return int(codes["comprimento"].max()) if len(codes) else 10


def _grain(targets=None) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(:func:`prefix_length`, :func:`age_bands`) of ``targets``. The shipped table's (``targets`` None)
    are worked out once per process, while ``targets.DEFAULT_PATH`` keeps its size and modification
    time: each UF's ingestion would otherwise read and expand the CSV twice (~25 ms)."""
    if targets is not None:
        return prefix_length(targets), tuple(age_bands(targets))
    from vigia.sus import targets as targets_mod

    stat = Path(targets_mod.DEFAULT_PATH).stat()
    return _default_grain(str(targets_mod.DEFAULT_PATH), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _default_grain(path: str, mtime_ns: int, size: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    from vigia.sus import targets as targets_mod

    table = targets_mod.load(path)
    return prefix_length(table), tuple(age_bands(table))


def rule_of(message: str) -> str:
    """The rule a problem message breaks: its first word (the column it names), e.g. ``municipio_residencia``."""
    return message.split(" ", 1)[0]


def format_rules(counts: Mapping[str, int]) -> str:
    """``rule: n; rule: n`` sorted by rule (the per-file ``bad_by_rule`` text; '' when no bad row)."""
    return "; ".join(f"{rule}: {n}" for rule, n in sorted(counts.items()))


def ingest_competencia(landing_files: Mapping[str, list[Path]], competencia: date, out_dir: Path, con=None,
                       memory_limit: str = "4GB", threads: int | None = None, targets=None) -> dict:
    """Normalise, check and stage SIA and SIH Parquet landings of one competência in one pass each.

    ``landing_files``: system -> files (e.g. :func:`select_landing_files`); files whose processing
    month cannot hold the competência are skipped with a warning. Per system, :func:`_stage` reads
    the files' rows once into a temporary table (good SIA rows summed to the grain the cube needs,
    SIH and bad rows one each), from which it writes, per system present:

    * ``out_dir/producao_<system>.parquet``: the good rows, ``cubes.PRODUCTION_COLUMNS`` + ``linhas``
      (landed rows summed into the row; SIA ``procedimento`` cut to :func:`prefix_length` digits
      and ``idade`` to its band of :func:`age_bands`, which leave the cube unchanged);
    * ``out_dir/quarantine_<system>.parquet``: every bad row, ``QUARANTINE_COLUMNS``
      (``problema`` says what is wrong, as ``datasus.code_problems`` does).

    Returns ``{"competencia", "systems": {system: {rows, staged, quarantined, files, producao,
    quarantine, seconds}}, "files": [...]}``: ``rows`` counts good landed rows, ``staged`` the rows of
    producao; ``files`` holds one dict per landed file with rows of the competência, the shape
    ``pipeline.ingest_uf`` records: uf, sistema, arquivo, rows, bad, bad_share, examples (the first 3
    problems of the file, joined with '; ') and bad_by_rule (:func:`format_rules`).
    ``con``: an open DuckDB connection to use (its settings are kept, but for statistics propagation,
    turned off: :func:`_trust_no_float_statistics`); otherwise one is opened with
    ``memory_limit`` and ``threads`` and closed at the end. Each system is staged on a cursor of it, both
    at once (:data:`PARALLEL_SYSTEMS`). ``targets``: the targets table the staging grain follows (default:
    ``targets.load()``); a cube of other targets needs a new staging.
    """
    target = datasus._as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for system, paths in landing_files.items():
        system = str(system).upper()
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")
        jobs.append((system, paths))
    grain = _grain(targets) if any(system == "SIA" for system, _ in jobs) else None
    own = con is None
    if own:
        con = connect(memory_limit, threads)
    _trust_no_float_statistics(con)
    # one cursor per system: a connection of its own to the same database (its temporary tables and views
    # are its own, gone when it closes), which may run in another thread; opened here, in this thread
    cursors = []
    try:
        cursors = [con.cursor() for _ in jobs]
        calls = [(cur, system, paths, target, out_dir, grain) for cur, (system, paths) in zip(cursors, jobs)]
        if PARALLEL_SYSTEMS and len(jobs) > 1 and len({system for system, _ in jobs}) == len(jobs):
            with ThreadPoolExecutor(len(jobs)) as pool:
                futures = [pool.submit(_ingest_system, *call) for call in calls]
                done = [f.result() for f in futures]
        else:
            done = [_ingest_system(*call) for call in calls]
    finally:
        for cur in cursors:
            cur.close()
        if own:
            con.close()
    return {"competencia": target, "systems": {system: info for (system, _), (info, _) in zip(jobs, done)},
            "files": [row for _, rows in done for row in rows]}


def _ingest_system(con, system: str, paths, target: date, out_dir: Path, grain) -> tuple[dict, list[dict]]:
    """Stage one system (:func:`_stage`) and write its ``producao`` and ``quarantine`` files; returns
    (the ``systems`` entry of :func:`ingest_competencia`, its ``files`` rows)."""
    started = time.perf_counter()
    files = _window_files(system, paths, target)
    _stage(con, system, files, target, grain=grain)  # SIA: the one pass over the landed files; SIH: the view

    good_path, bad_path = out_dir / f"producao_{system}.parquet", out_dir / f"quarantine_{system}.parquet"
    typed = ", ".join(f"CAST({c} AS {PRODUCTION_TYPES[c]}) AS {c}" for c in PRODUCTION_COLUMNS)
    con.table("passagem").filter("NOT ruim").project(f"{typed}, CAST(linhas AS BIGINT) AS linhas"
                                                     ).write_parquet(str(good_path))
    # the bad rows, few, in a table: the quarantine, the examples and the counts per rule read them there
    con.execute(f"CREATE OR REPLACE TEMP TABLE ruins AS SELECT {', '.join(QUARANTINE_COLUMNS)}, linhas "
                "FROM passagem WHERE ruim")
    con.table("ruins").project(", ".join(QUARANTINE_COLUMNS)).order("arquivo, linha").write_parquet(str(bad_path))
    # landed rows and staged rows per file, good and bad alike (one more pass for SIH: no text is built);
    # the bad ones' share, examples and rules come from ruins
    per_file = con.execute("SELECT uf, arquivo, sum(linhas), count(*) FROM passagem "
                           "GROUP BY uf, arquivo ORDER BY arquivo").fetchall()
    bad_files = {arquivo: (int(n_bad), int(n), examples) for arquivo, n_bad, n, examples in con.execute(
        "SELECT arquivo, sum(linhas), count(*), list(problema ORDER BY linha)[1:3] FROM ruins GROUP BY arquivo"
    ).fetchall()}
    rules: dict[str, dict[str, int]] = {}
    for arquivo, rule, n in con.execute(
            "SELECT arquivo, split_part(msg, ' ', 1) AS regra, count(*) FROM ("
            "SELECT arquivo, unnest(string_split(problema, '; ')) AS msg FROM ruins) GROUP BY ALL").fetchall():
        rules.setdefault(arquivo, {})[rule] = int(n)
    con.execute("DROP TABLE ruins")
    drop_passagem(con)
    summary = []
    for uf, arquivo, rows, _ in per_file:
        n_bad, _, examples = bad_files.get(arquivo, (0, 0, []))
        summary.append({"uf": uf, "sistema": system, "arquivo": arquivo, "rows": int(rows),
                        "bad": n_bad, "bad_share": float(n_bad / rows) if rows else 0.0,
                        "examples": "; ".join(examples), "bad_by_rule": format_rules(rules.get(arquivo, {}))})
    quarantined = sum(n for _, n, _ in bad_files.values())
    totals = (sum(int(r[2]) for r in per_file) - sum(n_bad for n_bad, _, _ in bad_files.values()),  # good rows
              sum(int(r[3]) for r in per_file) - quarantined, quarantined)  # staged rows, bad rows
    info = {"rows": int(totals[0]), "staged": int(totals[1]), "quarantined": int(totals[2]),
            "files": len(files), "producao": str(good_path), "quarantine": str(bad_path),
            "seconds": round(time.perf_counter() - started, 3)}
    log.info("%s competência %s: %d good row(s) staged as %d, %d quarantined, from %d file(s) in %.1fs",
             system, target.strftime("%Y-%m"), totals[0], totals[1], totals[2], len(files), info["seconds"])
    return info, summary


def production_files(result: dict) -> list[Path]:
    """The ``producao_<system>.parquet`` files of an :func:`ingest_competencia` result (for cubes.build_cube)."""
    return [Path(s["producao"]) for s in result["systems"].values()]


__all__ = ["age_bands", "connect", "format_rules", "ingest_competencia", "normalised",
           "prefix_length", "production_files", "rule_of", "select_landing_files", "PRODUCTION_TYPES",
           "QUARANTINE_COLUMNS"]
