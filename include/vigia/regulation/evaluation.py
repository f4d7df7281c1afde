"""Stratified 10-fold cross-validation in two protocols, the seed's metrics and its Tables 3-5.

Labels: ``y = autorizado`` (1 authorised, 0 denied). As in the seed, the *positive* class of
precision, recall and F1 is the denial ("não autorizado", ``y = 0``): precision = VP/(VP+FP)
is the share of predicted denials that were denied. ROC AUC uses P(autorizado) (AUC does
not depend on which class is called positive). Cohen's kappa = (observed - expected) /
(1 - expected) agreement.

Protocols:

* ``in_fold`` (honest): the minority class is oversampled inside each training fold only
  (the sampler is a Pipeline step), every test fold keeps the real class balance.
* ``paper`` (the seed's): the minority class is replicated on the whole data set first, then
  split into folds; copies of one denied request land in training and test folds, so the model
  is partly tested on rows it has seen, and the test folds are balanced 1:1. Expect optimistic
  figures; the difference from ``in_fold`` is the point of reporting both.

Both use the same ``StratifiedKFold(n_splits, shuffle=True, random_state)`` splits for every
model, so the per-fold scores are paired for the corrected t-test.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import (accuracy_score, cohen_kappa_score, f1_score, make_scorer, precision_score,
                             recall_score, roc_auc_score)
from sklearn.model_selection import StratifiedKFold, cross_validate
from threadpoolctl import threadpool_limits

from vigia.regulation.models import LABELS, make_model
from vigia.regulation.preprocessing import build_pipeline, replicate_minority
from vigia.regulation.significance import ALPHA, compare_best

log = logging.getLogger(__name__)

METRICS = ["precision", "recall", "accuracy", "f1", "roc_auc", "kappa"]
METRIC_LABELS = {"precision": "Precisão", "recall": "Recall", "accuracy": "Acurácia", "f1": "F-Measure",
                 "roc_auc": "AUC", "kappa": "Kappa"}
PROTOCOLS = ["in_fold", "paper"]
PROTOCOL_LABELS = {"in_fold": "Sobreamostragem dentro do fold (honesto)",
                   "paper": "Replicado antes do CV (protocolo do artigo)"}
NEGADO = 0  # the positive class of precision / recall / F1, as in the seed

# Landis & Koch (1977): kappa < 0 poor; then each band up to and including its upper bound.
# The seed's Table 2 (its own Portuguese labels) is SEED_BANDS.
LANDIS_KOCH = [(0.0, "poor", "pobre"), (0.20, "slight", "leve"), (0.40, "fair", "razoável"),
               (0.60, "moderate", "moderada"), (0.80, "substantial", "substancial"),
               (1.0, "almost perfect", "quase perfeita")]
SEED_BANDS = [(0.2, "Ruim"), (0.4, "Razoável"), (0.6, "Bom"), (0.8, "Muito boa"), (1.0, "Excelente")]


def kappa_band(kappa: float) -> dict:
    """Landis-Koch band of a kappa, in English and Portuguese, and the seed's Table 2 label."""
    en, pt = LANDIS_KOCH[-1][1:]
    for upper, band_en, band_pt in LANDIS_KOCH:
        if (kappa < upper) if upper == 0.0 else (kappa <= upper):
            en, pt = band_en, band_pt
            break
    seed = SEED_BANDS[-1][1]
    for upper, label in SEED_BANDS:
        if kappa <= upper:
            seed = label
            break
    return {"landis_koch": en, "landis_koch_pt": pt, "qualidade_artigo": seed}


def scores(y_true, proba_authorized) -> dict:
    """The six metrics of one set of predictions (decision threshold 0.5 on P(autorizado))."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba_authorized, float)
    pred = (proba >= 0.5).astype(int)
    out = {
        "precision": precision_score(y_true, pred, pos_label=NEGADO, zero_division=0),
        "recall": recall_score(y_true, pred, pos_label=NEGADO, zero_division=0),
        "accuracy": accuracy_score(y_true, pred),
        "f1": f1_score(y_true, pred, pos_label=NEGADO, zero_division=0),
        "roc_auc": roc_auc_score(y_true, proba) if len(np.unique(y_true)) == 2 else float("nan"),
        "kappa": cohen_kappa_score(y_true, pred),
    }
    return {k: float(v) for k, v in out.items()}


SCORERS = {
    "precision": make_scorer(precision_score, pos_label=NEGADO, zero_division=0),
    "recall": make_scorer(recall_score, pos_label=NEGADO, zero_division=0),
    "accuracy": "accuracy",
    "f1": make_scorer(f1_score, pos_label=NEGADO, zero_division=0),
    "roc_auc": "roc_auc",
    "kappa": make_scorer(cohen_kappa_score),
}


@dataclass
class CVResult:
    """Per-fold scores of every (protocol, model), with what the t-test needs."""

    folds: int
    rows: dict[str, int]                      # rows cross-validated per protocol (paper: after replication)
    fold_scores: dict = field(default_factory=dict)   # (protocol, model) -> {metric: [k scores]}
    seconds: dict = field(default_factory=dict)       # (protocol, model) -> wall seconds

    def summary(self) -> pd.DataFrame:
        """One row per (protocol, model): mean and std of every metric, kappa band."""
        rows = []
        for (protocol, model), per_metric in self.fold_scores.items():
            row = {"protocol": protocol, "model": model}
            for m in METRICS:
                values = np.asarray(per_metric[m], float)
                row[f"{m}_mean"] = float(np.nanmean(values))
                row[f"{m}_std"] = float(np.nanstd(values, ddof=1)) if len(values) > 1 else 0.0
            row.update(kappa_band(row["kappa_mean"]))
            row["seconds"] = self.seconds.get((protocol, model))
            rows.append(row)
        return pd.DataFrame(rows)

    def significance(self, metric: str = "kappa", alpha: float = ALPHA) -> dict:
        """Per protocol: the best model by mean ``metric`` and its corrected t-tests against the others."""
        out = {}
        for protocol in dict.fromkeys(p for p, _ in self.fold_scores):
            per_model = {m: s[metric] for (p, m), s in self.fold_scores.items() if p == protocol}
            if len(per_model) < 2:
                out[protocol] = {"best": next(iter(per_model)), "tests": []}
                continue
            n = self.rows[protocol]
            n_test = n / self.folds
            best, tests = compare_best(per_model, n_train=n - n_test, n_test=n_test, metric=metric, alpha=alpha)
            out[protocol] = {"best": best, "tests": [t.as_dict() for t in tests]}
        return out


def cross_validate_models(X: pd.DataFrame, y: pd.Series, model_names: list[str], *,
                          protocols=tuple(PROTOCOLS), folds: int = 10, random_state: int = 0,
                          n_jobs: int = 1) -> CVResult:
    """Stratified k-fold CV of each model under each protocol (see the module docstring).

    Fits run with one OpenMP/BLAS thread each (``threadpool_limits(1)``); ``n_jobs`` runs folds
    side by side instead. Measured on the shared 2-core machine: a gradient-boosting fit on
    3,000 rows took 36 s with OpenMP's 2 threads competing with other work and 0.9 s with one.
    """
    y = pd.Series(np.asarray(y).astype(int))
    X = X.reset_index(drop=True)
    result = CVResult(folds=folds, rows={})
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    for protocol in protocols:
        if protocol == "in_fold":
            Xp, yp, oversample = X, y, True
        elif protocol == "paper":
            Xp, yp = replicate_minority(X, y, random_state=random_state)
            oversample = False
        else:
            raise ValueError(f"unknown protocol '{protocol}': expected one of {PROTOCOLS}")
        result.rows[protocol] = len(Xp)
        splits = list(splitter.split(np.zeros(len(yp)), yp))
        for name in model_names:
            pipe = build_pipeline(make_model(name, random_state), oversample=oversample,
                                  random_state=random_state)
            start = time.perf_counter()
            with threadpool_limits(limits=1):
                cv = cross_validate(pipe, Xp, yp, cv=splits, scoring=SCORERS, n_jobs=n_jobs,
                                    error_score="raise")
            result.seconds[(protocol, name)] = time.perf_counter() - start
            result.fold_scores[(protocol, name)] = {m: [float(v) for v in cv[f"test_{m}"]] for m in METRICS}
            log.info("CV %s / %s: kappa %.3f (%.1fs)", protocol, name,
                     float(np.mean(cv["test_kappa"])), result.seconds[(protocol, name)])
    return result


# --- the seed's tables ------------------------------------------------------------------------
TABLES = [("Tabela 3 - Precisão e Recall", ["precision", "recall"]),
          ("Tabela 4 - Acurácia e F-Measure", ["accuracy", "f1"]),
          ("Tabela 5 - AUC e índice Kappa", ["roc_auc", "kappa"])]


def markdown_tables(summary: pd.DataFrame) -> str:
    """The seed's Tables 3-5 for our data: protocols as row groups, ``mean ± std`` over the folds.

    ``*`` marks the best model of each protocol, ``**`` the best value of the measure overall.
    """
    parts = []
    for title, metrics in TABLES:
        header = "| Protocolo | Modelo | " + " | ".join(METRIC_LABELS[m] for m in metrics) + " |"
        lines = [f"**{title}**", "", header, "|" + "---|" * (2 + len(metrics))]
        best_overall = {m: summary[f"{m}_mean"].max() for m in metrics}
        for protocol in dict.fromkeys(summary["protocol"]):
            block = summary[summary["protocol"] == protocol]
            best_here = {m: block[f"{m}_mean"].max() for m in metrics}
            for _, row in block.iterrows():
                cells = []
                for m in metrics:
                    v = row[f"{m}_mean"]
                    mark = "**" if v == best_overall[m] else "*" if v == best_here[m] else ""
                    cells.append(f"{v:.3f} ± {row[f'{m}_std']:.3f}{mark}")
                lines.append(f"| {PROTOCOL_LABELS.get(protocol, protocol)} | {LABELS.get(row['model'], row['model'])} | "
                             + " | ".join(cells) + " |")
        lines += ["", "(*) melhor resultado do protocolo; (**) melhor resultado da medida.", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)
