"""K-Means per segment with k chosen by silhouette, the seed's method with its flaws fixed.

The seed standardises GLOSA_ATUAL, IND_GLOSA, SALTO_VALOR and SALTO_INDICE,
fits K-Means for k = 2 .. min(14, n - 2) and keeps the k with the highest
silhouette. Fixes, each covered by a test:

* **Reproducible k.** The seed searched k with unseeded K-Means and then refit
  the chosen k with a seed, which may not reproduce the clustering it chose.
  Here every fit uses ``random_state=SEED`` and the labels kept are those of
  the fit that was scored; nothing is refit.
* **Identical rows.** Silhouette needs at least two distinct labels; the seed
  crashed when rows were identical. k is capped by the number of distinct
  points, and a segment with a single distinct point is skipped with a reason.
* **0-3 rows.** k = 2 needs n - 2 >= 2, so segments with fewer than
  ``MIN_ROWS`` = 4 cells are skipped with a reason instead of failing.
* **Big segments.** Silhouette is quadratic in n (11.5 s for 10,000 rows).
  Above ``SILHOUETTE_SAMPLE`` = 3,000 rows it is computed on a fixed seeded
  sample of 3,000 rows, the same sample for every k, so the k's are compared on
  the same points. The pairwise distances of the sample are computed once per
  segment and reused for every k. K-Means itself always sees every row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.preprocessing import StandardScaler

SEED = 42
K_MIN = 2
K_MAX = 14
MIN_ROWS = K_MIN + 2
SILHOUETTE_SAMPLE = 3000

CLUSTERED = "clustered"
SKIPPED = "skipped"


@dataclass
class SegmentResult:
    status: str
    labels: np.ndarray | None = None
    k: int | None = None
    silhouette: float | None = None
    silhouette_rows: int | None = None
    reason: str | None = None
    seconds: float = 0.0
    scores: dict = field(default_factory=dict)


def k_range(n_rows: int, n_distinct: int, k_max: int = K_MAX) -> range:
    """The k's tried: 2 .. min(k_max, n - 2, distinct points)."""
    return range(K_MIN, min(k_max, n_rows - 2, n_distinct) + 1)


def cluster_matrix(
    X: np.ndarray,
    *,
    seed: int = SEED,
    k_max: int = K_MAX,
    sample_size: int = SILHOUETTE_SAMPLE,
) -> SegmentResult:
    """Cluster the raw feature matrix of one segment; never raises on degenerate input."""
    started = time.perf_counter()
    n = len(X)

    def done(result: SegmentResult) -> SegmentResult:
        result.seconds = time.perf_counter() - started
        return result

    if n < MIN_ROWS:
        return done(SegmentResult(
            SKIPPED,
            reason=f"poucos registros: {n} linha(s); são necessárias ao menos {MIN_ROWS} "
                   f"para testar k={K_MIN} (k vai de {K_MIN} a min({k_max}, n-2))",
        ))
    X = np.asarray(X, dtype=float)
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).any(axis=1).sum())
        return done(SegmentResult(SKIPPED, reason=f"{bad} linha(s) com valores não finitos nas features"))

    Xs = StandardScaler().fit_transform(X)
    n_distinct = len(np.unique(Xs, axis=0))
    ks = k_range(n, n_distinct, k_max)
    if len(ks) == 0:
        return done(SegmentResult(
            SKIPPED,
            reason=f"todas as {n} linhas têm as mesmas features; não há grupos a separar",
        ))

    rng = np.random.default_rng(seed)
    if n > sample_size:
        sample = np.sort(rng.choice(n, size=sample_size, replace=False))
    else:
        sample = np.arange(n)
    distances = pairwise_distances(Xs[sample])

    best: tuple[float, int, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in ks:
        labels = KMeans(n_clusters=k, random_state=seed, n_init="auto").fit(Xs).labels_
        sampled = labels[sample]
        n_labels = len(np.unique(sampled))
        if n_labels < 2 or n_labels >= len(sample):
            continue  # silhouette undefined for this k on these points
        score = float(silhouette_score(distances, sampled, metric="precomputed"))
        scores[k] = score
        if best is None or score > best[0]:  # ties keep the smaller k
            best = (score, k, labels)

    if best is None:
        return done(SegmentResult(SKIPPED, reason="silhueta indefinida para todos os k testados"))
    score, k, labels = best
    return done(SegmentResult(
        CLUSTERED, labels=labels.astype("int64"), k=k, silhouette=score,
        silhouette_rows=len(sample), scores=scores,
    ))
