"""Cluster profiles: what each group is and how much money it loses.

One row per segment x cluster, with its size, mean features, total glosa and
share of the segment's glosa, ranked by financial impact inside the segment
(``rank_in_segment``) and across the whole month (``rank_overall``), and a
short description in Portuguese built from the cluster means compared with the
segment as a whole:

* value: "valor alto" when mean GLOSA_ATUAL >= 1.5x the segment mean,
  "valor baixo" when <= 0.5x, else "valor médio";
* index: the same thresholds on IND_GLOSA, as "índice alto/médio/baixo";
* trend: "em alta" when mean SALTO_VALOR > 5% of the mean GLOSA_ATUAL,
  "em queda" when < -5%, else "estável".

For example "valor alto, índice alto, em alta".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigia.glosa.contract import SEGMENT_KEYS

HIGH, LOW, TREND = 1.5, 0.5, 0.05

PROFILE_COLUMNS = SEGMENT_KEYS + [
    "cluster", "size", "mean_glosa_atual", "mean_ind_glosa", "mean_salto_valor",
    "mean_salto_indice", "total_glosa", "share_of_segment_glosa", "rank_in_segment",
    "rank_overall", "descricao",
]


def _level(value: float, reference: float, noun: str) -> str:
    if reference <= 0:
        return f"{noun} baixo" if value <= 0 else f"{noun} alto"
    ratio = value / reference
    if ratio >= HIGH:
        return f"{noun} alto"
    if ratio <= LOW:
        return f"{noun} baixo"
    return f"{noun} médio"


def _trend(salto: float, level: float) -> str:
    scale = abs(level) if level else 1.0
    if salto > TREND * scale:
        return "em alta"
    if salto < -TREND * scale:
        return "em queda"
    return "estável"


def describe(mean_glosa: float, mean_ind: float, mean_salto: float,
             segment_mean_glosa: float, segment_mean_ind: float) -> str:
    """Readable description of one cluster's means against its segment's means."""
    return ", ".join([
        _level(mean_glosa, segment_mean_glosa, "valor"),
        _level(mean_ind, segment_mean_ind, "índice"),
        _trend(mean_salto, mean_glosa),
    ])


def build_profiles(clustered: pd.DataFrame) -> pd.DataFrame:
    """Profiles of every clustered cell (rows whose ``cluster`` is null are ignored)."""
    rows = clustered[clustered["cluster"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    rows["cluster"] = rows["cluster"].astype("int64")
    prof = (
        rows.groupby(SEGMENT_KEYS + ["cluster"], sort=True)
        .agg(
            size=("GLOSA_ATUAL", "size"),
            mean_glosa_atual=("GLOSA_ATUAL", "mean"),
            mean_ind_glosa=("IND_GLOSA", "mean"),
            mean_salto_valor=("SALTO_VALOR", "mean"),
            mean_salto_indice=("SALTO_INDICE", "mean"),
            total_glosa=("GLOSA_ATUAL", "sum"),
        )
        .reset_index()
    )
    seg_means = rows.groupby(SEGMENT_KEYS)[["GLOSA_ATUAL", "IND_GLOSA"]].mean()
    seg_total = prof.groupby(SEGMENT_KEYS)["total_glosa"].transform("sum")
    prof["share_of_segment_glosa"] = np.where(seg_total > 0, prof["total_glosa"] / seg_total.where(seg_total > 0, 1), 0.0)
    prof["rank_in_segment"] = (
        prof.groupby(SEGMENT_KEYS)["total_glosa"].rank(method="first", ascending=False).astype("int64")
    )
    prof["rank_overall"] = prof["total_glosa"].rank(method="first", ascending=False).astype("int64")
    seg = prof.join(seg_means, on=SEGMENT_KEYS)
    prof["descricao"] = [
        describe(*values)
        for values in zip(seg["mean_glosa_atual"], seg["mean_ind_glosa"], seg["mean_salto_valor"],
                          seg["GLOSA_ATUAL"], seg["IND_GLOSA"])
    ]
    return prof.sort_values("rank_overall")[PROFILE_COLUMNS].reset_index(drop=True)
