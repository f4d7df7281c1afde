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
    x = {meas: df[meas].to_numpy(float) for meas in MEASURES}
    table = {meas: _dense(key, x[meas]) for meas in MEASURES}
    if only_months is None:
        rows = np.arange(len(df))
    else:  # score these rows only; the tables above still hold every row
        rows = np.flatnonzero(np.isin(t, _month_index(only_months) if len(only_months) else []))
        if not len(rows):
            return pd.DataFrame(columns=out_cols)
    rows = rows[np.lexsort((t[rows], pair[rows]))]  # the output's order: cnes, alvo, competencia
    lags = np.arange(1, max(windows) + 1)
    past = {meas: table[meas][key[rows, None] - lags[None, :]] for meas in MEASURES}
    n_alvo = len(alvo_values)
    return _oscillation_rows(cnes_values.take(pair[rows] // n_alvo), alvo_values.take(pair[rows] % n_alvo), t[rows],
                             {meas: x[meas][rows] for meas in MEASURES}, past, covered_months, windows, min_median)


def oscillation_from_window(
    rows: pd.DataFrame,
    window: pd.DataFrame,
    covered_months: Sequence[_dt.date],
    windows: Sequence[int] = (12, 6),
    min_median: float = MIN_MEDIAN_BASELINE,
) -> pd.DataFrame:
    """:func:`oscillation` of ``rows`` from their windows given apart (the score step's warehouse path).

    ``rows``: the rows to score, cnes, alvo, competencia, quantidade, valor and ``par``, a distinct
    integer 0..n-1 per row; ``window``: the production of the months before each row, one row per row x
    earlier month WITH production: par, defasagem (months before the row's own month, 1..max(windows)),
    quantidade, valor. An absent (par, defasagem) counts as 0, as an absent cube row does in
    :func:`oscillation`. The result is that of :func:`oscillation` over ``rows`` and the earlier months'
    cube with ``only_months`` = the months of ``rows``: the same medians of the same numbers, the same
    formula, reasons and order. The warehouse sends the ~1/13 of the 13 months' establishment cube that is
    scored, with the window as integers (``include/sql/sus/score_establishment_window.sql``) instead of
    ~1.6M rows of text keys at national shape.
    """
    _require(rows, ["cnes", "alvo", "competencia", "par", *MEASURES], "rows")
    _require(window, ["par", "defasagem", *MEASURES], "window")
    windows = [int(m) for m in windows]
    if not windows or min(windows) < 1:
        raise ValueError("windows deve conter inteiros >= 1")
    if rows.empty:
        return pd.DataFrame(columns=["cnes", "alvo", "competencia", "score", "value", "reason"])
    duplicated = rows.duplicated(["cnes", "alvo", "competencia"])
    if duplicated.any():
        first = rows[duplicated.to_numpy()].iloc[0]
        raise ValueError(f"cube com linhas duplicadas para cnes x alvo x competencia, ex.: "
                         f"{first['cnes']} {first['alvo']} {first['competencia']}")
    n, deepest = len(rows), max(windows)
    par = rows["par"].to_numpy(np.int64)
    if not np.array_equal(np.sort(par), np.arange(n)):
        raise ValueError(f"rows.par deve numerar as {n} linhas de 0 a {n - 1}, sem repetição")
    ordered = rows.sort_values(["cnes", "alvo", "competencia"], kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[ordered["par"].to_numpy(np.int64)] = np.arange(n)  # par -> row of the ordered rows
    w_par, lag = window["par"].to_numpy(np.int64), window["defasagem"].to_numpy(np.int64)
    inside = (lag >= 1) & (lag <= deepest)
    if not ((w_par >= 0) & (w_par < n)).all():
        raise ValueError(f"window.par fora de 0..{n - 1}")
    cell = position[w_par[inside]] * deepest + (lag[inside] - 1)
    if len(cell) and np.bincount(cell).max() > 1:
        raise ValueError("window com linhas duplicadas para par x defasagem")
    past = {}
    for meas in MEASURES:
        flat = np.zeros(n * deepest)
        flat[cell] = window[meas].to_numpy(float)[inside]
        past[meas] = flat.reshape(n, deepest)
    return _oscillation_rows(pd.Index(ordered["cnes"]), pd.Index(ordered["alvo"]), _month_index(ordered["competencia"]),
                             {meas: ordered[meas].to_numpy(float) for meas in MEASURES}, past, covered_months,
                             windows, min_median)


def _oscillation_rows(cnes: pd.Index, alvo: pd.Index, t: np.ndarray, x: dict, past: dict,
                      covered_months: Sequence[_dt.date], windows: list[int], min_median: float) -> pd.DataFrame:
    """The long output of :func:`oscillation` for rows already in its order: ``x[meas]`` the rows'
    values, ``past[meas][i, l - 1]`` the value of row i's establishment x target l months earlier (0
    when absent), ``t`` the rows' month index. One row per input row x score, the scores in the order of
    ``windows`` then :data:`MEASURES`."""
    covered = np.unique(_month_index(covered_months)) if len(covered_months) else np.array([], np.int64)
    uniq_t, inv_t = np.unique(t, return_inverse=True)
    names, values, reasons = [], [], []
    for m in windows:
        n_cov_month = np.isin(uniq_t[:, None] - np.arange(1, m + 1)[None, :], covered).sum(axis=1)
        reason_month = np.array([
            None if k == m else f"sem histórico: {int(k)} de {m} meses anteriores disponíveis"
            for k in n_cov_month
        ], dtype=object)
        ok = (n_cov_month == m)[inv_t]
        medians = {meas: np.median(past[meas][:, :m], axis=1) for meas in MEASURES}
        reason = np.where(ok & (medians["quantidade"] < min_median),
                          _no_baseline(medians["quantidade"], m, min_median), reason_month[inv_t])
        for meas in MEASURES:
            names.append(f"oscilacao_{meas}_m{m}")
            values.append(np.where(ok, (x[meas] + 1.0) / (medians[meas] + 1.0), np.nan))
            reasons.append(reason)
    each = np.repeat(np.arange(len(t)), len(names))
    return pd.DataFrame({
        "cnes": cnes.take(each).array,
        "alvo": alvo.take(each).array,
        "competencia": _month_dates(t[each]),
        "score": np.tile(np.array(names, dtype=object), len(t)),
        "value": np.column_stack(values).ravel(),
        "reason": np.column_stack(reasons).ravel(),
    })


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
