"""Benchmark: full retraining, the four models with stratified 10-fold CV on 200k rows, on 2 cores.

Data: the regulation sample generator at benchmark size, features built by
``vigia.regulation.features.build_features`` (DuckDB) as the DAG does; the most recent
``--rows`` decided guias are cross-validated (in_fold protocol: oversampling inside each
training fold, the DAG's honest protocol).

Vigia: ``vigia.regulation.evaluation.cross_validate_models`` exactly as the DAG's mapped task
runs it: every fit single-threaded (``threadpool_limits(1)``) and ``--jobs`` folds side by side
(joblib/loky processes).

Baseline: the straightforward scikit-learn loop a notebook would run: the *same* Pipelines and
folds, ``cross_validate(n_jobs=1)``, library-default threading (OpenMP/BLAS threads on every core).
Results are the same models on the same folds, so the kappas must agree; only the execution differs.

Model by model, Vigia then the baseline, in the same process, so both see the same machine load.
Peak memory: resident memory of this process plus its worker processes, sampled every 0.2 s
(and how far above the process's memory before the block it went: the data frame and the
generator's leftovers are already resident).
Prints a Markdown block for docs/benchmarks.md.

    python bench/regulation_retraining.py                          # 200k rows, 10 folds (long)
    python bench/regulation_retraining.py --rows 20000 --folds 3   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sklearn.model_selection import StratifiedKFold, cross_validate

from vigia.connections import ConnectionSpec
from vigia.regulation.evaluation import SCORERS, cross_validate_models
from vigia.regulation.models import MODEL_NAMES, make_model
from vigia.regulation.preprocessing import build_pipeline
from vigia.sample_data import regulation as sample


class PeakMemory:
    """Peak RSS (MB) of this process and all its children while the block runs."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        self.start = psutil.Process().memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                procs = [me] + me.children(recursive=True)
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.mb = self.peak / 2**20
        self.delta = self.mb - self.start     # above what the process held before the block


def features(rows: int, seed: int) -> tuple[pd.DataFrame, float, int]:
    os.environ.setdefault("VIGIA_PSEUDONYM_KEY", "chave-do-benchmark-de-retreino")
    from vigia.regulation.features import build_features

    folder = Path(tempfile.mkdtemp(prefix="vigia_bench_regulation_"))
    out = folder / "regulation.duckdb"
    requests = int(rows * 1.15)                       # ~13 months generated; the pending days are dropped
    start = time.perf_counter()
    counts = sample.generate(out, beneficiaries=max(rows // 8, 1000), requests=requests,
                             end=date(2026, 11, 15), seed=seed)
    spec = ConnectionSpec.from_uri("regulation_source", f"duckdb:///{out.as_posix().lstrip('/')}")
    frame = build_features(spec, date(2025, 10, 1), date(2026, 11, 12))
    seconds = time.perf_counter() - start
    frame = frame.sort_values("data_solicitacao").tail(rows).reset_index(drop=True)
    return frame, seconds, counts["eventos"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=MODEL_NAMES)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    frame, gen_seconds, n_events = features(args.rows, args.seed)
    y = frame["autorizado"].astype(int)
    print(f"data: {len(frame):,} guias ({y.mean():.1%} autorizadas), {n_events:,} eventos; "
          f"generated + features in {gen_seconds:.1f}s", flush=True)
    splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))

    results = []
    for model in args.models:
        with PeakMemory() as mem:
            t = time.perf_counter()
            cv = cross_validate_models(frame, y, [model], protocols=("in_fold",), folds=args.folds,
                                       n_jobs=args.jobs)
            vigia_s = time.perf_counter() - t
        vigia_kappa = float(np.mean(cv.fold_scores[("in_fold", model)]["kappa"]))
        row = {"model": model, "vigia_s": vigia_s, "vigia_mb": mem.mb, "vigia_delta": mem.delta,
               "vigia_kappa": vigia_kappa}
        print(f"{model}: vigia {vigia_s:.1f}s, peak {mem.mb:.0f} MB (+{mem.delta:.0f}), kappa {vigia_kappa:.4f}",
              flush=True)
        if not args.no_baseline:
            with PeakMemory() as mem:
                t = time.perf_counter()
                base = cross_validate(build_pipeline(make_model(model)), frame, y, cv=splits, n_jobs=1,
                                      scoring={"kappa": SCORERS["kappa"]})
                base_s = time.perf_counter() - t
            row.update(baseline_s=base_s, baseline_mb=mem.mb, baseline_delta=mem.delta,
                       baseline_kappa=float(np.mean(base["test_kappa"])))
            print(f"{model}: baseline {base_s:.1f}s, peak {mem.mb:.0f} MB (+{mem.delta:.0f}), "
                  f"kappa {row['baseline_kappa']:.4f}", flush=True)
        results.append(row)

    df = pd.DataFrame(results)
    cpu = platform.processor() or platform.machine()
    print("\n---- Markdown for docs/benchmarks.md ----\n")
    print(f"Machine: {os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
          f"Python {platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f}.  ")
    print(f"Data: {len(frame):,} decided guias, {n_events:,} eventos in the source, {args.folds}-fold stratified "
          f"CV, protocol in_fold, Vigia with {args.jobs} folds side by side.\n")
    if args.no_baseline:
        print("| Model | Vigia (s) | Peak RSS, process + workers (MB) | Above the data held before (MB) | CV kappa |\n"
              "|---|---|---|---|---|")
        for r in results:
            print(f"| {r['model']} | {r['vigia_s']:.1f} | {r['vigia_mb']:.0f} | {r['vigia_delta']:.0f} | "
                  f"{r['vigia_kappa']:.4f} |")
        print(f"| **total** | {df['vigia_s'].sum():.1f} | {df['vigia_mb'].max():.0f} | {df['vigia_delta'].max():.0f} | |")
    else:
        print("| Model | Vigia (s) | Baseline (s) | Baseline / Vigia | Vigia peak MB | Baseline peak MB | "
              "Kappa Vigia / baseline |\n|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['model']} | {r['vigia_s']:.1f} | {r['baseline_s']:.1f} | {r['baseline_s'] / r['vigia_s']:.2f}x "
                  f"| {r['vigia_mb']:.0f} | {r['baseline_mb']:.0f} | {r['vigia_kappa']:.4f} / {r['baseline_kappa']:.4f} |")
        print(f"| **total** | {df['vigia_s'].sum():.1f} | {df['baseline_s'].sum():.1f} | "
              f"{df['baseline_s'].sum() / df['vigia_s'].sum():.2f}x | {df['vigia_mb'].max():.0f} | "
              f"{df['baseline_mb'].max():.0f} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
