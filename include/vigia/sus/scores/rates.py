"""Per-capita rates: Marshall empirical-Bayes smoothing, the municipal score above
k times the national rate, and its attribution to establishments."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import (
    _MES,
    _aggregate_shares,
    _check_population,
    _month_dates,
    _month_index,
    _pack,
    _require,
    _trailing_sum,
    _unpack,
    _with_month,
)


# ----------------------------------------------------------------------------- empirical Bayes


def empirical_bayes_rates(
    df: pd.DataFrame,
    per: float = 100_000,
    by: Sequence[str] | None = ("alvo", "competencia"),
) -> pd.DataFrame:
    """Empirical-Bayes smoothed rates, Marshall (1991) global estimator.

    ``df``: one area (municipality) per row within each ``by`` group, with
    ``quantidade`` (events y_i) and ``populacao`` (population n_i). For b to be
    the national rate, every area must be there, those without events too
    (y_i = 0; ``vigia.sus.scoring.with_every_municipality`` builds that frame). Computed
    separately for each ``by`` group (default alvo x competencia; ``by=None``
    or ``[]`` = the whole frame is one group). With N areas in the group::

        r_i  = y_i / n_i                       raw rate
        b    = Σ y_i / Σ n_i                   pooled (national) rate
        s²   = Σ n_i (r_i − b)² / Σ n_i        population-weighted variance of rates
        n̄    = Σ n_i / N                       mean population
        a    = s² − b / n̄                      between-area variance (moment estimator)
        a    = max(a, 0)                       CLAMPED
        C_i  = a / (a + b / n_i)               shrinkage weight (C_i = 0 when a = 0)
        EB_i = b + C_i (r_i − b)

    Why the clamp: when the observed spread s² is smaller than what Poisson
    noise alone would produce (b / n̄), the moment estimate a is negative.
    PySAL's ``Empirical_Bayes`` keeps the negative a; then a + b/n_i can be
    smaller than |a| and C_i becomes negative (or > 1), which pushes rates AWAY
    from the mean — the opposite of smoothing. Clamping at 0 means "no evidence
    of real between-area variation": every area gets EB_i = b exactly.

    Returns a copy of ``df`` with added columns:

    * ``taxa``               r_i × per
    * ``taxa_brasil``        b × per
    * ``taxa_eb``            EB_i × per
    * ``eb_variancia_entre`` a after clamping, in (events per inhabitant)², NOT scaled by ``per``
    * ``eb_clamped``         True when the raw a was < 0 (and was set to 0)

    Raises ValueError, naming the municipalities, if any populacao <= 0 (or
    missing); ValueError if quantidade is missing or negative.
    """
    _require(df, ["quantidade", "populacao"], "df")
    by = list(by) if by else []
    _require(df, by, "df")
    _check_population(df)
    y = pd.to_numeric(df["quantidade"], errors="coerce").astype(float)
    if y.isna().any() or (y < 0).any():
        raise ValueError("quantidade ausente ou negativa em empirical_bayes_rates")
    n = df["populacao"].astype(float)

    out = df.copy()
    if out.empty:
        for c in ("taxa", "taxa_brasil", "taxa_eb", "eb_variancia_entre"):
            out[c] = pd.Series(dtype=float)
        out["eb_clamped"] = pd.Series(dtype=bool)
        return out
    work = pd.DataFrame({"y": y.to_numpy(), "n": n.to_numpy()}, index=df.index)
    if by:
        keys = [df[c] for c in by]
        if "competencia" in by:  # group dates and Timestamps of the same month together
            keys[by.index("competencia")] = pd.Series(_month_index(df["competencia"]), index=df.index)
        grp = work.groupby(keys, sort=False, dropna=False)
        sum_y = grp["y"].transform("sum")
        sum_n = grp["n"].transform("sum")
        count = grp["n"].transform("size").astype(float)
    else:
        sum_y = pd.Series(work["y"].sum(), index=work.index)
        sum_n = pd.Series(work["n"].sum(), index=work.index)
        count = pd.Series(float(len(work)), index=work.index)
    r = work["y"] / work["n"]
    b = sum_y / sum_n
    work["wdev"] = work["n"] * (r - b) ** 2
    sum_wdev = grp["wdev"].transform("sum") if by else pd.Series(work["wdev"].sum(), index=work.index)
    s2 = sum_wdev / sum_n
    nbar = sum_n / count
    a_raw = s2 - b / nbar
    clamped = a_raw < 0
    a = a_raw.clip(lower=0.0)
    a_np, b_np, n_np = a.to_numpy(), b.to_numpy(), work["n"].to_numpy()
    denom = a_np + b_np / n_np
    c = np.divide(a_np, denom, out=np.zeros(len(a_np)), where=a_np > 0)
    eb = b_np + c * (r.to_numpy() - b_np)

    out["taxa"] = r.to_numpy() * per
    out["taxa_brasil"] = b_np * per
    out["taxa_eb"] = eb * per
    out["eb_variancia_entre"] = a_np
    out["eb_clamped"] = clamped.to_numpy(bool)
    return out


# ----------------------------------------------------------------------------- municipal EB scores


def municipal_rate_scores(mun: pd.DataFrame, k: float = 3.0, window: int = 12,
                          only_months: Sequence[_dt.date] | None = None) -> pd.DataFrame:
    """Municipal score from EB-smoothed per-capita rates above k times the national rate.

    ``mun``: municipio, alvo, competencia, quantidade, populacao, and
    ``taxa_eb`` / ``taxa_brasil`` (both per the same ``per``). If either is
    missing, ``empirical_bayes_rates(mun)`` is called first (per 100,000,
    by alvo x competencia). For each municipio x alvo x month t::

        limiar           = k × taxa_brasil
        dif              = max(0, taxa_eb − limiar)
        escore_municipal = Σ dif over months t−window+1 .. t

    The sum runs over the months present in ``mun`` for that municipio x alvo;
    months without a row contribute 0. Units: rate per ``per`` inhabitants,
    summed over months.

    Returns municipio, alvo, competencia, taxa_eb, limiar, dif,
    escore_municipal, sorted by municipio, alvo, competencia. ``only_months``:
    return the rows of these months only (the other rows are still the history
    of the sums; the scoring step scores one month out of 13).
    """
    _require(mun, ["municipio", "alvo", "competencia"], "mun")
    if window < 1:
        raise ValueError("window deve ser >= 1")
    if "taxa_eb" not in mun.columns or "taxa_brasil" not in mun.columns:
        mun = empirical_bayes_rates(mun)
    out_cols = ["municipio", "alvo", "competencia", "taxa_eb", "limiar", "dif", "escore_municipal"]
    if mun.empty:
        return pd.DataFrame(columns=out_cols)
    df = _with_month(mun[["municipio", "alvo", "competencia", "taxa_eb", "taxa_brasil"]]).reset_index(drop=True)
    if df.duplicated(["municipio", "alvo", _MES]).any():
        raise ValueError("mun com linhas duplicadas para municipio x alvo x competencia")
    df["limiar"] = k * df["taxa_brasil"].astype(float)
    df["dif"] = np.maximum(0.0, df["taxa_eb"].astype(float) - df["limiar"])
    g = df.groupby(["municipio", "alvo"], sort=False, dropna=False).ngroup().to_numpy(np.int64)
    rows = None if only_months is None else np.flatnonzero(
        np.isin(df[_MES].to_numpy(), _month_index(only_months) if len(only_months) else []))
    escore = _trailing_sum(g, df[_MES].to_numpy(), df["dif"].to_numpy(float), window, rows)
    if rows is not None:
        df = df.iloc[rows]
    df = df.assign(escore_municipal=escore).sort_values(["municipio", "alvo", _MES], kind="stable")
    df["competencia"] = _month_dates(df[_MES].to_numpy())
    return df[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- attribution


def attribute_to_establishments(
    mun_scores: pd.DataFrame, shares: pd.DataFrame, window: int = 12
) -> pd.DataFrame:
    """Establishment score: municipal scores weighted by the establishment's share of each municipality.

    ``mun_scores``: output of ``municipal_rate_scores`` (municipio, alvo,
    competencia, escore_municipal). ``shares``: cnes, municipio, alvo,
    competencia, quantidade — production of establishment e for residents of
    municipality j (SIA/SIH municipality of residence). For month t::

        P_ej(t)   = Σ quantidade of e for j over months t−window+1 .. t
        P_j(t)    = Σ_e P_ej(t)                                  (all establishments)
        share_ej  = P_ej(t) / P_j(t)
        value_e   = Σ_j share_ej × escore_municipal_j(t)

    An establishment gets a row for every alvo x month t in which it has
    production (within the window) for at least one municipality that has a
    row in ``mun_scores`` at t; its value is 0 when those municipalities score
    0. Municipalities with P_j(t) = 0 are skipped (share undefined). A
    municipal score with no establishment production for its residents in the
    window is not attributed to anyone.

    Returns cnes, alvo, competencia, score (= 'taxa_per_capita_eb'), value,
    sorted by cnes, alvo, competencia.
    """
    _require(mun_scores, ["municipio", "alvo", "competencia", "escore_municipal"], "mun_scores")
    if window < 1:
        raise ValueError("window deve ser >= 1")
    out_cols = ["cnes", "alvo", "competencia", "score", "value"]
    s, keys = _aggregate_shares(shares)
    if s.empty or mun_scores.empty:
        return pd.DataFrame(columns=out_cols)
    ms = _with_month(mun_scores[["municipio", "alvo", "competencia", "escore_municipal"]])
    # integer keys (see _aggregate_shares): municipio x alvo as one integer; -1 = no production for it
    n_alvo, n_ma = len(keys["alvo"]), len(keys["municipio"]) * len(keys["alvo"])
    mun_code, alvo_code = keys["municipio"].get_indexer(ms["municipio"]), keys["alvo"].get_indexer(ms["alvo"])
    ms = pd.DataFrame({"_ma": np.where((mun_code >= 0) & (alvo_code >= 0), mun_code * n_alvo + alvo_code, -1),
                       _MES: ms[_MES].to_numpy(), "escore_municipal": ms["escore_municipal"].to_numpy(float)})
    s_ma = s["municipio"].to_numpy() * n_alvo + s["alvo"].to_numpy()
    # the window ending at each month t of mun_scores, one t at a time: production months t-window+1 .. t
    # of the municipalities scored at t (memory: one window, not window x every production month)
    parts = []
    for t, scored in ms.groupby(_MES, sort=True):
        inside = s[(s[_MES] > t - window) & (s[_MES] <= t) & np.isin(s_ma, scored["_ma"].to_numpy())]
        if len(inside):
            p_ej = inside["quantidade"].groupby(
                inside["cnes"].to_numpy() * n_ma + s_ma[inside.index.to_numpy()], sort=False).sum()
            parts.append(pd.DataFrame({"_cma": p_ej.index.to_numpy(), _MES: t, "quantidade": p_ej.to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=out_cols)
    win = pd.concat(parts, ignore_index=True)
    ma = win["_cma"].to_numpy() % n_ma
    base = int(win[_MES].min())
    span = int(win[_MES].max()) - base + 1
    win["_ma"] = ma
    win["total"] = win["quantidade"].groupby(_pack([ma, win[_MES] - base], [n_ma, span]), sort=False).transform("sum")
    win = win[win["total"].to_numpy() > 0]
    win = win.merge(ms, on=["_ma", _MES], how="inner")
    value = win["quantidade"] / win["total"] * win["escore_municipal"]
    cnes, alvo = win["_cma"].to_numpy() // n_ma, win["_ma"].to_numpy() % n_alvo
    out = value.groupby(_pack([cnes, alvo, win[_MES] - base], [len(keys["cnes"]), n_alvo, span]), sort=True).sum()
    cnes, alvo, mes = _unpack(out.index.to_numpy(), [len(keys["cnes"]), n_alvo, span])
    return pd.DataFrame({
        "cnes": keys["cnes"].take(cnes).array, "alvo": keys["alvo"].take(alvo).array,
        "competencia": _month_dates(mes + base), "score": "taxa_per_capita_eb", "value": out.to_numpy(),
    })[out_cols]
