"""Log-normal excess: the cutoff fitted to municipal per-capita rates, the excess
count above it, per municipality, and its split among establishments."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._common import (
    _MES,
    _aggregate_shares,
    _check_population,
    _month_dates,
    _month_index,
    _pack,
    _require,
    _with_month,
)

MIN_POSITIVE_RATES = 3


def lognormal_cutoff(rates, q: float = 0.99) -> float:
    """Upper q-quantile of a log-normal fitted by maximum likelihood to the positive rates.

    ``rates``: per-capita rates of the municipalities for ONE alvo x month
    (array-like; NaN values are ignored). With x_1..x_k the STRICTLY POSITIVE
    rates::

        mu     = mean(log x_i)
        sigma  = sqrt(mean((log x_i − mu)²))     (population std: the MLE, ddof=0)
        cutoff = exp(mu + sigma × Φ⁻¹(q))        Φ⁻¹ = scipy.stats.norm.ppf

    Zero rates are left out of the fit: log(0) is undefined, and a
    municipality with no production is never anomalous (its excess is 0
    whatever the cutoff). Needs at least 3 positive rates; otherwise returns
    NaN (the caller records the reason). Raises ValueError on negative rates
    or q outside (0, 1). The cutoff is in the same unit as ``rates``.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q deve estar em (0, 1), recebido {q}")
    x = np.asarray(rates, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if (x < 0).any():
        raise ValueError("taxas negativas em lognormal_cutoff")
    pos = x[x > 0]
    if len(pos) < MIN_POSITIVE_RATES:
        return float("nan")
    logs = np.log(pos)
    mu = logs.mean()
    sigma = logs.std(ddof=0)
    return float(np.exp(mu + sigma * norm.ppf(q)))


def excess_count(quantidade, populacao, cutoff, per: float = 1):
    """Attendances above the cutoff: max(0, quantidade − cutoff × populacao / per).

    ``cutoff`` is a rate per ``per`` inhabitants. Seed example: 100,000
    inhabitants, 400 attendances in the month, cutoff 3.2 per 1,000 →
    expected at most 3.2 × 100,000 / 1,000 = 320 → 400 − 320 = 80 anomalous
    attendances. Works on scalars and arrays; a NaN cutoff gives NaN.
    """
    q = np.asarray(quantidade, dtype=float)
    expected = np.asarray(cutoff, dtype=float) * np.asarray(populacao, dtype=float) / per
    out = np.maximum(0.0, q - expected)
    return float(out) if out.ndim == 0 else out


def municipal_excess(mun: pd.DataFrame, q: float = 0.99, per: float = 1) -> pd.DataFrame:
    """Excess production of each municipality above a log-normal cutoff of per-capita rates.

    ``mun``: municipio, alvo, competencia, quantidade, valor, populacao. For
    each alvo x competencia (all municipalities of the country)::

        taxa                = quantidade / populacao × per
        cutoff              = lognormal_cutoff(taxa of the municipalities, q)   (per ``per``)
        excesso_quantidade  = max(0, quantidade − cutoff × populacao / per)     (excess_count)
        valor_unitario      = valor / quantidade   (0 when quantidade = 0)
        excesso_valor       = excesso_quantidade × valor_unitario

    When the cutoff cannot be fitted (fewer than 3 municipalities with a
    positive rate) cutoff, excesso_quantidade and excesso_valor are NaN and
    ``reason`` says why; otherwise reason is missing. Zero-rate
    municipalities have excess 0.

    Returns ``mun`` plus taxa, cutoff, excesso_quantidade, excesso_valor,
    reason. Raises ValueError, naming the municipalities, if populacao <= 0.
    """
    _require(mun, ["municipio", "alvo", "competencia", "quantidade", "valor", "populacao"], "mun")
    _check_population(mun)
    out = mun.copy()
    qty = out["quantidade"].astype(float).to_numpy()
    pop = out["populacao"].astype(float).to_numpy()
    val = out["valor"].astype(float).to_numpy()
    out["taxa"] = qty / pop * per if len(out) else pd.Series(dtype=float)
    if out.empty:
        for c in ("cutoff", "excesso_quantidade", "excesso_valor"):
            out[c] = pd.Series(dtype=float)
        out["reason"] = pd.Series(dtype=object)
        return out
    mes = pd.Series(_month_index(out["competencia"]), index=out.index)
    grp = out.groupby([out["alvo"], mes], sort=False, dropna=False)["taxa"]
    cutoff = grp.transform(lambda s: lognormal_cutoff(s, q)).to_numpy(float)
    n_pos = grp.transform(lambda s: int((s > 0).sum())).to_numpy()
    out["cutoff"] = cutoff
    exc_q = excess_count(qty, pop, cutoff, per)
    unit = np.divide(val, qty, out=np.zeros(len(qty)), where=qty != 0)
    out["excesso_quantidade"] = exc_q
    out["excesso_valor"] = exc_q * unit
    reason = np.full(len(out), None, dtype=object)
    missing = np.isnan(cutoff)
    if missing.any():  # one text per distinct count, not per row
        codes, counts = pd.factorize(n_pos[missing])
        texts = np.array([f"corte log-normal indisponível: {int(k)} município(s) com taxa positiva neste alvo e "
                          f"competência (mínimo {MIN_POSITIVE_RATES})" for k in counts], dtype=object)
        reason[missing] = texts[codes]
    out["reason"] = reason
    return out


def share_excess(mun_excess: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Split each municipality's excess among the establishments that served its residents.

    ``mun_excess``: output of ``municipal_excess`` (municipio, alvo,
    competencia, excesso_quantidade, excesso_valor). ``shares``: cnes,
    municipio, alvo, competencia, quantidade. SAME month only (no window)::

        share_ej            = quantidade_ej / Σ_e quantidade_ej     (municipio j, alvo, month)
        excesso_quantidade  = share_ej × excesso_quantidade_j
        excesso_valor       = share_ej × excesso_valor_j

    Shares of a municipality sum to 1, so the excess is fully distributed
    whenever the municipality has production in ``shares``; municipalities
    whose residents have no production (or total 0) in ``shares`` are not
    attributed. A NaN municipal excess (no cutoff) stays NaN.

    Returns cnes, municipio, alvo, competencia, share, excesso_quantidade,
    excesso_valor, sorted by cnes, municipio, alvo, competencia.
    """
    _require(mun_excess, ["municipio", "alvo", "competencia", "excesso_quantidade", "excesso_valor"], "mun_excess")
    out_cols = ["cnes", "municipio", "alvo", "competencia", "share", "excesso_quantidade", "excesso_valor"]
    s, keys = _aggregate_shares(shares)
    if s.empty or mun_excess.empty:
        return pd.DataFrame(columns=out_cols)
    base = int(s[_MES].min())
    sizes = [len(keys["cnes"]), len(keys["municipio"]), len(keys["alvo"]), int(s[_MES].max()) - base + 1]
    by_municipality = _pack([s["municipio"], s["alvo"], s[_MES] - base], sizes[1:])
    s["total"] = s["quantidade"].groupby(by_municipality, sort=False).transform("sum")
    s = s[s["total"] > 0].copy()
    s["share"] = s["quantidade"] / s["total"]
    me = _with_month(mun_excess[["municipio", "alvo", "competencia", "excesso_quantidade", "excesso_valor"]])
    if me.duplicated(["municipio", "alvo", _MES]).any():
        raise ValueError("mun_excess com linhas duplicadas para municipio x alvo x competencia")
    for col in ("municipio", "alvo"):  # the codes of the shares (-1: no production for it, matches nothing)
        me[col] = keys[col].get_indexer(me[col])
    m = s.merge(me.drop(columns="competencia"), on=["municipio", "alvo", _MES], how="inner")
    m["excesso_quantidade"] = m["share"] * m["excesso_quantidade"].astype(float)
    m["excesso_valor"] = m["share"] * m["excesso_valor"].astype(float)
    m = m.iloc[np.argsort(_pack([m["cnes"], m["municipio"], m["alvo"], m[_MES] - base], sizes), kind="stable")]
    for col in ("cnes", "municipio", "alvo"):
        m[col] = keys[col].take(m[col].to_numpy()).array
    m["competencia"] = _month_dates(m[_MES].to_numpy())
    return m[out_cols].reset_index(drop=True)
