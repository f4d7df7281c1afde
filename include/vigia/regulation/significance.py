"""Corrected resampled t-test (Nadeau & Bengio, 2003) for two models scored on the same folds.

With per-fold score differences ``d_1..d_k`` (model A minus model B, same folds for both),
``n_test``/``n_train`` rows per test/training fold::

    d_bar = mean(d)
    s2    = sum((d_j - d_bar)^2) / (k - 1)
    t     = d_bar / sqrt((1/k + n_test/n_train) * s2)        with k - 1 degrees of freedom

The ``n_test/n_train`` term corrects the variance for the overlap between training sets
(the folds are not independent); the naive paired t-test uses ``1/k`` alone and rejects far too
often. For 10-fold CV, ``n_test/n_train = 1/9``. The p-value is two-sided; "A significantly
better than B at level alpha" means ``p < alpha`` and ``d_bar > 0``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05


@dataclass
class TTest:
    better: str
    other: str
    metric: str
    mean_difference: float
    t: float
    p_value: float
    significant: bool
    alpha: float = ALPHA

    def as_dict(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        verdict = "significativamente melhor" if self.significant else "não significativamente melhor"
        return (f"{self.better} vs {self.other} ({self.metric}): diferença média {self.mean_difference:+.4f}, "
                f"t = {self.t:.3f}, p = {self.p_value:.4f}: {verdict} a {self.alpha:.0%}")


def corrected_t(a, b, n_train: int, n_test: int) -> tuple[float, float, float]:
    """(mean difference, t, two-sided p) of scores ``a`` minus ``b`` over the same k folds."""
    d = np.asarray(a, float) - np.asarray(b, float)
    k = len(d)
    if k < 2:
        raise ValueError("the corrected resampled t-test needs scores from at least 2 folds")
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    denom = math.sqrt((1.0 / k + n_test / n_train) * var)
    if denom == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        return mean, t, 1.0 if mean == 0.0 else 0.0
    t = mean / denom
    p = float(2 * stats.t.sf(abs(t), df=k - 1))
    return mean, t, p


def compare_best(fold_scores: dict[str, list[float]], n_train: int, n_test: int, metric: str = "kappa",
                 alpha: float = ALPHA) -> tuple[str, list[TTest]]:
    """The model with the highest mean score and its test against every other model."""
    best = max(fold_scores, key=lambda name: (np.mean(fold_scores[name]), name))
    out = []
    for other, scores in fold_scores.items():
        if other == best:
            continue
        mean, t, p = corrected_t(fold_scores[best], scores, n_train, n_test)
        out.append(TTest(best, other, metric, mean, t, p, bool(p < alpha and mean > 0), alpha))
    return best, out
