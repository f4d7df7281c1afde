"""The SUS pipeline's steps, one function per DAG task, free of Airflow.

ingest (mapped per UF) -> dq_ingest -> build_cube -> dq_cube -> publish_cube
-> score -> dq_scores -> fact_sheet_parts -> fact_sheets (mapped per part) -> publish_scores

Tasks hand Parquet files to each other in the run's staging folder (the fact
sheets' paths go to publish_scores as the mapped parts' results). The cubes of
the competência are published first (they are the next months' history); the
scores of the month are published together, in one transaction.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from vigia import paths, runs
from vigia.dq import DataQualityError, quarantine, validate
from vigia.dq.results import record
from vigia.sus import cubes, datasus, ingest_pandas, ingest_sql, quality, scoring, targets
from vigia.sus.geo import UF_CODE, ufs_of
from vigia.warehouse import PartitionWrite, Warehouse

log = logging.getLogger(__name__)

DAG_ID = "sus_anomaly_scoring"
CUBE_TABLE = cubes.CUBE_TABLE
COARSE_TABLES = cubes.COARSE_TABLES  # published with the finest cube, in the same transaction
CUBE_FILES_TABLE = "sus_cube_files"  # the landing files each cube was built from, published with it
UF_COVERAGE_TABLE = scoring.UF_COVERAGE_TABLE  # the UFs whose own-month files each cube read, published with it
SCORE_TABLES = ["sus_anomaly_scores", "sus_municipal_excess", "sus_provider_ranking", "sus_provider_excess",
                "sus_benign_flags", "sus_excess_concentration"]
SYSTEMS = ("SIA", "SIH")
MAX_FACT_SHEET_PARTS = 4  # mapped fact_sheets tasks at most (matplotlib is single-threaded: ~0.2 s a chart)
# ~10 sheets a part: each part reads the month's scores again, in its own process; when a part also read the
# whole fact-sheet cube (~3 s at national shape), the top 20 in 4 parts of 5 on 2 cores took 17.3 s against
# 11.4 s in one task. Parts now read only their rows of it (fact_sheets.read_part_cube)
SHEETS_PER_PART = 10
MONTH_SCORE_TABLES = ("excess_by_target", "scores", "municipal", "excess_shares", "ranking", "concentration", "flags")


def default_landing() -> str:
    """The generated sample folder (``python -m vigia.sample_data sus``)."""
    return str(paths.data_dir() / "sources" / "sus")


@dataclass(frozen=True)
class SusRun(runs.MonthRun):
    run_id: str
    competencia: date
    landing: str
    max_bad_share: float = quality.DEFAULT_MAX_BAD_SHARE
    history_months: int = 12
    top_fact_sheets: int = 20
    dag_id: str = DAG_ID
    k: float = scoring.K  # limiar = k x the month's national rate (per-capita score)


# --- ingestion ----------------------------------------------------------------------
def list_ufs(run: SusRun) -> list[str]:
    """UFs with SIA or SIH files that can hold the competência (the map of ``ingest_uf``)."""
    found, own, later = set(), set(), []
    for system in SYSTEMS:
        window = datasus.MAX_DELAY_MONTHS[system]
        months = {runs.add_months(run.competencia, i) for i in range(window + 1)}
        for f in datasus.discover(run.landing, system).files:
            if f.processing_month in months:
                found.add(f.uf)
                if f.processing_month == run.competencia:
                    own.add(f.uf)
                else:
                    later.append(f.name)
    expected = f"(expected SIA/PA<UF>{run.competencia:%y%m}.* or SIH/RD<UF>{run.competencia:%y%m}.*)"
    if not found:
        raise FileNotFoundError(
            f"no SIA or SIH file for competência {run.competencia:%Y-%m} under {run.landing} {expected}")
    if not own:
        # later months' files hold only the records that arrived late: a cube of them alone would be a few
        # percent of the month's production, and scores against it would be wrong, not just partial
        raise FileNotFoundError(
            f"no SIA or SIH file of competência {run.competencia:%Y-%m} itself under {run.landing} {expected}; "
            f"only files of later months, which hold its late records alone ({', '.join(sorted(later)[:5])})")
    return sorted(found)


def ingest_uf(run: SusRun, uf: str) -> dict:
    """Read one UF's files for the competência; quarantine rows with bad codes; stage the rest.

    Local Parquet landings go through DuckDB (``ingest_sql``: rows stream from the files to the
    staged Parquet and never enter pandas); CSV, .dbc and object-storage landings through the
    pandas readers of ``datasus``. Both give the same rows and the same problem texts (tested).
    """
    files = ingest_sql.select_landing_files(run.landing, run.competencia, ufs=[uf])
    _record_selected_files(run, uf, files)
    local_parquet = all(isinstance(f, Path) and f.suffix.lower() == ".parquet" for fs in files.values() for f in fs)
    if local_parquet:
        return _ingest_uf_sql(run, uf, files)
    return _ingest_uf_pandas(run, uf)


def _file_names(files: dict) -> pd.DataFrame:
    """sistema, arquivo of ``select_landing_files``' result (paths or object-storage paths)."""
    rows = [(system, Path(str(f)).name) for system, fs in files.items() for f in fs]
    return pd.DataFrame(rows, columns=["sistema", "arquivo"]).sort_values(["sistema", "arquivo"], ignore_index=True)


def _record_selected_files(run: SusRun, uf: str, files: dict) -> None:
    """The landing files chosen for the competência (``selected_<uf>.parquet``), published with the cube
    (``sus_cube_files``): a later run tells from them whether files with late records landed since."""
    _file_names(files).to_parquet(run.file(f"selected_{uf}.parquet"), index=False)


def _ingest_uf_sql(run: SusRun, uf: str, files: dict) -> dict:
    """One pass per system over the UF's Parquet files; staged production and quarantine stay on disk."""
    out_dir = run.file(f"ingest_{uf}")
    result = ingest_sql.ingest_competencia({k: v for k, v in files.items() if v}, run.competencia, out_dir)
    run.file(f"producao_{uf}.parquet").unlink(missing_ok=True)  # a pandas-engine file of an earlier try
    _stage_quarantine_files(run, uf, [Path(s["quarantine"]) for s in result["systems"].values() if s["quarantined"]])
    pd.DataFrame(result["files"]).to_parquet(run.file(f"files_{uf}.parquet"), index=False)
    return {"uf": uf, "rows": sum(s["rows"] for s in result["systems"].values()),
            "staged": sum(s["staged"] for s in result["systems"].values()),
            "quarantined": sum(s["quarantined"] for s in result["systems"].values()), "engine": "duckdb"}


def _stage_quarantine_files(run: SusRun, uf: str, paths: list[Path]) -> None:
    """The quarantined rows of the UF as text (``dq_reason`` = problema), copied by DuckDB, not pandas."""
    target = run.file(f"quarantine_{uf}.parquet")
    if not paths:
        target.unlink(missing_ok=True)  # a retry must not publish stale rows
        return
    con = ingest_sql.connect("1GB", 1)
    try:
        rel = con.read_parquet([str(p) for p in paths], union_by_name=True)
        rel.project(", ".join(f'CAST("{c}" AS VARCHAR) AS "{quarantine.REASON_COLUMN if c == "problema" else c}"'
                              for c in rel.columns)).write_parquet(str(target))
    finally:
        con.close()


def _stage_quarantine(run: SusRun, uf: str, bad: pd.DataFrame) -> None:
    if len(bad):
        bad.astype(str).to_parquet(run.file(f"quarantine_{uf}.parquet"), index=False)
    else:
        run.file(f"quarantine_{uf}.parquet").unlink(missing_ok=True)  # a retry must not publish stale rows


def _ingest_uf_pandas(run: SusRun, uf: str) -> dict:
    import shutil

    good, bad, summary = ingest_pandas.ingest_competencia(run.landing, run.competencia, ufs=[uf])
    shutil.rmtree(run.file(f"ingest_{uf}"), ignore_errors=True)  # a DuckDB-engine staging of an earlier try
    good.to_parquet(run.file(f"producao_{uf}.parquet"), index=False)
    _stage_quarantine(run, uf, bad.rename(columns={"problema": quarantine.REASON_COLUMN}))
    pd.DataFrame(summary).to_parquet(run.file(f"files_{uf}.parquet"), index=False)
    return {"uf": uf, "rows": len(good), "staged": len(good), "quarantined": len(bad), "engine": "pandas"}


def production_files(run: SusRun, ufs: list[str]) -> list[Path]:
    """The staged production of the UFs: ``producao_<uf>.parquet`` (pandas engine) or
    ``ingest_<uf>/producao_<system>.parquet`` (DuckDB engine)."""
    out = []
    for uf in ufs:
        single = run.file(f"producao_{uf}.parquet")
        out += [single] if single.exists() else sorted(run.file(f"ingest_{uf}").glob("producao_*.parquet"))
    return out


def production_summary(files: list[Path]) -> pd.DataFrame:
    """``include/sql/sus/production_summary.sql`` over the staged production (DuckDB; one row per
    system x competência x municipality of residence)."""
    from vigia import sql as sqlfiles

    con = ingest_sql.connect("2GB")
    try:
        rel = con.read_parquet([str(f) for f in files], union_by_name=True)
        linhas = "linhas" if "linhas" in rel.columns else "1 AS linhas"
        rel.project(f"competencia, sistema, cnes, municipio_residencia, quantidade, valor, {linhas}"
                    ).create_view("producao")
        return con.execute(sqlfiles.to_driver(sqlfiles.load("sus/production_summary.sql"), "duckdb")).df()
    finally:
        con.close()


def with_population_coverage(summary: pd.DataFrame, population: pd.DataFrame, ano: int) -> pd.DataFrame:
    """``summary`` with ``municipio_sem_populacao``: the municipality of residence when the IBGE table has
    no population for it in ``ano``, else null (what the ``sus_ingest`` suite checks)."""
    known = population.loc[population["ano"] == ano, "municipio"].astype(str)
    municipio = summary["municipio_residencia"].astype(str)
    return summary.assign(municipio_sem_populacao=municipio.where(~municipio.isin(known)))


def population_gaps(summary: pd.DataFrame, ano: int, examples: int = 5) -> list[str]:
    """One line per system whose production names municipalities of residence that ``IBGE/populacao.csv``
    has no population for in ``ano`` (``summary``: :func:`with_population_coverage`'s): the file to complete,
    the municipalities and the landed rows that need them."""
    path = "/".join(datasus.POPULATION_FILE)
    out = []
    gaps = summary[summary["municipio_sem_populacao"].notna()]
    for sistema, g in gaps.groupby("sistema", sort=True):
        per = g.groupby("municipio_sem_populacao", sort=True)["linhas"].sum()
        shown = ", ".join(f"{m} ({int(n):,} row(s))" for m, n in per.head(examples).items())
        out.append(f"{path} has no population for {ano} for {len(per)} municipality(ies) of residence of the "
                   f"{sistema} production (e.g. {shown}): add their {ano} rows to {path} (6-digit code, as "
                   "DATASUS writes it) and rerun")
    return out


def _quarantine_sample(run: SusRun, ufs: list[str], limit: int = quality.QUARANTINE_SAMPLE) -> pd.DataFrame:
    frames = []
    for uf in ufs:
        path = run.file(f"quarantine_{uf}.parquet")
        if path.exists():
            import pyarrow.parquet as pq

            frames.append(next(pq.ParquetFile(path).iter_batches(batch_size=limit)).to_pandas())
    return pd.concat(frames, ignore_index=True).head(limit) if frames else pd.DataFrame()


def population_problems(population: pd.DataFrame, limit: int = 10) -> list[str]:
    """The first ``limit`` bad lines of ``IBGE/populacao.csv`` (line 1 is the header), with what is wrong."""
    problems = datasus.code_problems(population, "IBGE")
    twice = population.duplicated(["municipio", "ano"], keep=False)
    problems = problems.where(~twice, problems.where(problems == "", problems + "; ") + "municipio x ano repeated")
    bad = problems[problems != ""]
    path = "/".join(datasus.POPULATION_FILE)

    def show(i):
        return ", ".join(f"{c}={'' if pd.isna(population.at[i, c]) else population.at[i, c]}"
                         for c in ("municipio", "ano", "populacao"))

    return [f"{path} line {i + 2}: {problem} ({show(i)})" for i, problem in bad.head(limit).items()] + (
        [f"{path}: {len(bad)} bad lines in all"] if len(bad) > limit else [])


def files_without_rows(run: SusRun, files: pd.DataFrame) -> list[str]:
    """The landed files of the competência's own processing month that gave no row of it (``files``: the
    per-file summaries, which list the files with rows only): an empty or header-only file, or one of
    another month under this month's name. A later month's file without late records is normal."""
    read = set(files["arquivo"]) if "arquivo" in files.columns else set()
    return [f"file {f.name}: no row of competência {run.competencia:%Y-%m} (empty, header only, or rows of "
            "other months only); its production, if any, is missing from the cube"
            for f in own_month_files(selected_files(run), run.competencia) if f.name not in read]


def registry_coverage(run: SusRun, ufs: list[str], registry: pd.DataFrame) -> pd.DataFrame:
    """uf, cnes, cnes_sem_cadastro: every establishment with staged production, by the UF of its files, and
    ``cnes_sem_cadastro`` = its CNES when the registry (``datasus.read_registry``) lacks it, else null (what the
    ``sus_registry`` suite checks: without the registry an establishment gets no mobile-unit or regional-spike
    flag, nor a UF and municipality in the ranking)."""
    frames = []
    con = ingest_sql.connect("1GB", 1)
    try:
        for uf in ufs:
            files = production_files(run, [uf])
            if files:
                rel = con.read_parquet([str(f) for f in files], union_by_name=True)
                frames.append(rel.project("cnes").distinct().order("cnes").df().assign(uf=uf))
    finally:
        con.close()
    est = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"cnes": [], "uf": []}, dtype=object)
    cnes = est["cnes"].astype(str)
    known = set(registry["cnes"].dropna().astype(str))
    return est[["uf", "cnes"]].assign(cnes_sem_cadastro=cnes.where(~cnes.isin(known)))


def registry_gaps(coverage: pd.DataFrame, examples: int = 5) -> list[str]:
    """One line per UF whose establishments with production are missing from the CNES registry."""
    out = []
    for uf, g in coverage.groupby("uf", sort=True):
        missing = g["cnes_sem_cadastro"].dropna()
        if len(missing):
            out.append(f"CNES: {len(missing)} of {len(g)} establishment(s) with production in {uf} are not in "
                       f"the registry (e.g. {', '.join(missing.head(examples))}): no mobile-unit or "
                       "regional-spike flag for them")
    return out


def gate_ingest(run: SusRun, warehouse: Warehouse, ufs: list[str]) -> dict:
    """Quarantined share per file under the threshold; a sample of the quarantine; the IBGE population
    table; codes, money and population coverage on the staged production's summary per municipality.

    The row-level checks ran once, in SQL, during ingestion (``problema``); great-expectations
    checks what they produced: the per-file summaries (with the counts per broken rule), a bounded
    sample of the quarantined rows, and one row per system x competência x municipality of
    residence of the staged production (``production_summary``).
    """
    files = pd.concat([pd.read_parquet(run.file(f"files_{uf}.parquet")) for uf in ufs], ignore_index=True)
    report = validate(files, quality.files_suite(run.max_bad_share))
    over = files[files["bad_share"] > run.max_bad_share]
    report.notes += [f"file {r.arquivo}: {r.bad} of {r.rows} rows quarantined ({r.bad_share:.2%}); "
                     f"by rule: {getattr(r, 'bad_by_rule', '')}; e.g. {r.examples}" for r in over.itertuples()]
    empty_files = files_without_rows(run, files)
    for note in empty_files:
        log.warning(note)
    record(warehouse, report, run.info("dq_ingest"), quarantined=int(files["bad"].sum()))
    report.raise_for_failure()
    sample = _quarantine_sample(run, ufs)
    if len(sample):
        report = validate(sample, quality.quarantine_suite())
        record(warehouse, report, run.info("dq_ingest"))
        report.raise_for_failure()

    population = datasus.read_population(run.landing)
    report = validate(population, quality.population_suite())
    report.notes += population_problems(population)
    record(warehouse, report, run.info("dq_ingest"))
    report.raise_for_failure()
    # the per-capita window's years; a year the file lacks altogether (IBGE publishes in August) gets its latest
    window = range(runs.add_months(run.competencia, 1 - scoring.PER_CAPITA_WINDOW).year, run.competencia.year + 1)
    population, population_notes = scoring.carry_forward_population(population, window)
    for note in population_notes:
        log.warning(note)
    population.to_parquet(run.file("population.parquet"), index=False)
    registry, registry_notes = datasus.read_registry(run.landing, run.competencia, ufs)
    report = validate(coverage := registry_coverage(run, ufs, registry), quality.registry_suite(run.max_bad_share))
    report.notes += (report_notes := registry_notes + registry_gaps(coverage))
    record(warehouse, report, run.info("dq_ingest"))
    report.raise_for_failure()
    registry.to_parquet(run.file("registry.parquet"), index=False)
    summary = with_population_coverage(production_summary(production_files(run, ufs)), population,
                                       run.competencia.year)
    report = validate(summary, quality.ingest_suite())
    report.notes += population_gaps(summary, run.competencia.year)
    record(warehouse, report, run.info("dq_ingest"))
    report.raise_for_failure()
    return {"rows": int(summary["linhas"].sum()) if len(summary) else 0, "quarantined": int(files["bad"].sum()),
            "files": len(files), "registry_notes": report_notes, "population_notes": population_notes,
            "files_without_rows": empty_files}


# --- cube ---------------------------------------------------------------------------
def build_cube(run: SusRun, ufs: list[str]) -> dict:
    """The competência's finest cube (``cube.parquet``) and its coarser cubes (``cube_<name>.parquet``)."""
    return cubes.write_cube(production_files(run, ufs), run.competencia, targets.load(), run.file("cube.parquet"),
                            coarse={name: run.file(f"cube_{name}.parquet") for name in COARSE_TABLES})


def gate_cube(run: SusRun, warehouse: Warehouse) -> dict:
    cube = pd.read_parquet(run.file("cube.parquet"))
    report = validate(cube, quality.cube_suite())
    record(warehouse, report, run.info("dq_cube"))
    report.raise_for_failure()
    return {"cells": len(cube)}


# quarantined columns that identify a person's record: pseudonymised before the warehouse (the landing keeps
# the raw value). N_AIH is the number of one patient's hospital admission
IDENTIFIER_COLUMNS = {"n_aih": "aih"}
_MISSING_TEXT = ("", "None", "nan", "<NA>")  # how a missing value reads once a quarantine file is all text


def _quarantine_rows(run: SusRun) -> pd.DataFrame:
    """The quarantined rows for ``dq_quarantine``: reason and row as JSON, identifiers pseudonymised."""
    from vigia.pseudonym import pseudonymise

    frames = []
    for path in sorted(run.dir.glob("quarantine_*.parquet")):
        bad = pd.read_parquet(path)
        payload = bad.drop(columns=[quarantine.REASON_COLUMN])
        for column, kind in IDENTIFIER_COLUMNS.items():
            if column in payload.columns:
                raw = payload[column].astype("string")
                present = raw.notna() & ~raw.isin(_MISSING_TEXT)
                payload[column] = pseudonymise(raw.where(present), kind).astype(object).where(present, None)
        frames.append(pd.DataFrame({
            "run_id": run.run_id, "suite": "sus_ingest", "dq_reason": bad[quarantine.REASON_COLUMN],
            "row_json": [json.dumps(r, ensure_ascii=False) for r in payload.to_dict("records")]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["run_id", "suite", "dq_reason", "row_json"])


def selected_files(run: SusRun) -> pd.DataFrame:
    """sistema, arquivo of every landing file the run's ``ingest_uf`` tasks chose (``selected_<uf>.parquet``)."""
    selected = [pd.read_parquet(f) for f in sorted(run.dir.glob("selected_*.parquet"))]
    return pd.concat(selected, ignore_index=True) if selected else pd.DataFrame(columns=["sistema", "arquivo"])


def own_month_files(files: pd.DataFrame, competencia: date) -> list:
    """The parsed DATASUS files (``datasus.parse_name``) among ``files`` (sistema, arquivo) whose processing
    month is the competência itself (not a later month's, which may hold late records)."""
    parsed = (datasus.parse_name(arquivo, sistema)
              for sistema, arquivo in files[["sistema", "arquivo"]].itertuples(index=False))
    return [f for f in parsed if f is not None and f.processing_month == competencia]


def uf_coverage(files: pd.DataFrame, competencia: date) -> pd.DataFrame:
    """sistema, uf, uf_codigo of the UFs whose file of the competência's own processing month is among
    ``files`` (sistema, arquivo): the UFs the cube covers (``sus_cube_uf_coverage``). A UF with files of
    later months only (late records) is not covered: most of its production of the month is missing."""
    rows = {(f.system, f.uf, UF_CODE[f.uf]) for f in own_month_files(files, competencia)}
    return pd.DataFrame(sorted(rows, key=lambda r: (r[0], r[2])), columns=["sistema", "uf", "uf_codigo"])


def publish_cube(run: SusRun, warehouse: Warehouse) -> dict:
    """Replace the competência's cubes (the finest and the coarser ones), the landing files they were built
    from (``sus_cube_files``), the UFs they cover (``sus_cube_uf_coverage``) and its quarantine in one
    transaction."""
    part = {"competencia": run.competencia}
    cube = pd.read_parquet(run.file("cube.parquet")).assign(run_id=run.run_id)
    coarse = [PartitionWrite(table, part, pd.read_parquet(run.file(f"cube_{name}.parquet"))
                             .drop(columns="competencia").assign(run_id=run.run_id))
              for name, table in COARSE_TABLES.items()]
    files = selected_files(run)
    return warehouse.replace_partitions([
        PartitionWrite(CUBE_TABLE, part, cube), *coarse,
        PartitionWrite(CUBE_FILES_TABLE, part, files.assign(run_id=run.run_id)),
        PartitionWrite(UF_COVERAGE_TABLE, part, uf_coverage(files, run.competencia).assign(run_id=run.run_id)),
        PartitionWrite("dq_quarantine", {"dag_id": run.dag_id, "partition_key": run.partition_key},
                       _quarantine_rows(run)),
    ])


# --- history ------------------------------------------------------------------------
def missing_history(run: SusRun, warehouse: Warehouse) -> list[str]:
    """Earlier competências (YYYY-MM) of the scoring window with no cube in the warehouse."""
    start = runs.add_months(run.competencia, -run.history_months)
    window = [runs.add_months(start, i) for i in range(run.history_months)]
    have = set()
    if warehouse.table_exists(CUBE_TABLE):
        got = warehouse.query_file("sus/cube_months.sql", {"inicio": start, "fim": run.competencia})
        have = {pd.Timestamp(m).date() for m in got["competencia"]}
    return [f"{m:%Y-%m}" for m in window if m not in have]


def months_with_late_files(run: SusRun, warehouse: Warehouse) -> list[str]:
    """Earlier competências (YYYY-MM, within the processing window: 3 months for SIA) whose cube was built
    before files that can hold them landed: SIA accepts records up to 3 months late, in later months'
    files, so the cube a scheduled run built last month lacks them. Rebuilding such a month
    (:func:`build_history_cube`) replaces its cube with one that has them.

    A cube with no record of its files (``sus_cube_files``: cubes published before the table existed,
    or written by other tools) is left alone: its files are not known."""
    if not warehouse.table_exists(CUBE_FILES_TABLE):
        return []
    window = max(datasus.MAX_DELAY_MONTHS.values())
    inicio, fim = runs.add_months(run.competencia, -window), runs.add_months(run.competencia, -1)
    recorded = warehouse.query_file("sus/cube_files.sql", {"inicio": inicio, "fim": fim})
    if recorded.empty:
        return []
    recorded["competencia"] = [pd.Timestamp(m).date() for m in recorded["competencia"]]
    stale = []
    for month, built in recorded.groupby("competencia", sort=True):
        now = _file_names(ingest_sql.select_landing_files(run.landing, month))
        new = set(zip(now["sistema"], now["arquivo"])) - set(zip(built["sistema"], built["arquivo"]))
        if new:
            log.info("competência %s: %d file(s) landed since its cube was built (%s): rebuilding it",
                     f"{month:%Y-%m}", len(new), ", ".join(sorted(a for _, a in new)[:5]))
            stale.append(f"{month:%Y-%m}")
    return stale


def history_to_build(run: SusRun, warehouse: Warehouse, missing: bool, late: bool) -> list[str]:
    """The earlier competências (YYYY-MM) the run rebuilds before scoring: those with no cube
    (:func:`missing_history`, when ``missing``) and those whose files with late records landed after
    their cube was built (:func:`months_with_late_files`, when ``late``)."""
    months = set(missing_history(run, warehouse)) if missing else set()
    if late:
        months |= set(months_with_late_files(run, warehouse))
    return sorted(months)


def build_history_cube(run: SusRun, warehouse: Warehouse, month: str) -> dict:
    """Ingest, check and publish the cube of an earlier competência (what a backfill run would do)."""
    sub = SusRun(f"{run.run_id}__historico_{month}", runs.month_start(month), run.landing,
                 run.max_bad_share, run.history_months, 0, run.dag_id)
    try:
        ufs = list_ufs(sub)
    except FileNotFoundError as exc:
        log.warning("history %s: %s", month, exc)
        return {"competencia": month, "cells": 0, "reason": str(exc)}
    for uf in ufs:
        ingest_uf(sub, uf)
    gate_ingest(sub, warehouse, ufs)
    build_cube(sub, ufs)
    gate_cube(sub, warehouse)
    return {"competencia": month, **publish_cube(sub, warehouse), **stale_scores(warehouse, sub.competencia)}


def stale_scores(warehouse: Warehouse, competencia: date) -> dict:
    """After an earlier competência's cube was rebuilt (late records, missing history): when that month
    already has a published ranking, it was scored on the cube this one replaced; say so (logged and in
    the result, ``scores_to_rerun``), with the run that rescores it. Scores are not redone here: a
    month's scores are replaced by that month's own run, which also renders its fact sheets."""
    if not warehouse.table_exists("sus_provider_ranking"):
        return {}
    scored = warehouse.query_file("sus/scored_runs.sql", {"competencia": competencia})["run_id"].tolist()
    if not scored:
        return {}
    note = (f"competência {competencia:%Y-%m}: its published scores (run {', '.join(scored)}) were computed on "
            f"the cube this run replaced; to rescore it, trigger sus_anomaly_scoring with competencia="
            f"{competencia:%Y-%m} (or clear that month's run)")
    log.warning(note)
    return {"scores_to_rerun": note}


# --- scores -------------------------------------------------------------------------
def score(run: SusRun, warehouse: Warehouse) -> dict:
    """Score the competência from the warehouse cubes of it and the ``history_months`` before it.

    The warehouse runs the GROUP BYs and the per-capita chain (``include/sql/sus/score_*.sql``; the
    window's years of the IBGE population are written to ``sus_population`` first); pandas sees only aggregates
    (:func:`vigia.sus.scoring.score_from_warehouse`), never the 13 months of the finest cube.
    ``history.parquet`` (the fact sheets' cube) holds the month's finest cube and the earlier months
    per establishment x target of the ``top_fact_sheets`` establishments, the only ones whose series a
    sheet draws (~1% of the establishment cube; read from the warehouse once the ranking is known:
    :func:`vigia.sus.scoring.establishment_series`), with every month in its metadata
    (:func:`vigia.sus.fact_sheets.top.write_history`).
    """
    from vigia.sus.fact_sheets.top import write_history

    start = runs.add_months(run.competencia, -run.history_months)
    covered = cubes.ensure_coarse_cubes(warehouse, start, run.competencia)
    missing = [runs.add_months(start, i) for i in range(run.history_months)
               if runs.add_months(start, i) not in covered]
    if missing:
        log.warning("no cube in the warehouse for %d earlier competência(s) (%s..%s): scores that need "
                    "them carry a reason instead of a value; backfill those months to build them",
                    len(missing), missing[0], missing[-1])
    population = pd.read_parquet(run.file("population.parquet"))
    result, month_cubes = scoring.score_from_warehouse(
        warehouse, run.competencia, population, pd.read_parquet(run.file("registry.parquet")), covered,
        history_months=run.history_months, k=run.k, run_id=run.run_id, measures=targets.measures(targets.load()))
    result.municipal = result.municipal.assign(k=run.k)  # published with the rows; the fact sheets read it
    uncovered = scoring.uncovered_ufs(month_cubes.coverage, population, run.competencia)
    for sistema, ufs in uncovered.items():
        log.warning("competência %s: no %s file of the month for %d UF(s) of the population file (%s): their "
                    "municipalities are left out of the per-capita rates and the log-normal fit, and the "
                    "'national' rate is that of the UFs that landed; rerun the month when their files land",
                    f"{run.competencia:%Y-%m}", sistema, len(ufs), ", ".join(ufs))
    versions = scoring.target_versions(warehouse, start, run.competencia)
    changed = scoring.version_changes(versions, run.competencia)
    for alvo, what in changed.items():
        log.warning("target %s: %s; its scores compare the two definitions: rebuild the earlier months' cubes "
                    "(backfill) to score on one", alvo, what)
    versions[versions["competencia"] == run.competencia][["alvo", "alvo_versao"]].to_parquet(
        run.file("target_versions.parquet"), index=False)
    for name in MONTH_SCORE_TABLES:
        getattr(result, name).to_parquet(run.file(f"{name}.parquet"), index=False)
    top = scoring.top_of_ranking(result.ranking, run.top_fact_sheets)["cnes"]
    earlier = scoring.establishment_series(warehouse, start, run.competencia, top)
    write_history(scoring.fact_sheet_cube(month_cubes.month, earlier), covered, run.file("history.parquet"))
    return {"establishments": len(result.ranking), "history_months": len(covered) - 1,
            "excess_value": float(result.ranking["excesso_valor"].sum()), "ufs_not_landed": uncovered,
            "target_versions_changed": changed}


def load_scores(run: SusRun) -> scoring.MonthScores:
    return scoring.MonthScores(**{name: pd.read_parquet(run.file(f"{name}.parquet")) for name in MONTH_SCORE_TABLES})


def gate_scores(run: SusRun, warehouse: Warehouse) -> dict:
    ranking = pd.read_parquet(run.file("ranking.parquet"))
    report = validate(ranking, quality.ranking_suite(len(ranking)))
    record(warehouse, report, run.info("dq_scores"))
    report.raise_for_failure()
    return {"establishments": len(ranking)}


def fact_sheet_parts(run: SusRun) -> list[dict]:
    """The parts the fact sheets are rendered in, one mapped task each: ~:data:`SHEETS_PER_PART` sheets a part, at most
    :data:`MAX_FACT_SHEET_PARTS` (the map stays bounded whatever ``top_fact_sheets`` is). No side effect:
    each part returns its sheets to :func:`publish_scores` (XCom), no file to clean up on a rerun."""
    n = max(0, min(MAX_FACT_SHEET_PARTS, math.ceil(run.top_fact_sheets / SHEETS_PER_PART)))
    return [{"part": i, "parts": n, "label": f"fichas {i + 1} de {n}"} for i in range(n)]


def fact_sheets(run: SusRun, part: int = 0, parts: int = 1) -> dict:
    """Render part ``part`` of ``parts`` of the fact sheets of the top of the ranking under
    data/reports/sus/<YYYY-MM>/; return their ``index`` (cnes -> path) for :func:`publish_scores`.

    The part's sheets are chosen first (on the month's scores), then only the rows they need are
    read from ``history.parquet`` (their establishments' series, their targets' month over every
    establishment; :func:`vigia.sus.fact_sheets.read_part_cube`) and from the CNES registry:
    ``history_rows`` of the file's rows, not all of them. The pages are those of the whole cube.
    """
    if run.top_fact_sheets <= 0:
        return {"sheets": 0, "index": {}}
    from vigia.sus import fact_sheets as sheets

    out_dir = sheet_folder(run)
    tgt = targets.load()
    result = load_scores(run)
    chosen = sheets.select_part(result, run.top_fact_sheets, part, parts)
    cube, months = sheets.read_part_cube(run.file("history.parquet"), chosen)
    log.info("fact sheets %d of %d: %d sheets from %d history rows", part + 1, parts, len(chosen), len(cube))
    written = sheets.render_selected(chosen, result, cube, dict(zip(tgt["alvo"], tgt["nome"])),
                                     _part_registry(run, chosen["cnes"]), out_dir, months,
                                     population=pd.read_parquet(run.file("population.parquet")))
    return {"sheets": len(written), "folder": str(out_dir), "history_rows": len(cube),
            "index": {p.name.split("_")[1]: str(p) for p in written}}


def sheet_folder(run: SusRun) -> Path:
    """``data/reports/sus/<YYYY-MM>/``: the fact sheets of the competência."""
    return paths.data_dir() / "reports" / "sus" / f"{run.competencia:%Y-%m}"


def remove_stale_sheets(run: SusRun, kept) -> list[str]:
    """Delete the competência's fact sheets (``<YYYY-MM>_*.html`` in :func:`sheet_folder`) that are not among
    ``kept`` (paths): those of an earlier run of the month whose establishments left the top, which the
    ranking no longer points to and which would read as current. Returns the deleted files' names."""
    folder = sheet_folder(run)
    if not folder.is_dir():
        return []
    keep = {Path(k).resolve() for k in kept}
    stale = sorted(f for f in folder.glob(f"{run.competencia:%Y-%m}_*.html") if f.resolve() not in keep)
    for f in stale:
        f.unlink()
    if stale:
        log.info("removed %d fact sheet(s) of an earlier run of %s no longer in the top: %s", len(stale),
                 f"{run.competencia:%Y-%m}", ", ".join(f.name for f in stale[:5]))
    return [f.name for f in stale]


def _part_registry(run: SusRun, cnes) -> pd.DataFrame:
    """The CNES registry rows of the establishments ``cnes`` (all a part's sheets read of it)."""
    return pd.read_parquet(run.file("registry.parquet"), filters=[("cnes", "in", sorted({str(c) for c in cnes}))])


def _sheet_index(parts) -> dict[str, str]:
    """cnes -> sheet path merged from the ``fact_sheets`` parts' results (none, or skipped parts' None: no sheets)."""
    index = {}
    for done in parts or ():
        index.update((done or {}).get("index") or {})
    return index


def publish_scores(run: SusRun, warehouse: Warehouse, sheet_parts=None) -> dict:
    """Replace the competência's scores, municipal excess, ranking, excess per target, flags and concentration
    together; then delete the month's fact sheets of an earlier run that the new ranking does not point to
    (:func:`remove_stale_sheets`).

    ``sheet_parts``: the results of the :func:`fact_sheets` parts (the mapped task's XCom; empty or
    None without sheets): each ranking row's ``folha_de_fatos`` is its sheet's path, from their indexes.
    """
    r = load_scores(run)
    registry = pd.read_parquet(run.file("registry.parquet"))[["cnes", "municipio", "uf"]].drop_duplicates("cnes")
    sheets = _sheet_index(sheet_parts)
    flags_by_cnes = (r.flags.dropna(subset=["cnes"]).groupby("cnes")["flag"]
                     .agg(lambda f: ",".join(sorted(set(f)))))
    ranking = r.ranking.merge(registry, on="cnes", how="left")
    ranking["flags"] = ranking["cnes"].map(flags_by_cnes)
    ranking["folha_de_fatos"] = ranking["cnes"].map(sheets)
    versions = pd.read_parquet(run.file("target_versions.parquet"))

    def versioned(df: pd.DataFrame) -> pd.DataFrame:  # the target's version in the scored month's cube
        return df.merge(versions, on="alvo", how="left", validate="many_to_one")

    scores_out = versioned(r.scores.merge(registry[["cnes", "uf"]], on="cnes", how="left"))
    municipal = versioned(r.municipal.assign(uf=ufs_of(r.municipal["municipio"]).to_numpy()))
    excess = versioned(r.excess_by_target.merge(registry, on="cnes", how="left"))
    part = {"competencia": run.competencia}

    def keep(df: pd.DataFrame, table_columns: list[str]) -> pd.DataFrame:
        return df[[c for c in table_columns if c in df.columns]].assign(run_id=run.run_id)

    writes = [
        PartitionWrite("sus_anomaly_scores", part, keep(scores_out, [
            "cnes", "uf", "alvo", "alvo_versao", "score", "value", "reason"])),
        PartitionWrite("sus_municipal_excess", part, keep(municipal, [
            "municipio", "uf", "alvo", "alvo_versao", "populacao", "quantidade", "valor", "taxa", "cutoff",
            "excesso_quantidade", "excesso_valor", "taxa_eb", "limiar", "k", "escore_municipal", "reason"])),
        PartitionWrite("sus_provider_ranking", part, keep(ranking, [
            "cnes", "uf", "municipio", "rank", "rank_escore", "excesso_valor", "escore_combinado", "escore_maximo",
            "n_escores", "flags", "folha_de_fatos"])),
        PartitionWrite("sus_provider_excess", part, keep(excess, [
            "cnes", "uf", "municipio", "alvo", "alvo_versao", "excesso_per_capita", "excesso_preco", "excesso_salto",
            "excesso_valor"])),
        PartitionWrite("sus_benign_flags", part, keep(versioned(r.flags), [
            "cnes", "municipio", "alvo", "alvo_versao", "flag", "detail"])),
        PartitionWrite("sus_excess_concentration", part, keep(r.concentration, [
            "excesso_total", "n_com_excesso", "participacao_top5", "participacao_top100"])),
    ]
    published = warehouse.replace_partitions(writes)
    remove_stale_sheets(run, sheets.values())  # once the ranking that points to the new ones is committed
    return published


def run_in_process(run: SusRun, warehouse: Warehouse, with_fact_sheets: bool = True) -> dict:
    """Every step, one after the other in this process (no Airflow): for tests and benchmarks."""
    ufs = list_ufs(run)
    out = {"ingest": [ingest_uf(run, uf) for uf in ufs], "dq_ingest": gate_ingest(run, warehouse, ufs),
           "build_cube": build_cube(run, ufs), "dq_cube": gate_cube(run, warehouse),
           "publish_cube": publish_cube(run, warehouse), "score": score(run, warehouse),
           "dq_scores": gate_scores(run, warehouse)}
    done = []  # the parts' results, as the mapped task's XCom hands them to publish_scores
    if with_fact_sheets:
        done = [fact_sheets(run, part["part"], part["parts"]) for part in fact_sheet_parts(run)]
        out["fact_sheets"] = {"sheets": sum(d["sheets"] for d in done), "parts": len(done),
                              "history_rows": [d["history_rows"] for d in done], "index": _sheet_index(done),
                              **({"folder": done[0]["folder"]} if done else {})}
    out["publish_scores"] = publish_scores(run, warehouse, done)
    return out


__all__ = ["DataQualityError", "SusRun"]
