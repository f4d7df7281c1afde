"""Benchmark: SUS ingestion of one competência, DuckDB-native (vigia.sus.ingest_sql) against a plain scan and pandas.

1. Generates national shape twice with ``python -m vigia.sample_data sus --landing DIR --municipalities 5570
   --sia-rows N --months 4`` (one file per UF and month): N = ``--sia-rows`` (default 50,000,000) and
   N = ``--pandas-sia-rows`` (default 5,000,000), a size the pandas path can hold.
2. Measures, each in its own child process (so every peak RSS is separate; ru_maxrss of the child):
   (a) one plain DuckDB scan of the SIA + SIH files the last month's ingestion reads:
       ``SELECT count(*), sum(qty), sum(value) FROM read_parquet([...])``;
   (b) the SQL path: ``ingest_sql.ingest_competencia`` (good + quarantine Parquet, per-file counts)
       + ``cubes.build_cube`` over producao_SIA/SIH.parquet, for the last month;
   (c) the pandas path: ``ingest_pandas.ingest_competencia`` + staged Parquet + ``build_cube``,
       on the smaller landing, with (a) and (b) on that same landing.
3. Prints a Markdown table: machine (platform, os.cpu_count()), data sizes, seconds, ratio to the plain
   scan, peak RSS. Targets for (b) at full size: wall <= 3x (a), peak RSS <= 6 GB on 2 cores.

    python bench/sus_ingest.py                                           # full size (long)
    python bench/sus_ingest.py --sia-rows 2000000 --pandas-sia-rows 1000000
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
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END_MONTH = "2024-06"


def _peak_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def _input_files(landing: Path, month: date) -> dict[str, list[Path]]:
    from vigia.sus import ingest_sql

    return ingest_sql.select_landing_files(landing, month)


# ----------------------------------------------------------------------------- measurements (child side)


def measure_scan(landing: Path, month: date, out: Path, memory_limit: str, threads: int) -> dict:
    from vigia.sus import ingest_sql

    files = _input_files(landing, month)
    con = ingest_sql.connect(memory_limit, threads)
    started = time.perf_counter()
    sia = con.execute("SELECT count(*), sum(PA_QTDAPR), sum(PA_VALAPR) FROM read_parquet(?, union_by_name=true)",
                      [[str(f) for f in files["SIA"]]]).fetchone()
    sih = con.execute("SELECT count(*), sum(1), sum(VAL_TOT) FROM read_parquet(?, union_by_name=true)",
                      [[str(f) for f in files["SIH"]]]).fetchone()
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": seconds, "sia_rows_read": int(sia[0]), "sih_rows_read": int(sih[0]),
            "files": sum(len(v) for v in files.values()),
            "bytes": sum(Path(f).stat().st_size for v in files.values() for f in v)}


def measure_sql(landing: Path, month: date, out: Path, memory_limit: str, threads: int) -> dict:
    from vigia.sus import cubes, ingest_sql, targets

    tg = targets.load()
    started = time.perf_counter()
    files = _input_files(landing, month)
    result = ingest_sql.ingest_competencia(files, month, out, memory_limit=memory_limit, threads=threads)
    ingested = time.perf_counter()
    cube = cubes.build_cube(ingest_sql.production_files(result), month, tg, memory_limit=memory_limit,
                            threads=threads)
    done = time.perf_counter()
    return {"seconds": done - started, "ingest_seconds": ingested - started, "cube_seconds": done - ingested,
            "good_rows": sum(s["rows"] for s in result["systems"].values()),
            "quarantined": sum(s["quarantined"] for s in result["systems"].values()),
            "cube_cells": len(cube), "cube_valor": float(cube["valor"].sum())}


def measure_pandas(landing: Path, month: date, out: Path, memory_limit: str, threads: int) -> dict:
    from vigia.sus import cubes, ingest_pandas, targets

    tg = targets.load()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    production, quarantined, _ = ingest_pandas.ingest_competencia(landing, month)
    bad = len(quarantined)
    path = out / "producao_pandas.parquet"
    production.to_parquet(path, index=False)
    ingested = time.perf_counter()
    n = len(production)
    del production, quarantined
    cube = cubes.build_cube([path], month, tg, memory_limit=memory_limit, threads=threads)
    done = time.perf_counter()
    return {"seconds": done - started, "ingest_seconds": ingested - started, "cube_seconds": done - ingested,
            "good_rows": n, "quarantined": bad, "cube_cells": len(cube), "cube_valor": float(cube["valor"].sum())}


MEASURES = {"scan": measure_scan, "sql": measure_sql, "pandas": measure_pandas}


def child_main(args) -> int:
    month = date.fromisoformat(args.month)
    result = MEASURES[args.measure](Path(args.landing), month, Path(args.out), args.memory_limit, args.threads)
    result["peak_rss_mb"] = round(_peak_mb(), 1)
    print("RESULT " + json.dumps(result))
    return 0


# ----------------------------------------------------------------------------- driver


def run_child(kind: str, landing: Path, month: date, out: Path, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", kind, "--landing", str(landing),
           "--month", month.isoformat(), "--out", str(out), "--memory-limit", args.memory_limit,
           "--threads", str(args.threads)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "include"), os.environ.get("PYTHONPATH", "")])})
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {landing} failed:\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    result["process_seconds"] = time.perf_counter() - started
    print(f"  {kind:<6} {landing.name}: {result['seconds']:.2f}s, peak {result['peak_rss_mb']:.0f} MB",
          file=sys.stderr)
    return result


def generate(landing: Path, sia_rows: int, args) -> float:
    if (landing / "_planted.json").exists() and args.reuse:
        return 0.0
    shutil.rmtree(landing, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vigia.sample_data", "sus", "--landing", str(landing),
                    "--municipalities", str(args.municipalities), "--sia-rows", str(sia_rows),
                    "--months", str(args.months), "--end-month", END_MONTH], check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sia-rows", type=int, default=50_000_000, help="SIA rows per month, national size")
    parser.add_argument("--pandas-sia-rows", type=int, default=5_000_000,
                        help="SIA rows per month of the smaller landing the pandas path runs on")
    parser.add_argument("--municipalities", type=int, default=5570)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None, help="where the landings go (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse landings already generated in --workdir")
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    # child mode
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--month", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return child_main(args)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="vigia-bench-sus-"))
    work.mkdir(parents=True, exist_ok=True)
    month = date.fromisoformat(END_MONTH + "-01")
    big, small = work / f"landing_{args.sia_rows}", work / f"landing_{args.pandas_sia_rows}"
    gen = {"big": generate(big, args.sia_rows, args)}
    gen["small"] = gen["big"] if small == big else generate(small, args.pandas_sia_rows, args)

    r = {
        ("big", "scan"): run_child("scan", big, month, work / "out_big_scan", args),
        ("big", "sql"): run_child("sql", big, month, work / "out_big_sql", args),
        ("small", "scan"): run_child("scan", small, month, work / "out_small_scan", args),
        ("small", "sql"): run_child("sql", small, month, work / "out_small_sql", args),
        ("small", "pandas"): run_child("pandas", small, month, work / "out_small_pandas", args),
    }
    same = (r[("small", "sql")]["good_rows"] == r[("small", "pandas")]["good_rows"]
            and r[("small", "sql")]["cube_cells"] == r[("small", "pandas")]["cube_cells"]
            and abs(r[("small", "sql")]["cube_valor"] - r[("small", "pandas")]["cube_valor"])
            <= 1e-6 * max(1.0, abs(r[("small", "pandas")]["cube_valor"])))

    def size(which: str) -> str:
        s = r[(which, "scan")]
        return (f"{s['sia_rows_read']:,} SIA + {s['sih_rows_read']:,} SIH rows, {s['files']} files, "
                f"{s['bytes'] / 2**20:,.0f} MiB")

    lines = [
        f"### SUS ingestion of one competência ({END_MONTH}), {date.today():%Y-%m-%d}",
        "",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"os.cpu_count() = {os.cpu_count()}; DuckDB threads = {args.threads}, memory_limit = {args.memory_limit}. "
        f"Landing: {args.municipalities:,} municipalities, {args.months} months, last month measured.",
        "",
        f"* full size (`--sia-rows {args.sia_rows:,}`): {size('big')}",
        f"* pandas size (`--pandas-sia-rows {args.pandas_sia_rows:,}`): {size('small')}",
        "",
        "| size | measurement | seconds | x plain scan | ingest s | cube s | good rows | quarantined | cube cells "
        "| peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"scan": "(a) plain DuckDB scan", "sql": "(b) SQL ingest + cube", "pandas": "(c) pandas ingest + cube"}
    for which in ("big", "small"):
        base = r[(which, "scan")]["seconds"]
        for kind in ("scan", "sql", "pandas"):
            m = r.get((which, kind))
            if m is None:
                continue
            lines.append(
                f"| {'full' if which == 'big' else 'pandas size'} | {names[kind]} | {m['seconds']:.2f} | "
                f"{m['seconds'] / base:.1f} | {m.get('ingest_seconds', float('nan')):.2f} | "
                f"{m.get('cube_seconds', float('nan')):.2f} | {m.get('good_rows', '')!s} | "
                f"{m.get('quarantined', '')!s} | {m.get('cube_cells', '')!s} | {m['peak_rss_mb']:,.0f} |")
    sql_s, pd_s = r[("small", "sql")]["seconds"], r[("small", "pandas")]["seconds"]
    lines += [
        "",
        f"* pandas / SQL at pandas size: {pd_s / sql_s:.1f}x wall, "
        f"{r[('small', 'pandas')]['peak_rss_mb'] / r[('small', 'sql')]['peak_rss_mb']:.1f}x peak RSS; "
        f"same good rows, cube cells and cube value: {'yes' if same else 'NO'}.",
        f"* full size targets for (b): wall <= 3x (a): {r[('big', 'sql')]['seconds'] / r[('big', 'scan')]['seconds']:.1f}x "
        f"({'met' if r[('big', 'sql')]['seconds'] <= 3 * r[('big', 'scan')]['seconds'] else 'NOT met'}); "
        f"peak RSS <= 6 GB: {r[('big', 'sql')]['peak_rss_mb']:,.0f} MB "
        f"({'met' if r[('big', 'sql')]['peak_rss_mb'] <= 6144 else 'NOT met'}).",
        f"* data generation: {gen['big']:.0f}s full, {gen['small']:.0f}s pandas size (not timed above).",
    ]
    print("\n".join(lines))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
