"""Benchmark: one SUS month at national shape, Vigia against a plain DuckDB scan and against pandas.

Data (generated once, reused; git-ignored under ``data/bench/sus_national/``):

* ``national/``: one competência at national shape, ``python -m vigia.sample_data sus --municipalities 5570
  --sia-rows 51000000 --months 1 --sia-part-rows 10000000 --prior-cubes 36`` (SIH: 1/25 of SIA, so 2M;
  51M draws just over 50M SIA rows);
  the 36 prior cubes go into ``national/prior.duckdb`` (the warehouse the run starts from);
* ``pandas/``: the same shape at ``--pandas-sia-rows`` (default 5,000,000) with 12 prior cubes, a size
  the pandas implementation can hold.

Measurements, each in its own child process (peak memory = the highest RSS of the child's process
tree, sampled every 50 ms with psutil, and the child's ``ru_maxrss``):

(a) ``scan``: one plain DuckDB scan of the month's landed SIA and SIH Parquet files, over every column
    the pipeline reads (``count(*)``, ``sum`` of the numbers, ``max`` of every text column);
(b) ``vigia``: the whole month through the functions the DAG's tasks call, in the order of
    ``vigia.sus.pipeline.run_in_process`` (ingest_uf per UF, gate_ingest, build_cube, gate_cube,
    publish_cube, score, gate_scores, fact_sheets for the top 20 in its mapped parts two at a time
    (:func:`fact_sheets_mapped`), publish_scores), each step timed,
    on a copy of the prior-cube warehouse;
(c) ``pandas``: a straightforward pandas implementation of the same month, on the smaller landing:
    ``vigia.sus.ingest_pandas`` (every row in a DataFrame), the cube by pandas merges on each SIGTAP
    prefix length + groupby, the history cubes from the warehouse, then the scores twice on the same
    history frame, each timed on its own: ``score``, the straightforward pandas scorer of
    ``bench/sus_pandas_scores.py`` (string keys, groupby / merge / pivot_table: the issue's baseline),
    and ``score_vigia_formulas``, ``scoring.score_month`` (Vigia's own optimised score functions on
    pandas aggregates: the previous baseline, (c') in the summary); and (b) on the same landing. The
    cubes, and Vigia's ranking against both pandas rankings, are compared (they must be equal).

Targets (issue 3): (b) wall <= 3x (a), (b) peak <= 6 GB, pandas (straightforward) / Vigia >= 10x.

    python bench/sus_national.py                       # generates what is missing, then measures
    python bench/sus_national.py --skip pandas --until-cube   # national (a) + (b) up to publish_cube
    python bench/sus_national.py --skip national,score        # (c) on the pandas-size month
    python bench/sus_national.py --skip national,pandas       # (d) the score step alone at national shape
    python bench/sus_national.py --sia-rows 2000000 --pandas-sia-rows 1000000 --data /tmp/sus_small  # smoke

(d) ``score``: the score step alone, then dq_scores, fact_sheets and publish_scores, on a copy of the
    national prior-cube warehouse, scoring its last prior month (13 months of national cubes).

(b) and (d) also report each step's own peak RSS (``step_peak_rss_mb``, sampled inside the child). The score
step reads aggregates computed by the warehouse (``vigia.sus.scoring.score_from_warehouse``); (c)
gives both pandas scorers the whole 13-month cube (``scoring.score_month`` computes the same aggregates
with ``scoring.cubes_from_frame`` before Vigia's formulas): a size pandas can hold, not national shape.
A child whose process tree passes ``--kill-above-gb`` (default 7.5) is killed and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONTH = date(2026, 10, 1)
TOP_SHEETS = 20
# (a)'s aggregate over the SIA files: every column the pipeline reads
SIA_SCAN = ("count(*), sum(PA_QTDAPR), sum(PA_VALAPR), max(PA_IDADE), max(PA_CODUNI), max(PA_CMP), max(PA_MVM), "
            "max(PA_PROC_ID), max(PA_MUNPCN), max(PA_UFMUN)")


# ----------------------------------------------------------------------------- child side


def _files(landing: Path) -> dict[str, list[Path]]:
    from vigia.sus import ingest_sql

    return ingest_sql.select_landing_files(landing, MONTH)


def measure_scan(landing: Path, out: Path, args) -> dict:
    from vigia.sus import ingest_sql

    files = _files(landing)
    con = ingest_sql.connect(args.memory_limit, args.threads)
    started = time.perf_counter()
    sia = con.read_parquet([str(f) for f in files["SIA"]], union_by_name=True).aggregate(SIA_SCAN).fetchall()[0]
    sih = con.read_parquet([str(f) for f in files["SIH"]], union_by_name=True).aggregate(
        "count(*), sum(VAL_TOT), max(IDADE), max(CNES), max(ANO_CMPT), max(MES_CMPT), max(PROC_REA), "
        "max(MUNIC_RES), max(MUNIC_MOV), max(N_AIH)").fetchall()[0]
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": seconds, "sia_rows": int(sia[0]), "sih_rows": int(sih[0]),
            "files": {k: [f.name for f in v] for k, v in files.items()},
            "bytes": sum(Path(f).stat().st_size for v in files.values() for f in v)}


def _stepper():
    """step(name, fn, *args) runs and times one step and records the child's peak RSS during it."""
    import psutil

    steps: dict[str, float] = {}
    step_peaks: dict[str, float] = {}
    info: dict = {}
    me = psutil.Process()
    current = [0]
    stop = threading.Event()

    def sample():  # the child's own RSS, so that each step's peak can be told apart
        while not stop.is_set():
            current[0] = max(current[0], _tree_rss(me))
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()

    def step(name, fn, *a):
        current[0] = _tree_rss(me)
        t = time.perf_counter()
        info[name] = fn(*a)
        steps[name] = round(time.perf_counter() - t, 3)
        step_peaks[name] = round(max(current[0], _tree_rss(me)) / 2**20, 1)

    return steps, step_peaks, info, step, stop


def _fact_sheet_part(run, part: dict) -> dict:
    from vigia.sus import pipeline as p

    return p.fact_sheets(run, part["part"], part["parts"])


def fact_sheets_mapped(run, workers: int = 2) -> dict:
    """The DAG's mapped ``fact_sheets``: :func:`vigia.sus.pipeline.fact_sheet_parts`, then the parts
    ``workers`` at a time in fresh processes (spawned, as task processes are), as the scheduler runs
    them with ``max_active_tis_per_dag=2``. matplotlib draws on one core: two parts use both. ``done``:
    the parts' results, which :func:`vigia.sus.pipeline.publish_scores` takes (the mapped task's XCom)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from vigia.sus import pipeline as p

    parts = p.fact_sheet_parts(run)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        done = list(pool.map(_fact_sheet_part, [run] * len(parts), parts))
    return {"sheets": sum(d["sheets"] for d in done), "parts": len(parts), "done": done}


def measure_score(landing: Path, out: Path, args) -> dict:
    """(d) The score step alone (then dq_scores, fact_sheets, publish_scores) on a copy of the prior-cube
    warehouse, scoring its LAST prior month (MONTH - 1: 13 months of national cubes, all covered), with
    the landing's population and CNES registry. No ingest: the step's own time and peak."""
    from vigia import runs
    from vigia.connections import ConnectionSpec
    from vigia.sus import datasus
    from vigia.sus import pipeline as p
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{(out / 'warehouse.duckdb').as_posix()}"))
    run = p.SusRun("bench_score", runs.add_months(MONTH, -1), str(landing), top_fact_sheets=TOP_SHEETS)
    datasus.read_population(landing).to_parquet(run.file("population.parquet"), index=False)
    datasus.read_registry(landing, MONTH)[0].to_parquet(run.file("registry.parquet"), index=False)
    steps, step_peaks, info, step, stop = _stepper()
    started = time.perf_counter()
    step("score", p.score, run, wh)
    step("dq_scores", p.gate_scores, run, wh)
    step("fact_sheets", fact_sheets_mapped, run)
    step("publish_scores", p.publish_scores, run, wh, info["fact_sheets"]["done"])
    stop.set()
    return {"seconds": time.perf_counter() - started, "steps": steps, "step_peak_rss_mb": step_peaks,
            "competencia": str(run.competencia), **info["score"], "sheets": info["fact_sheets"]["sheets"]}


def measure_vigia(landing: Path, out: Path, args) -> dict:
    from vigia.connections import ConnectionSpec
    from vigia.sus import pipeline as p
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{(out / 'warehouse.duckdb').as_posix()}"))
    run = p.SusRun("bench", MONTH, str(landing), top_fact_sheets=TOP_SHEETS)
    steps, step_peaks, info, step, stop = _stepper()

    started = time.perf_counter()
    ufs = p.list_ufs(run)
    step("ingest", lambda: [p.ingest_uf(run, uf) for uf in ufs])
    step("dq_ingest", p.gate_ingest, run, wh, ufs)
    step("build_cube", p.build_cube, run, ufs)
    step("dq_cube", p.gate_cube, run, wh)
    step("publish_cube", p.publish_cube, run, wh)
    if not args.until_cube:
        step("score", p.score, run, wh)
        step("dq_scores", p.gate_scores, run, wh)
        step("fact_sheets", fact_sheets_mapped, run)
        step("publish_scores", p.publish_scores, run, wh, info["fact_sheets"]["done"])
    seconds = time.perf_counter() - started
    stop.set()
    shutil.copy(run.file("cube.parquet"), out / "cube.parquet")
    out_info = {"seconds": seconds, "steps": steps, "step_peak_rss_mb": step_peaks, "rows": sum(i["rows"] for i in info["ingest"]),
                "staged": sum(i["staged"] for i in info["ingest"]), "cells": info["build_cube"]["cells"]}
    if not args.until_cube:
        shutil.copy(run.file("ranking.parquet"), out / "ranking.parquet")
        out_info.update(establishments=info["score"]["establishments"], sheets=info["fact_sheets"]["sheets"],
                        history_months=info["score"]["history_months"])
    return out_info


def pandas_cube(good, targets):
    """The cube of cube_production.sql, straightforwardly in pandas: one merge per prefix length."""
    import pandas as pd

    from vigia.sus import cubes
    from vigia.sus import targets as targets_mod

    codes = targets_mod.expand_codes(targets)
    parts = []
    for length, c in codes.groupby("comprimento"):
        rows = good.assign(prefixo=good["procedimento"].str[:int(length)])
        m = rows.merge(c, on=["sistema", "prefixo"], how="inner")
        ok = (m["idade_min"].isna() | (m["idade"] >= m["idade_min"])) & \
             (m["idade_max"].isna() | (m["idade"] <= m["idade_max"]))
        parts.append(m[ok])
    m = pd.concat(parts, ignore_index=True)
    cube = (m.groupby(["competencia", "cnes", "municipio_residencia", "alvo", "versao", "sistema"], as_index=False)
            .agg(quantidade=("quantidade", "sum"), valor=("valor", "sum"), n_aih=("n_aih", "count"))
            .rename(columns={"municipio_residencia": "municipio", "versao": "alvo_versao"}))
    return cubes.with_uf(cube)


def measure_pandas(landing: Path, out: Path, args) -> dict:
    """(c) ingest, cube and the 12 history cubes, then the month scored twice on the same history frame:
    ``score`` by the straightforward pandas scorer (``bench/sus_pandas_scores.py``, the issue's baseline)
    and ``score_vigia_formulas`` by ``scoring.score_month`` (Vigia's own optimised score functions on
    pandas aggregates: the previous baseline). Each total counts one scorer."""
    import gc

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sus_pandas_scores import score_month_pandas

    from vigia import runs
    from vigia.connections import ConnectionSpec
    from vigia.sus import datasus, ingest_pandas, scoring, targets
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{(out / 'warehouse.duckdb').as_posix()}"))
    steps, step_peaks, info, step, stop = _stepper()

    def ingest():
        good, bad, _ = ingest_pandas.ingest_competencia(landing, MONTH)
        return good[good["competencia"] == MONTH], len(bad)

    def history(cube):
        start = runs.add_months(MONTH, -12)
        h = wh.query_file("sus/cube_history.sql", {"inicio": start, "fim": runs.add_months(MONTH, -1)})
        h["competencia"] = pd.to_datetime(h["competencia"]).dt.date
        return pd.concat([h, cube[h.columns]], ignore_index=True)

    step("ingest", ingest)
    good, quarantined = info.pop("ingest")
    rows = len(good)
    step("build_cube", pandas_cube, good, targets.load())
    del good
    cube = info.pop("build_cube")
    step("history", history, cube)
    hist = info.pop("history")
    covered = sorted(set(hist["competencia"]))
    population = datasus.read_population(landing)
    registry = datasus.read_competencia(landing, "CNES", MONTH)
    measures = targets.measures(targets.load())  # as the DAG's score step: each target's medida
    step("score", lambda: score_month_pandas(hist, MONTH, population, registry, covered, measures=measures))
    info.pop("score").ranking.to_parquet(out / "ranking.parquet", index=False)
    gc.collect()
    try:  # hand the first scorer's freed memory back to the OS, so that the second step's peak is its own
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    step("score_vigia_formulas",
         lambda: scoring.score_month(hist, MONTH, population, registry, covered, measures=measures))
    result = info.pop("score_vigia_formulas")
    stop.set()
    result.ranking.to_parquet(out / "ranking_vigia_formulas.parquet", index=False)
    cube.to_parquet(out / "cube.parquet", index=False)
    common = steps["ingest"] + steps["build_cube"] + steps["history"]
    return {"seconds": common + steps["score"], "seconds_vigia_formulas": common + steps["score_vigia_formulas"],
            "steps": steps, "step_peak_rss_mb": step_peaks, "rows": rows, "quarantined": quarantined,
            "cells": len(cube), "history_cells": len(hist), "establishments": len(result.ranking)}


MEASURES = {"scan": measure_scan, "vigia": measure_vigia, "pandas": measure_pandas, "score": measure_score}


def child_main(args) -> int:
    out = Path(args.out)
    if args.child in ("vigia", "pandas", "score"):
        shutil.copy(Path(args.landing).parent / "prior.duckdb", out / "warehouse.duckdb")
    result = MEASURES[args.child](Path(args.landing), out, args)
    result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result, default=str))
    return 0


# ----------------------------------------------------------------------------- parent side


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_child(kind: str, landing: Path, out: Path, args) -> dict:
    import psutil

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--child", kind, "--landing", str(landing), "--out", str(out),
           "--threads", str(args.threads), "--memory-limit", args.memory_limit]
    if args.until_cube and landing.parent.name == "national":
        cmd.append("--until-cube")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), os.environ.get("PYTHONPATH", "")]),
           "VIGIA_DATA_DIR": str(out / "data")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = [0]
    done = threading.Event()

    killed = []

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(ps))
            if peak[0] > args.kill_above_gb * 2**30 and not killed:  # a shared machine: never go far past the budget
                killed.append(peak[0])
                proc.kill()
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    if killed:
        print(f"  {kind:7s} {landing.parent.name:9s} killed: RSS of the tree passed {args.kill_above_gb} GB", flush=True)
        return {"seconds": None, "killed_at_mb": round(killed[0] / 2**20), "peak_rss_mb": round(peak[0] / 2**20, 1)}
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {landing} failed:\n{stderr[-4000:]}")
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    result["peak_rss_mb"] = round(peak[0] / 2**20, 1)
    print(f"  {kind:7s} {landing.parent.name:9s} {result['seconds']:8.2f} s  peak {result['peak_rss_mb']:7.0f} MB"
          + (f"  steps {result['steps']}" if "steps" in result else "")
          + (f"  step peaks MB {result['step_peak_rss_mb']}" if "step_peak_rss_mb" in result else ""), flush=True)
    return result


def generate(folder: Path, sia_rows: int, prior: int, args) -> None:
    folder = folder.resolve()
    landing = folder / "landing"
    if (folder / "generated.json").exists():
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cmd = [sys.executable, "-m", "vigia.sample_data", "sus", "--landing", str(landing), "--municipalities",
           str(args.municipalities), "--sia-rows", str(sia_rows), "--months", "1", "--end-month", f"{MONTH:%Y-%m}",
           "--sia-part-rows", str(args.part_rows), "--prior-cubes", str(prior),
           "--warehouse", f"duckdb:///{(folder / 'prior.duckdb').as_posix()}"]
    started = time.perf_counter()
    print(f"generating {folder} ...", flush=True)
    done = subprocess.run(cmd, check=True, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "include")})
    (folder / "generated.json").write_text(json.dumps({"command": cmd, "stdout": done.stdout,
                                                       "seconds": round(time.perf_counter() - started, 1)}))
    print(done.stdout.strip(), flush=True)


def compare(a: Path, b: Path) -> dict:
    """Cubes of Vigia (a) and pandas (b) on the same landing, and Vigia's ranking against both pandas
    rankings (the straightforward scorer's ``ranking.parquet``, ``score_month``'s
    ``ranking_vigia_formulas.parquet``)."""
    import pandas as pd

    key = ["alvo", "sistema", "cnes", "municipio"]
    ca = pd.read_parquet(a / "cube.parquet").sort_values(key).reset_index(drop=True)
    cb = pd.read_parquet(b / "cube.parquet").sort_values(key).reset_index(drop=True)
    cols = key + ["competencia", "uf", "alvo_versao", "quantidade", "valor", "n_aih"]
    pd.testing.assert_frame_equal(ca[cols], cb[cols], check_exact=False, rtol=1e-9, check_dtype=False)
    # every establishment's excess equal; ranks equal where there is excess (ties at 0 may swap)
    ra = pd.read_parquet(a / "ranking.parquet").sort_values("cnes").reset_index(drop=True)
    pos = ra["excesso_valor"] > 0
    for name in ("ranking.parquet", "ranking_vigia_formulas.parquet"):
        rb = pd.read_parquet(b / name).sort_values("cnes").reset_index(drop=True)
        pd.testing.assert_frame_equal(ra[["cnes", "excesso_valor"]], rb[["cnes", "excesso_valor"]],
                                      check_exact=False, rtol=1e-6, atol=1e-6, obj=name)
        assert (ra.loc[pos, "rank"].to_numpy() == rb.loc[pos, "rank"].to_numpy()).all(), f"ranks differ: {name}"
    return {"cube_cells": len(ca), "ranked": len(ra), "with_excess": int(pos.sum()),
            "equal": ["ranking (straightforward scorer)", "ranking_vigia_formulas"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "bench" / "sus_national")
    parser.add_argument("--sia-rows", type=int, default=51_000_000)
    parser.add_argument("--pandas-sia-rows", type=int, default=5_000_000)
    parser.add_argument("--municipalities", type=int, default=5570)
    parser.add_argument("--part-rows", type=int, default=10_000_000)
    parser.add_argument("--prior-cubes", type=int, default=36)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--until-cube", action="store_true",
                        help="national: stop (b) after publish_cube (ingest and cube only)")
    parser.add_argument("--kill-above-gb", type=float, default=7.5, help="kill a child whose RSS passes this")
    parser.add_argument("--skip", default="", help="comma list of measurements to skip: national,score,pandas "
                        "(score: (d), the score step alone on the prior cubes)")
    parser.add_argument("--child", choices=sorted(MEASURES))
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)

    import psutil

    skip = set(filter(None, args.skip.split(",")))
    national, small = args.data / "national", args.data / "pandas"
    if "national" not in skip or "score" not in skip:
        generate(national, args.sia_rows, args.prior_cubes, args)
    if "pandas" not in skip:
        generate(small, args.pandas_sia_rows, 12, args)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
          f"load average {os.getloadavg()[0]:.2f} at start; DuckDB threads={args.threads}, "
          f"memory_limit={args.memory_limit}", flush=True)
    results: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                 "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
                                 "load_start": os.getloadavg()}, "args": {k: str(v) for k, v in vars(args).items()}}
    runs_dir = args.data / "runs"
    if "national" not in skip:
        results["national_scan"] = run_child("scan", national / "landing", runs_dir / "national_scan", args)
        results["national_vigia"] = run_child("vigia", national / "landing", runs_dir / "national_vigia", args)
    if "score" not in skip:
        results["national_score"] = run_child("score", national / "landing", runs_dir / "national_score", args)
    if "pandas" not in skip:
        results["small_scan"] = run_child("scan", small / "landing", runs_dir / "small_scan", args)
        results["small_vigia"] = run_child("vigia", small / "landing", runs_dir / "small_vigia", args)
        results["small_pandas"] = run_child("pandas", small / "landing", runs_dir / "small_pandas", args)
        results["equal"] = compare(runs_dir / "small_vigia", runs_dir / "small_pandas")
    results["machine"]["load_end"] = os.getloadavg()

    print("\n| data | measurement | seconds | ratio | peak RSS (tree) |\n|---|---|---:|---:|---:|")
    if "national" not in skip:
        s, v = results["national_scan"], results["national_vigia"]
        size = f"{s['sia_rows']:,} SIA + {s['sih_rows']:,} SIH rows ({s['bytes'] / 2**20:,.0f} MB Parquet)"
        print(f"| {size} | (a) plain DuckDB scan | {s['seconds']:.2f} | 1 | {s['peak_rss_mb']:,.0f} MB |")
        ratio = v["seconds"] / s["seconds"]
        what = "ingest .. publish_cube (--until-cube)" if args.until_cube else "whole month"
        print(f"| same | (b) Vigia {what} | {v['seconds']:.2f} | {ratio:.1f}x scan "
              f"({'met' if ratio <= 3 else 'missed'}: <= 3x) | {v['peak_rss_mb']:,.0f} MB "
              f"({'met' if v['peak_rss_mb'] <= 6144 else 'missed'}: <= 6 GB) |")
        results["national_ratio_to_scan"] = ratio
    if "score" not in skip and results["national_score"].get("seconds") is not None:
        d = results["national_score"]
        print(f"| 13 months of national cubes, scoring {d['competencia']} | (d) score step alone (then dq_scores, "
              f"fact_sheets, publish_scores: {d['seconds']:.2f} s) | {d['steps']['score']:.2f} | | "
              f"{d['step_peak_rss_mb']['score']:,.0f} MB score step, {d['peak_rss_mb']:,.0f} MB whole child "
              f"({'met' if d['peak_rss_mb'] <= 6144 else 'missed'}: <= 6 GB) |")
    if "pandas" not in skip:
        s, v, pd_ = results["small_scan"], results["small_vigia"], results["small_pandas"]
        size = f"{s['sia_rows']:,} SIA + {s['sih_rows']:,} SIH rows"
        print(f"| {size} | (a) plain DuckDB scan | {s['seconds']:.2f} | 1 | {s['peak_rss_mb']:,.0f} MB |")
        print(f"| same | (b) Vigia whole month | {v['seconds']:.2f} | {v['seconds'] / s['seconds']:.1f}x scan | "
              f"{v['peak_rss_mb']:,.0f} MB |")
        same_work = sum(v["steps"][k] for k in ("ingest", "build_cube", "score"))
        ratio = pd_["seconds"] / same_work
        strict = pd_["seconds_vigia_formulas"] / same_work
        print(f"| same | (c) pandas ingest + cube + history + straightforward scores | {pd_['seconds']:.2f} | "
              f"{ratio:.1f}x Vigia's ingest + cube + score ({same_work:.2f} s; "
              f"{'met' if ratio >= 10 else 'missed'}: >= 10x); {pd_['seconds'] / v['seconds']:.1f}x Vigia's "
              f"whole month | {pd_['peak_rss_mb']:,.0f} MB (child, both scorers) |")
        print(f"| same | (c') pandas ingest + cube + history + Vigia's score formulas (scoring.score_month) | "
              f"{pd_['seconds_vigia_formulas']:.2f} | {strict:.1f}x Vigia's ingest + cube + score; "
              f"{pd_['seconds_vigia_formulas'] / v['seconds']:.1f}x Vigia's whole month | "
              f"score steps' peaks: {pd_['step_peak_rss_mb']['score_vigia_formulas']:,.0f} MB "
              f"(straightforward: {pd_['step_peak_rss_mb']['score']:,.0f} MB) |")
        print(f"\nresults equal (cube cells, ranking): {results['equal']}")
        results["pandas_ratio"] = ratio
        results["pandas_vigia_formulas_ratio"] = strict
    (args.data / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; results in {args.data / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
