"""Benchmark: the whole glosa_clustering DAG under a real scheduler against its pure compute.

1. Generates benchmark-size sample data (default 2,000 segments, ~1M cells, one month).
2. Pure compute: runs every step of the pipeline in one process, one after the
   other, with no Airflow (``vigia.glosa.pipeline``), and times it.
3. Starts ``airflow standalone`` (LocalExecutor, SQLite metadata) in a scratch
   AIRFLOW_HOME, unpauses the DAG through the REST API, waits for the run the
   scheduler creates for the latest weekly interval (the run users get every
   Monday), and reads every task instance's duration from the API. Only
   glosa_clustering is unpaused.

Prints a Markdown block for docs/benchmarks.md: DAG wall time, pure compute,
the sum of task durations, and the overhead per task instance.

    python bench/glosa_dag_wall.py                          # full size
    python bench/glosa_dag_wall.py --segments 200 --rows 50000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

from vigia import runs

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("BENCH_AIRFLOW_PORT", "18080"))
API = f"http://127.0.0.1:{PORT}/api/v2"


def call(method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(API + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def wait(what: str, check, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:
            pass
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


def pure_compute(month: date) -> float:
    from vigia.connections import ConnectionSpec, default_uri
    from vigia.glosa import pipeline as p
    from vigia.sources import read_query
    from vigia.warehouse import open_warehouse

    src = ConnectionSpec.from_uri("glosa_source", default_uri("glosa_source"))
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", default_uri("warehouse")))
    run = p.GlosaRun("bench_pure_compute", month)
    start = time.perf_counter()
    p.run_in_process(run, read_query(src, p.extract_sql_name(src.kind), p.extract_params(run)), wh)
    p.export_csv(wh)
    return time.perf_counter() - start


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "results" / "dag_wall"))
    args = ap.parse_args()

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    (work / "airflow").mkdir(parents=True)
    env = {**os.environ, "VIGIA_DATA_DIR": str(work / "data"), "AIRFLOW_HOME": str(work / "airflow"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__API__PORT": str(PORT),
           # the task runners reach the API server here, not on the default :8080
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{PORT}/execution/",
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True", "GX_ANALYTICS_ENABLED": "False"}
    os.environ.update(env)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}:{env['PATH']}"

    # the scheduled run analyses the month before its logical date (the latest Monday): cover both
    # candidate months so the bench works whatever day it runs
    month = runs.previous_month(date.today())
    subprocess.run([sys.executable, "-m", "vigia.sample_data", "glosa", "--segments", str(args.segments),
                    "--rows", str(args.rows), "--months", "2", "--end-month", f"{month:%Y-%m}"],
                   env=env, check=True)
    compute = pure_compute(month)
    print(f"pure compute, one process: {compute:.1f}s", flush=True)

    subprocess.run([str(bin_dir / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    log = open(work / "standalone.log", "w")
    server = subprocess.Popen([str(bin_dir / "airflow"), "standalone"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait("the API server", lambda: call("GET", "/monitor/health"), 240)
        wait("the DAG to be parsed", lambda: call("GET", "/dags/glosa_clustering"), 240)
        call("PATCH", "/dags/glosa_clustering", {"is_paused": False})
        run_id = wait("the scheduled run", lambda: next(
            (r["dag_run_id"] for r in call("GET", "/dags/glosa_clustering/dagRuns")["dag_runs"]), None), 300)
        print(f"scheduler created {run_id}", flush=True)
        final = wait("the run to finish", lambda: (lambda r: r if r["state"] in ("success", "failed") else None)(
            call("GET", f"/dags/glosa_clustering/dagRuns/{run_id}")), 7200, every=5)
        tis = call("GET", f"/dags/glosa_clustering/dagRuns/{run_id}/taskInstances?limit=200")["task_instances"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    wall = (parse(final["end_date"]) - parse(final["start_date"])).total_seconds()
    durations = {(t["task_id"], t["map_index"]): t["duration"] or 0.0 for t in tis}
    mapped = [d for (task, _), d in durations.items() if task == "cluster_batch"]
    result = {
        "state": final["state"], "segments": args.segments, "rows": args.rows,
        "dag_wall_seconds": wall, "pure_compute_seconds": compute,
        "task_instances": len(durations), "mapped_task_instances": len(mapped),
        "sum_task_seconds": sum(durations.values()), "cluster_batch_max_seconds": max(mapped or [0]),
        "durations": {f"{k[0]}[{k[1]}]" if k[1] >= 0 else k[0]: v for k, v in sorted(durations.items())},
    }
    (work / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "durations"}, indent=1))
    overhead = (result["sum_task_seconds"] - compute) / max(1, len(durations))
    print(f"\n| data | pure compute (1 process) | DAG wall (standalone, LocalExecutor) | sum of task durations "
          f"| task instances | overhead per task |\n|---|---|---|---|---|---|\n"
          f"| {args.segments:,} segments, {args.rows:,} cells | {compute:.1f} s | {wall:.1f} s "
          f"| {result['sum_task_seconds']:.1f} s | {len(durations)} ({len(mapped)} mapped) | {overhead:.1f} s |")
    return 0 if final["state"] == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
