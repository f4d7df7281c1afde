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
result lands in the temporary table ``passagem`` (small next to the input), from
which the staged production, the quarantine, the per-file counts and the counts
per broken rule are all read. The rows of the landed files are read once, and
the file paths reach DuckDB as list arguments of the relation API
(``con.read_parquet(paths, ...)``), never inside SQL text.

Only Parquet landings: a .csv or .dbc file raises :class:`datasus.DatasusFormatError`
(use the pandas path for those).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from vigia.sus import datasus, ingest_sia, ingest_sih
from vigia.sus.cubes import PRODUCTION_COLUMNS

log = logging.getLogger(__name__)

SYSTEMS = ("SIA", "SIH")
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
           linha_a_linha: bool = False) -> None:
    """Fill the temporary table ``passagem`` from ``files`` in one pass over their rows.

    SIA: :func:`ingest_sia.stage` (good rows summed to the cube's grain unless ``linha_a_linha``);
    SIH: :func:`ingest_sih.stage` (one AIH per row: the cube counts them).
    """
    if system == "SIA":
        ingest_sia.stage(con, files, target, prefix_length(targets), age_bands(targets), linha_a_linha=linha_a_linha)
    elif system == "SIH":
        ingest_sih.stage(con, files, target)
    else:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")


def normalised(con, system: str, landing_files: Iterable, competencia: date):
    """The normalised rows + ``problema`` of one system and competência, one per landed row (a DuckDB
    relation over the temporary table ``passagem``). For inspection and tests; :func:`ingest_competencia`
    stages the same rows summed to the cube's grain instead.
    """
    system = str(system).upper()
    target = datasus._as_month(competencia)
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
    ``con``: an open DuckDB connection to use (its settings are kept); otherwise one is opened with
    ``memory_limit`` and ``threads`` and closed at the end. ``targets``: the targets table the staging
    grain follows (default: ``targets.load()``); a cube of other targets needs a new staging.
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
            if system not in SYSTEMS:
                raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")
            started = time.perf_counter()
            files = _window_files(system, paths, target)
            _stage(con, system, files, target, targets)  # the one pass over the landed files

            good_path, bad_path = out_dir / f"producao_{system}.parquet", out_dir / f"quarantine_{system}.parquet"
            typed = ", ".join(f"CAST({c} AS {PRODUCTION_TYPES[c]}) AS {c}" for c in PRODUCTION_COLUMNS)
            good = con.table("passagem").filter("problema IS NULL").project(
                f"{typed}, CAST(linhas AS BIGINT) AS linhas")
            good.write_parquet(str(good_path))
            bad = con.table("passagem").filter("problema IS NOT NULL").project(
                ", ".join(QUARANTINE_COLUMNS)).order("arquivo, linha")
            bad.write_parquet(str(bad_path))

            per_file = con.execute(
                "SELECT uf, arquivo, sum(linhas), coalesce(sum(linhas) FILTER (WHERE problema IS NOT NULL), 0), "
                "coalesce(list(problema ORDER BY linha) FILTER (WHERE problema IS NOT NULL), [])[1:3] "
                "FROM passagem GROUP BY uf, arquivo ORDER BY arquivo").fetchall()
            rules: dict[str, dict[str, int]] = {}
            for arquivo, rule, n in con.execute(
                    "SELECT arquivo, split_part(msg, ' ', 1) AS regra, count(*) FROM ("
                    "SELECT arquivo, unnest(string_split(problema, '; ')) AS msg FROM passagem "
                    "WHERE problema IS NOT NULL) GROUP BY ALL").fetchall():
                rules.setdefault(arquivo, {})[rule] = int(n)
            totals = con.execute(
                "SELECT coalesce(sum(linhas) FILTER (WHERE problema IS NULL), 0), "
                "count(*) FILTER (WHERE problema IS NULL), count(*) FILTER (WHERE problema IS NOT NULL) "
                "FROM passagem").fetchone()
            con.execute("DROP TABLE passagem")
            for uf, arquivo, rows, n_bad, examples in per_file:
                summary.append({"uf": uf, "sistema": system, "arquivo": arquivo, "rows": int(rows),
                                "bad": int(n_bad), "bad_share": float(n_bad / rows) if rows else 0.0,
                                "examples": "; ".join(examples),
                                "bad_by_rule": format_rules(rules.get(arquivo, {}))})
            systems[system] = {"rows": int(totals[0]), "staged": int(totals[1]), "quarantined": int(totals[2]),
                               "files": len(files), "producao": str(good_path), "quarantine": str(bad_path),
                               "seconds": round(time.perf_counter() - started, 3)}
            log.info("%s competência %s: %d good row(s) staged as %d, %d quarantined, from %d file(s) in %.1fs",
                     system, target.strftime("%Y-%m"), totals[0], totals[1], totals[2], len(files),
                     systems[system]["seconds"])
    finally:
        if own:
            con.close()
    return {"competencia": target, "systems": systems, "files": summary}


def production_files(result: dict) -> list[Path]:
    """The ``producao_<system>.parquet`` files of an :func:`ingest_competencia` result (for cubes.build_cube)."""
    return [Path(s["producao"]) for s in result["systems"].values()]


__all__ = ["age_bands", "connect", "format_rules", "ingest_competencia", "normalised",
           "prefix_length", "production_files", "rule_of", "select_landing_files", "PRODUCTION_TYPES",
           "QUARANTINE_COLUMNS"]
