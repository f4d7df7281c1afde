"""Benchmark: how far below the SUS ingestion a one-pass design could go, against the plain scan.

On the national month of ``bench/sus_national.py`` (generate it first; this script only reads it),
each measured ``--repeat`` times, side by side, in one DuckDB with the benchmark's settings:

(a) ``scan``: the plain DuckDB scan of ``sus_national.py`` (every column the pipeline reads), SIA only;
(b) ``group by``: the SIA rows summed to about the grain Vigia stages (competência, CNES, procedure cut
    to 6 digits, municipality of residence, two age bands), with no check, no join, no output: the
    least any design that builds the cubes from the landed rows must do;
(c) ``ingest``: Vigia's SIA + SIH ingestion of the month (``pipeline.ingest_uf`` per UF: every row
    checked, bad rows quarantined, the staged production written);
(d) ``import gx``: importing great-expectations in a fresh Python process (``python -c 'import
    great_expectations'``), the least each data-quality gate the issue asks for costs: a gate is a task, and
    each task is its own process.

The lower bound of the month under the issue's own requirements is (b) + (d) + the fact sheets' drawing
(``sus_national.py``'s ``fact_sheets`` step): the row checks, the cubes' joins, the scores and every output
come on top. The "<= 3x the scan" target is out of reach when (b) + (d) alone approach 3x (a).

    python bench/sus_floor.py              # after python bench/sus_national.py generated the data
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT / "bench")]

from sus_national import MONTH, SIA_SCAN  # noqa: E402  (bench/ holds no package)

GROUP_BY = """
SELECT count(*) AS grupos, sum(linhas) AS linhas FROM (
    SELECT PA_CMP, PA_CODUNI, left(PA_PROC_ID, 6) AS procedimento, PA_MUNPCN, PA_IDADE < '040' AS faixa,
           sum(PA_QTDAPR) AS quantidade, sum(PA_VALAPR) AS valor, count(*) AS linhas
    FROM sia
    GROUP BY ALL
)
"""


def import_seconds(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter of this one (the process start itself excluded)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "bench" / "sus_national")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args(argv)
    landing = args.data / "national" / "landing"
    if not (args.data / "national" / "generated.json").exists():
        raise SystemExit(f"no national month under {args.data}: run python bench/sus_national.py first")
    os.environ.setdefault("VIGIA_DATA_DIR", tempfile.mkdtemp(prefix="vigia_floor_"))

    from vigia.sus import ingest_sql
    from vigia.sus import pipeline as p

    files = ingest_sql.select_landing_files(landing, MONTH)
    con = ingest_sql.connect(args.memory_limit, args.threads)
    con.read_parquet([str(f) for f in files["SIA"]], union_by_name=True).create_view("sia")
    run = p.SusRun("floor", MONTH, str(landing))
    ufs = p.list_ufs(run)
    print("| run | (a) scan, SIA | (b) group by to the staged grain | (c) Vigia ingest, SIA + SIH | (d) import gx "
          "| b / a | c / a | (b + d) / a |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for i in range(args.repeat):
        t = time.perf_counter()
        con.table("sia").aggregate(SIA_SCAN).fetchall()
        scan = time.perf_counter() - t
        t = time.perf_counter()
        grupos, linhas = con.sql(GROUP_BY).fetchall()[0]
        group_by = time.perf_counter() - t
        t = time.perf_counter()
        for uf in ufs:
            p.ingest_uf(run, uf)
        ingest = time.perf_counter() - t
        gx = import_seconds("great_expectations")
        print(f"| {i + 1} | {scan:.2f} s | {group_by:.2f} s ({grupos:,} groups of {linhas:,} rows) | "
              f"{ingest:.2f} s | {gx:.2f} s | {group_by / scan:.1f}x | {ingest / scan:.1f}x | "
              f"{(group_by + gx) / scan:.1f}x |", flush=True)
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
