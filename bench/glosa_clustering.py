"""Benchmark: Vigia's per-segment clustering against the seed's method, side by side.

Data: the sample generator at benchmark size (default 2,000 segments, ~1M cells,
skewed sizes with the largest 20,000-50,000 cells), features built as the DAG does.

Baseline (the seed's method, reimplemented faithfully): StandardScaler, then for
every k = 2 .. min(14, n-2) a K-Means fit and a *full* silhouette, in a plain
loop, then a final refit of the chosen k. Its K-Means uses the same
``random_state`` as Vigia's (the seed's search was unseeded), so the comparison
isolates the method, not the luck of the draw. Segments where the seed's method
crashes (fewer than 4 cells, or identical cells) are counted and excluded from
the k agreement.

Vigia: ``vigia.glosa.pipeline.cluster_segments`` exactly as the DAG's mapped task
runs it (silhouette on a fixed seeded sample of 3,000 cells with distances
computed once per segment, no refit, single-threaded because the DAG runs its
batches side by side). The seed's method runs with the library defaults it had
(OpenMP/BLAS threads on every core).

Both run in the same process, segment by segment, one after the other, so the
machine's load is the same for both. Prints a Markdown block for docs/benchmarks.md.

    python bench/glosa_clustering.py                      # full size (~30-40 min on 2 cores)
    python bench/glosa_clustering.py --segments 200 --rows 50000   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from vigia.glosa.clustering import K_MAX, SEED
from vigia.glosa.pipeline import cluster_segments
from vigia.glosa.features import FEATURES, build_features, segments, with_segment_ids
from vigia.sample_data import glosa as sample


def seed_method(X: np.ndarray) -> int | None:
    """The seed's loop: full silhouette for every k, then refit. None where the seed crashes."""
    n = len(X)
    Xs = StandardScaler().fit_transform(X)
    best_k, best = None, -np.inf
    try:
        for k in range(2, min(K_MAX, n - 2) + 1):
            labels = KMeans(n_clusters=k, random_state=SEED, n_init="auto").fit_predict(Xs)
            score = silhouette_score(Xs, labels)
            if score > best:
                best_k, best = k, score
    except ValueError:  # silhouette needs 2 <= labels <= n-1: identical cells
        return None
    if best_k is None:  # no k to try: fewer than 4 cells
        return None
    KMeans(n_clusters=best_k, random_state=SEED, n_init="auto").fit(Xs)  # the seed's final refit
    return best_k


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="bench/results/glosa_clustering.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = sample.generate([date(2026, 10, 1)], n_segments=args.segments, n_rows=args.rows, seed=args.seed)
    features = build_features(data.rows)
    segs = segments(features)
    features = with_segment_ids(features, segs)
    prep = time.perf_counter() - t0
    print(f"data: {len(data.rows):,} source rows -> {len(features):,} cells in {len(segs):,} segments "
          f"(largest {segs['rows'].max():,}); prepared in {prep:.1f}s", flush=True)

    per_segment = []
    ours_total = base_total = 0.0
    for i, (seg_id, cell) in enumerate(features.groupby("segment_id", sort=True)):
        X = cell[FEATURES].to_numpy(float)
        t = time.perf_counter()
        ours = cluster_segments(cell)[1].iloc[0]  # the segment's run row: k, status, reason
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        base_k = seed_method(X)
        t_base = time.perf_counter() - t
        ours_total += t_ours
        base_total += t_base
        ours_k = None if pd.isna(ours["k"]) else int(ours["k"])
        per_segment.append({"segment_id": int(seg_id), "rows": len(X), "ours_k": ours_k, "seed_k": base_k,
                            "ours_s": t_ours, "seed_s": t_base})
        if len(X) >= 10_000 or (i + 1) % 250 == 0:
            print(f"  segment {i + 1}/{len(segs)} rows={len(X):,} ours={t_ours:.2f}s seed={t_base:.2f}s "
                  f"k {ours_k}/{base_k}  totals ours={ours_total:.0f}s seed={base_total:.0f}s", flush=True)

    both = [s for s in per_segment if s["ours_k"] is not None and s["seed_k"] is not None]
    same = sum(s["ours_k"] == s["seed_k"] for s in both)
    big = [s for s in per_segment if s["rows"] >= 20_000]
    result = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "source_rows": len(data.rows), "cells": len(features), "segments": len(segs),
        "largest_segment": int(segs["rows"].max()), "segments_20k_plus": len(big),
        "seed_seconds": base_total, "vigia_seconds": ours_total, "ratio": base_total / ours_total,
        "k_compared": len(both), "k_same": same, "k_same_share": same / len(both) if both else None,
        "seed_crashes": sum(s["seed_k"] is None for s in per_segment),
        "vigia_skipped": sum(s["ours_k"] is None for s in per_segment),
        "big_segments_seed_seconds": sum(s["seed_s"] for s in big),
        "big_segments_vigia_seconds": sum(s["ours_s"] for s in big),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": result, "segments": per_segment}, indent=1))
    print(json.dumps(result, indent=1))
    print(f"\n| data | seed's method | Vigia | ratio | same k |\n|---|---|---|---|---|\n"
          f"| {result['segments']:,} segments, {result['cells']:,} cells (largest {result['largest_segment']:,}) "
          f"| {base_total:.1f} s | {ours_total:.1f} s | {result['ratio']:.1f}x "
          f"| {same}/{len(both)} ({100 * result['k_same_share']:.1f}%) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
