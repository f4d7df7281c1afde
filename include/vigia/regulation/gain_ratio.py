"""Gain ratio as C4.5 defines it, and a filter that drops attributes whose gain ratio is zero.

For a class ``Y`` and an attribute ``A`` splitting the cases ``D`` into ``D_1..D_v``::

    H(Y)          = -sum_c p_c log2 p_c
    gain(A)       = H(Y) - sum_i |D_i|/|D| H(Y | D_i)
    split_info(A) = -sum_i |D_i|/|D| log2(|D_i|/|D|)
    gain_ratio(A) = gain(A) / split_info(A)            (0 when split_info = 0)

Categorical attributes split into one branch per value (C4.5's multiway split).

Numeric attributes are discretised as C4.5 does: the best *binary* threshold ``A <= t``
(``t`` midway between consecutive distinct values) by information gain; the gain ratio is
that split's gain over its split information. With ``mdl_correction`` (the default, as in
C4.5 Release 8, Quinlan 1996) the gain of a numeric attribute is reduced by
``log2(N - 1) / |D|``, ``N`` being its number of distinct known values, and clipped at 0:
an attribute whose best threshold is no better than chance gets a gain ratio of exactly 0,
which is what lets the filter drop it (without it, any numeric noise has a tiny positive gain).

Missing values, as C4.5 treats them: the gain is computed on the known cases and multiplied
by the fraction ``F`` of known cases; the split information counts the unknown cases as one
more branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

TOLERANCE = 1e-12


def entropy(counts: np.ndarray) -> float:
    """Entropy in bits of a vector of class counts."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def _split_info(sizes: np.ndarray) -> float:
    return entropy(sizes)


def _codes(y) -> np.ndarray:
    return pd.factorize(pd.Series(y).reset_index(drop=True), sort=True)[0]


def categorical_gain_ratio(x, y) -> dict:
    """Gain ratio of a categorical attribute (one branch per value)."""
    x = pd.Series(x).reset_index(drop=True)
    yc = _codes(y)
    known = x.notna().to_numpy()
    n, n_known = len(x), int(known.sum())
    if n_known == 0:
        return {"gain": 0.0, "split_info": 0.0, "gain_ratio": 0.0, "threshold": None}
    table = pd.crosstab(x[known].astype(str).to_numpy(), yc[known]).to_numpy()
    base = entropy(table.sum(axis=0))
    sizes = table.sum(axis=1)
    cond = sum(s / n_known * entropy(row) for s, row in zip(sizes, table))
    fraction = n_known / n
    gain = fraction * (base - cond)
    branches = np.append(sizes, n - n_known) if n_known < n else sizes
    split = _split_info(branches)
    return {"gain": gain, "split_info": split, "gain_ratio": gain / split if split > TOLERANCE else 0.0,
            "threshold": None}


def numeric_gain_ratio(x, y, mdl_correction: bool = True) -> dict:
    """Gain ratio of a numeric attribute at its best binary threshold (see the module docstring)."""
    xv = pd.to_numeric(pd.Series(x).reset_index(drop=True), errors="coerce").to_numpy(dtype=float)
    yc = _codes(y)
    known = ~np.isnan(xv)
    n, n_known = len(xv), int(known.sum())
    empty = {"gain": 0.0, "split_info": 0.0, "gain_ratio": 0.0, "threshold": None}
    if n_known == 0:
        return empty
    xk, yk = xv[known], yc[known]
    order = np.argsort(xk, kind="mergesort")
    xs, ys = xk[order], yk[order]
    n_classes = int(yc.max()) + 1 if len(yc) else 1
    onehot = np.zeros((n_known, n_classes))
    onehot[np.arange(n_known), ys] = 1.0
    left = np.cumsum(onehot, axis=0)              # class counts of x <= xs[i]
    total = left[-1]
    cut = np.nonzero(xs[1:] > xs[:-1])[0]          # last index of each run of equal values
    distinct = len(cut) + 1
    if len(cut) == 0:
        return empty
    lc, rc = left[cut], total - left[cut]
    nl, nr = lc.sum(axis=1), rc.sum(axis=1)

    def _h(counts, sizes):
        with np.errstate(divide="ignore", invalid="ignore"):
            p = counts / sizes[:, None]
            return -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)

    cond = (nl * _h(lc, nl) + nr * _h(rc, nr)) / n_known
    base = entropy(total)
    gains = base - cond
    best = int(np.argmax(gains))
    gain = float(gains[best])
    if mdl_correction:
        gain -= np.log2(distinct - 1) / n_known if distinct > 1 else 0.0
    fraction = n_known / n
    gain = max(gain, 0.0) * fraction
    branches = np.array([nl[best], nr[best]] + ([n - n_known] if n_known < n else []))
    split = _split_info(branches)
    threshold = float((xs[cut[best]] + xs[cut[best] + 1]) / 2)
    return {"gain": gain, "split_info": split, "gain_ratio": gain / split if split > TOLERANCE else 0.0,
            "threshold": threshold}


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def gain_ratios(frame: pd.DataFrame, y, mdl_correction: bool = True) -> pd.DataFrame:
    """One row per column: kind, gain, split_info, gain_ratio, threshold; sorted by gain ratio."""
    rows = []
    for col in frame.columns:
        s = frame[col]
        if is_numeric(s):
            r = numeric_gain_ratio(s, y, mdl_correction)
            kind = "numeric"
        else:
            r = categorical_gain_ratio(s, y)
            kind = "categorical"
        rows.append({"feature": col, "kind": kind, **r})
    out = pd.DataFrame(rows, columns=["feature", "kind", "gain", "split_info", "gain_ratio", "threshold"])
    return out.sort_values(["gain_ratio", "feature"], ascending=[False, True], ignore_index=True)


class GainRatioSelector(TransformerMixin, BaseEstimator):
    """Keep the columns of a DataFrame whose C4.5 gain ratio exceeds ``min_gain_ratio`` (default 0).

    After ``fit``: ``gain_ratios_`` (records: feature, kind, gain, split_info, gain_ratio, threshold,
    sorted by gain ratio; :meth:`table` gives them as a DataFrame),
    ``selected_`` (kept column names, in input order) and ``dropped_``.
    """

    def __init__(self, min_gain_ratio: float = 0.0, mdl_correction: bool = True):
        self.min_gain_ratio = min_gain_ratio
        self.mdl_correction = mdl_correction

    def fit(self, X: pd.DataFrame, y=None):
        if y is None:
            raise ValueError("GainRatioSelector needs the class labels (y) to compute gain ratios")
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        table = gain_ratios(X, y, self.mdl_correction)
        # plain Python records (not a DataFrame) so the fitted selector serialises with skops
        self.gain_ratios_ = [{k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else
                                  (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
                             for row in table.to_dict(orient="records")]
        ratio = dict(zip(table["feature"], table["gain_ratio"]))
        threshold = max(self.min_gain_ratio, 0.0) + TOLERANCE
        self.selected_ = [c for c in X.columns if ratio[c] > threshold]
        self.dropped_ = [c for c in X.columns if c not in self.selected_]
        return self

    def table(self) -> pd.DataFrame:
        check_is_fitted(self, "selected_")
        return pd.DataFrame(self.gain_ratios_).assign(selected=lambda d: d["feature"].isin(self.selected_))

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "selected_")
        return pd.DataFrame(X)[self.selected_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "selected_")
        return np.asarray(self.selected_, dtype=object)
