"""Oscillation of each establishment x target against its own recent past."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import _MES, _dense, _group_month_keys, _month_dates, _month_index, _require, _with_month

MEASURES = ("quantidade", "valor")
# an established production line: a median of at least this many units. Below it an oscillation stays out
# of the ranking and a jump carries no excess
MIN_MEDIAN_BASELINE = 5.0


def oscillation(
    cube: pd.DataFrame,
    covered_months: Sequence[_dt.date],
    windows: Sequence[int] = (12, 6),
    only_months: Sequence[_dt.date] | None = None,
    min_median: float = MIN_MEDIAN_BASELINE,
) -> pd.DataFrame:
    """Oscillation of each establishment x target against its own recent past.

    ``cube``: cnes, alvo, competencia, quantidade, valor; one row per
    establishment x target x month WITH production (an absent row = 0).
    ``covered_months``: the months for which cubes exist in the warehouse.

    For each row (month i), each window m in ``windows`` and each measure
    t in (quantidade, valor)::

        score = (t_i + 1) / (median(t_{i-m}, ..., t_{i-1}) + 1)

    The +1 on both sides keeps the ratio finite when the past is all zeros
    (a new production line from 0 to 50 scores 51). Months of the window that
    are covered but have no row for this establishment x target count as 0.

    If any of the m previous months is NOT in ``covered_months`` the score is
    not computed: value = NaN and reason =
    ``"sem histórico: k de m meses anteriores disponíveis"``.

    When the median of the COUNT over the window is below ``min_median`` units
    (default 5, the same floor as :func:`jump_excess`), the score is computed
    but carries the reason ``"sem base: mediana de m meses = x unidade(s) < 5;
    fora do ranking"`` on both measures: the ratio then measures how new the
    production line is, not how much it changed (2 admissions after a year of
    none score 3 on the count and tens of thousands on the value), and
    :func:`provider_ranking` leaves scores with a reason out of its
    percentiles. The value stays in the output for the auditor to read.

    Returns long format: cnes, alvo, competencia, score, value, reason, with
    score in ``oscilacao_{quantidade|valor}_m{m}`` (for windows=(12, 6):
    oscilacao_quantidade_m12, oscilacao_valor_m12, oscilacao_quantidade_m6,
    oscilacao_valor_m6), rows sorted by cnes, alvo, competencia then score in
    that order. ``only_months``: score only the rows of these months (the
    other rows are still the history of the medians); the result equals the
    full result filtered to those months, at the memory of those rows only
    (the scoring step scores one month out of 13). Raises ValueError on duplicate cnes x alvo x competencia rows
    (a cube is already aggregated: a duplicate means a month loaded twice).
    """
    _require(cube, ["cnes", "alvo", "competencia", *MEASURES], "cube")
    windows = [int(m) for m in windows]
    if not windows or min(windows) < 1:
        raise ValueError("windows deve conter inteiros >= 1")
    out_cols = ["cnes", "alvo", "competencia", "score", "value", "reason"]
    if cube.empty:
        return pd.DataFrame(columns=out_cols)

    df = _with_month(cube[["cnes", "alvo", "competencia", *MEASURES]]).reset_index(drop=True)
    # (cnes, alvo) as one integer that sorts as the pair of values (string keys are slow to group)
    cnes_code, cnes_values = pd.factorize(df["cnes"], sort=True, use_na_sentinel=False)
    alvo_code, alvo_values = pd.factorize(df["alvo"], sort=True, use_na_sentinel=False)
    pair = cnes_code.astype(np.int64) * len(alvo_values) + alvo_code
    t = df[_MES].to_numpy()
    key = _group_month_keys(pd.factorize(pair)[0], t, max(windows))
    if len(key) and np.bincount(key).max() > 1:  # keys index a dense table: counting them is cheap
        first = df.loc[pd.Series(key).duplicated().to_numpy()].iloc[0]
        raise ValueError(
            f"cube com linhas duplicadas para cnes x alvo x competencia, ex.: "
            f"{first['cnes']} {first['alvo']} {first['competencia']}"
        )
    covered = np.unique(_month_index(covered_months)) if len(covered_months) else np.array([], np.int64)

    x = {meas: df[meas].to_numpy(float) for meas in MEASURES}
    table = {meas: _dense(key, x[meas]) for meas in MEASURES}
    if only_months is not None:  # score these rows only; the tables above still hold every row
        rows = np.flatnonzero(np.isin(t, _month_index(only_months) if len(only_months) else []))
        pair, t, key = pair[rows], t[rows], key[rows]
        x = {meas: x[meas][rows] for meas in MEASURES}
        if not len(rows):
            return pd.DataFrame(columns=out_cols)
    uniq_t, inv_t = np.unique(t, return_inverse=True)

    blocks = []
    for m in windows:
        lags = np.arange(1, m + 1)
        n_cov_month = np.isin(uniq_t[:, None] - lags[None, :], covered).sum(axis=1)
        reason_month = np.array([
            None if k == m else f"sem histórico: {int(k)} de {m} meses anteriores disponíveis"
            for k in n_cov_month
        ], dtype=object)
        ok = (n_cov_month == m)[inv_t]
        reason = reason_month[inv_t]
        query = key[:, None] - lags[None, :]
        medians = {meas: np.median(table[meas][query], axis=1) for meas in MEASURES}
        reason = np.where(ok & (medians["quantidade"] < min_median),
                          _no_baseline(medians["quantidade"], m, min_median), reason)
        for meas in MEASURES:
            value = np.where(ok, (x[meas] + 1.0) / (medians[meas] + 1.0), np.nan)
            blocks.append(pd.DataFrame({
                "_pair": pair, _MES: t, "score": f"oscilacao_{meas}_m{m}", "value": value, "reason": reason,
                "_ord": len(blocks),
            }))
    out = pd.concat(blocks, ignore_index=True).sort_values(["_pair", _MES, "_ord"], kind="stable")
    out["cnes"] = cnes_values.take(out["_pair"].to_numpy() // len(alvo_values)).array
    out["alvo"] = alvo_values.take(out["_pair"].to_numpy() % len(alvo_values)).array
    out["competencia"] = _month_dates(out[_MES].to_numpy())
    return out[out_cols].reset_index(drop=True)


def _no_baseline(median: np.ndarray, m: int, min_median: float) -> np.ndarray:
    """The reason of a score without an established production line, one string per row (formatted
    once per distinct median: counts have few)."""
    codes, values = pd.factorize(median)
    texts = np.array([f"sem base: mediana de {m} meses = {v:g} unidade(s) < {min_median:g}; fora do ranking"
                      for v in values], dtype=object)
    return texts[codes]


def jump_excess(cube: pd.DataFrame, osc: pd.DataFrame, k: float = 3.0,
                min_median: float = MIN_MEDIAN_BASELINE) -> pd.DataFrame:
    """Money estimate of an abrupt jump: production above k x its own 12-month median.

    Vigia's extension, so that a sudden jump (which has no per-capita excess when the
    establishment serves a big city) still carries money into the ranking. From the
    oscillation score s = (t + 1) / (median + 1) of the same row::

        median              = (t + 1) / s - 1
        excesso_quantidade  = max(0, t - k x median)          only when median >= min_median
        excesso_valor       = excesso_quantidade x valor / quantidade

    ``k`` = 3 is the same multiple the per-capita threshold uses (limiar = 3 x national
    rate). Rows without history (no score) or with a median below ``min_median`` units
    get 0: a producer of 1 unit after months of nothing is noise, not a jump.

    ``cube``: cnes, alvo, competencia, quantidade, valor; ``osc``: output of
    :func:`oscillation`. Returns cnes, alvo, competencia, mediana_12m,
    excesso_quantidade, excesso_valor.
    """
    _require(cube, ["cnes", "alvo", "competencia", *MEASURES], "cube")
    s = osc[osc["score"] == "oscilacao_quantidade_m12"][["cnes", "alvo", "competencia", "value"]]
    d = cube[["cnes", "alvo", "competencia", *MEASURES]].merge(s, on=["cnes", "alvo", "competencia"], how="inner")
    t = d["quantidade"].astype(float).to_numpy()
    v = d["value"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        median = np.where(np.isfinite(v) & (v > 0), (t + 1) / v - 1, np.nan)
        excess = np.where(np.isfinite(median) & (median >= min_median), np.maximum(0.0, t - k * median), 0.0)
        unit = np.where(t > 0, d["valor"].astype(float).to_numpy() / t, 0.0)
    d["mediana_12m"] = median
    d["excesso_quantidade"] = excess
    d["excesso_valor"] = excess * unit
    return d[["cnes", "alvo", "competencia", "mediana_12m", "excesso_quantidade", "excesso_valor"]]
