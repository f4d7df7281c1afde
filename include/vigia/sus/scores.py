"""Statistical core of the monthly SUS anomaly scoring (InfoSAS method).

Every function here is pure: it takes pandas DataFrames of AGGREGATED data
(monthly cubes, never raw SIA/SIH rows) and returns new DataFrames. No I/O, no
Airflow. Each function's docstring states its formula.

Column names used throughout:

* ``cnes``        establishment id (str)
* ``alvo``        mining target id (str)
* ``competencia`` month, ``datetime.date`` on the first day of the month
* ``municipio``   6-digit IBGE municipality code (str)
* ``uf``          2-letter state (str)
* ``quantidade``  count (float)
* ``valor``       money (float)
* ``populacao``   inhabitants (int)
* ``n_aih``       number of hospital admissions (AIH)

Inputs may carry ``competencia`` as ``datetime.date`` or ``pandas.Timestamp``;
joins are made on an integer month index, and every output's ``competencia`` is
a ``datetime.date`` on the first day of the month.

Scores never invent a value: when a score cannot be computed (not enough
history, too few municipalities to fit a cutoff, too few admissions...), its
value is NaN and a ``reason`` column says why, in Portuguese.

Pipeline overview::

    cube ──────────────► oscillation ───────────────────────────┐
    municipal cube ────► empirical_bayes_rates ─► municipal_rate_scores
                          └─► attribute_to_establishments ──────┤ scores_long
    SIH cube ──────────► value_per_admission ───────────────────┘
    municipal cube ────► municipal_excess ─► share_excess ─► provider_ranking
    (all of the above) ─► benign_flags
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

MEASURES = ("quantidade", "valor")
MOBILE_UNIT_TYPES = {
    "32": "unidade móvel fluvial",
    "40": "unidade móvel terrestre",
    "42": "unidade móvel de nível pré-hospitalar na área de urgência",
}
MAD_TO_SIGMA = 1.4826  # 1 / Φ⁻¹(3/4): makes the MAD a consistent estimator of σ for normal data
MIN_POSITIVE_RATES = 3

_MES = "_mes"  # internal integer month index: year * 12 + (month - 1)


# ----------------------------------------------------------------------------- helpers


def _require(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: colunas ausentes {missing}; recebidas {list(df.columns)}")


def _month_index(values) -> np.ndarray:
    """Integer month index (year * 12 + month - 1) of dates / Timestamps; raises if not day 1."""
    raw = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else list(values)
    if len(raw) == 0:
        return np.array([], dtype=np.int64)
    s = pd.to_datetime(pd.Series(raw))
    if s.isna().any():
        raise ValueError("competencia nula")
    if (s.dt.day != 1).any():
        bad = s[s.dt.day != 1].iloc[0]
        raise ValueError(f"competencia deve ser o primeiro dia do mês, recebido {bad.date()}")
    return (s.dt.year * 12 + s.dt.month - 1).to_numpy(np.int64)


def _month_dates(idx: np.ndarray | pd.Series) -> np.ndarray:
    """Inverse of _month_index: an object array of datetime.date (first day of month)."""
    idx = np.asarray(idx, dtype=np.int64)
    uniq, inv = np.unique(idx, return_inverse=True)
    dates = np.array([_dt.date(int(i) // 12, int(i) % 12 + 1, 1) for i in uniq], dtype=object)
    return dates[inv.reshape(-1)] if len(idx) else np.array([], dtype=object)


def _with_month(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out[_MES] = _month_index(out["competencia"]) if len(out) else np.array([], dtype=np.int64)
    return out


def _check_population(df: pd.DataFrame) -> None:
    pop = pd.to_numeric(df["populacao"], errors="coerce")
    bad = pop.isna() | (pop <= 0)
    if bad.any():
        if "municipio" in df.columns:
            names = sorted(set(df.loc[bad, "municipio"].astype(str)))
            raise ValueError(f"populacao <= 0 ou ausente para município(s) {names}")
        raise ValueError(f"populacao <= 0 ou ausente nas linhas {list(df.index[bad])}")


def _lookup(sorted_keys: np.ndarray, sorted_values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Values at ``query`` keys in a sorted, unique key array; 0 where the key is absent."""
    if len(sorted_keys) == 0:
        return np.zeros(query.shape)
    pos = np.searchsorted(sorted_keys, query)
    pos_c = np.minimum(pos, len(sorted_keys) - 1)
    found = sorted_keys[pos_c] == query
    return np.where(found, sorted_values[pos_c], 0.0)


def _group_month_keys(group_codes: np.ndarray, months: np.ndarray, lookback: int):
    """One int64 key per (group, month) such that key - l stays inside the group for l <= lookback."""
    base = int(months.min()) - lookback
    span = int(months.max()) - base + 1
    return group_codes.astype(np.int64) * span + (months - base)


def _trailing_sum(group_codes: np.ndarray, months: np.ndarray, values: np.ndarray, window: int) -> np.ndarray:
    """Per row: sum of ``values`` of its group over months t-window+1 .. t (absent months are 0).

    (group, month) must be unique. Exact sums (no global cumulative sums).
    """
    if len(values) == 0:
        return np.zeros(0)
    key = _group_month_keys(group_codes, months, window)
    order = np.argsort(key, kind="stable")
    skey, svals = key[order], values[order]
    lags = np.arange(window)
    return _lookup(skey, svals, key[:, None] - lags[None, :]).sum(axis=1)


# ----------------------------------------------------------------------------- 1. oscillation


def oscillation(
    cube: pd.DataFrame,
    covered_months: Sequence[_dt.date],
    windows: Sequence[int] = (12, 6),
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

    Returns long format: cnes, alvo, competencia, score, value, reason, with
    score in ``oscilacao_{quantidade|valor}_m{m}`` (for windows=(12, 6):
    oscilacao_quantidade_m12, oscilacao_valor_m12, oscilacao_quantidade_m6,
    oscilacao_valor_m6), rows sorted by cnes, alvo, competencia then score in
    that order. Raises ValueError on duplicate cnes x alvo x competencia rows
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
    dup = df.duplicated(["cnes", "alvo", _MES])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise ValueError(
            f"cube com linhas duplicadas para cnes x alvo x competencia, ex.: "
            f"{first['cnes']} {first['alvo']} {first['competencia']}"
        )
    t = df[_MES].to_numpy()
    g = df.groupby(["cnes", "alvo"], sort=False, dropna=False).ngroup().to_numpy(np.int64)
    covered = np.unique(_month_index(covered_months)) if len(covered_months) else np.array([], np.int64)

    key = _group_month_keys(g, t, max(windows))
    order = np.argsort(key, kind="stable")
    skey = key[order]
    x = {meas: df[meas].to_numpy(float) for meas in MEASURES}
    sx = {meas: x[meas][order] for meas in MEASURES}
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
        for meas in MEASURES:
            med = np.median(_lookup(skey, sx[meas], query), axis=1)
            value = np.where(ok, (x[meas] + 1.0) / (med + 1.0), np.nan)
            blocks.append(pd.DataFrame({
                "cnes": df["cnes"], "alvo": df["alvo"], _MES: t,
                "score": f"oscilacao_{meas}_m{m}", "value": value, "reason": reason,
                "_ord": len(blocks),
            }))
    out = pd.concat(blocks, ignore_index=True).sort_values(["cnes", "alvo", _MES, "_ord"], kind="stable")
    out["competencia"] = _month_dates(out[_MES].to_numpy())
    return out[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- 2. empirical Bayes


def empirical_bayes_rates(
    df: pd.DataFrame,
    per: float = 100_000,
    by: Sequence[str] | None = ("alvo", "competencia"),
) -> pd.DataFrame:
    """Empirical-Bayes smoothed rates, Marshall (1991) global estimator.

    ``df``: one area (municipality) per row within each ``by`` group, with
    ``quantidade`` (events y_i) and ``populacao`` (population n_i). Computed
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


# ----------------------------------------------------------------------------- 3. municipal EB scores


def municipal_rate_scores(mun: pd.DataFrame, k: float = 3.0, window: int = 12) -> pd.DataFrame:
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
    escore_municipal, sorted by municipio, alvo, competencia.
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
    df["escore_municipal"] = _trailing_sum(g, df[_MES].to_numpy(), df["dif"].to_numpy(float), window)
    df = df.sort_values(["municipio", "alvo", _MES], kind="stable")
    df["competencia"] = _month_dates(df[_MES].to_numpy())
    return df[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- 4. attribution


def _aggregate_shares(shares: pd.DataFrame) -> pd.DataFrame:
    _require(shares, ["cnes", "municipio", "alvo", "competencia", "quantidade"], "shares")
    s = _with_month(shares[["cnes", "municipio", "alvo", "competencia", "quantidade"]])
    s["quantidade"] = s["quantidade"].astype(float)
    return s.groupby(["cnes", "municipio", "alvo", _MES], as_index=False, sort=False)["quantidade"].sum()


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
    s = _aggregate_shares(shares)
    if s.empty or mun_scores.empty:
        return pd.DataFrame(columns=out_cols)
    ms = _with_month(mun_scores[["municipio", "alvo", "competencia", "escore_municipal"]])[
        ["municipio", "alvo", _MES, "escore_municipal"]
    ]
    # each production month s feeds the windows ending at s, s+1, ..., s+window-1
    reps = np.repeat(np.arange(len(s)), window)
    exp = s.iloc[reps].reset_index(drop=True)
    exp[_MES] = exp[_MES].to_numpy() + np.tile(np.arange(window), len(s))
    exp = exp.merge(ms[["municipio", "alvo", _MES]].drop_duplicates(), on=["municipio", "alvo", _MES])
    win = exp.groupby(["cnes", "municipio", "alvo", _MES], as_index=False, sort=False)["quantidade"].sum()
    win["total"] = win.groupby(["municipio", "alvo", _MES], sort=False)["quantidade"].transform("sum")
    win = win[win["total"] > 0]
    win = win.merge(ms, on=["municipio", "alvo", _MES], how="inner")
    win["value"] = win["quantidade"] / win["total"] * win["escore_municipal"].astype(float)
    out = win.groupby(["cnes", "alvo", _MES], as_index=False, sort=True)["value"].sum()
    out["competencia"] = _month_dates(out[_MES].to_numpy())
    out["score"] = "taxa_per_capita_eb"
    return out[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- 5-6. log-normal excess


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
    reason = np.array([
        None if not np.isnan(c) else
        f"corte log-normal indisponível: {int(k)} município(s) com taxa positiva neste alvo e "
        f"competência (mínimo {MIN_POSITIVE_RATES})"
        for c, k in zip(cutoff, n_pos)
    ], dtype=object)
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
    s = _aggregate_shares(shares)
    if s.empty or mun_excess.empty:
        return pd.DataFrame(columns=out_cols)
    s["total"] = s.groupby(["municipio", "alvo", _MES], sort=False)["quantidade"].transform("sum")
    s = s[s["total"] > 0].copy()
    s["share"] = s["quantidade"] / s["total"]
    me = _with_month(mun_excess[["municipio", "alvo", "competencia", "excesso_quantidade", "excesso_valor"]])
    if me.duplicated(["municipio", "alvo", _MES]).any():
        raise ValueError("mun_excess com linhas duplicadas para municipio x alvo x competencia")
    m = s.merge(me.drop(columns="competencia"), on=["municipio", "alvo", _MES], how="inner")
    m["excesso_quantidade"] = m["share"] * m["excesso_quantidade"].astype(float)
    m["excesso_valor"] = m["share"] * m["excesso_valor"].astype(float)
    m = m.sort_values(["cnes", "municipio", "alvo", _MES], kind="stable")
    m["competencia"] = _month_dates(m[_MES].to_numpy())
    return m[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- 8. value per admission


def value_per_admission(sih: pd.DataFrame, min_aih: int = 5) -> pd.DataFrame:
    """Robust z-score of the mean value per admission (AIH), on the log scale.

    ``sih``: cnes, alvo, competencia, valor (sum of VAL_TOT), n_aih. For each
    establishment x alvo x month::

        valor_medio_aih = valor / n_aih
        x_e             = log(valor_medio_aih)

    Against the national distribution of that alvo x month, over the ELIGIBLE
    establishments (n_aih >= min_aih and valor_medio_aih > 0)::

        med             = median(x_e)
        MAD             = median(|x_e − med|)
        z_robusto       = (x_e − med) / (1.4826 × MAD)
        mediana_nacional = exp(med)     (R$ per AIH; the median mean value when
                                         the count is odd, the geometric mean of
                                         the two middle ones when even)

    Establishments with n_aih < min_aih, or a non-positive mean value, get
    z_robusto NaN and a reason (they are also left out of med and MAD); when
    MAD = 0 every establishment of that alvo x month gets NaN and a reason.

    Returns cnes, alvo, competencia, valor_medio_aih, mediana_nacional,
    z_robusto, reason, sorted by alvo, competencia, cnes.
    """
    _require(sih, ["cnes", "alvo", "competencia", "valor", "n_aih"], "sih")
    out_cols = ["cnes", "alvo", "competencia", "valor_medio_aih", "mediana_nacional", "z_robusto", "reason"]
    if sih.empty:
        return pd.DataFrame(columns=out_cols)
    d = _with_month(sih[["cnes", "alvo", "competencia", "valor", "n_aih"]]).reset_index(drop=True)
    n = d["n_aih"].astype(float).to_numpy()
    v = d["valor"].astype(float).to_numpy()
    mean = np.divide(v, n, out=np.full(len(n), np.nan), where=n > 0)
    few = ~(n >= min_aih)
    nonpos = ~few & ~(mean > 0)
    eligible = ~few & ~nonpos
    logm = np.full(len(n), np.nan)
    logm[eligible] = np.log(mean[eligible])
    d["valor_medio_aih"] = mean
    d["_log"] = logm
    grp = d.groupby(["alvo", _MES], sort=False, dropna=False)
    med = grp["_log"].transform("median").to_numpy(float)
    d["_dev"] = np.abs(logm - med)
    mad = d.groupby(["alvo", _MES], sort=False, dropna=False)["_dev"].transform("median").to_numpy(float)
    n_elig = grp["_log"].transform("count").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(eligible & (mad > 0), (logm - med) / (MAD_TO_SIGMA * mad), np.nan)
    reason = np.full(len(n), None, dtype=object)
    for i in np.flatnonzero(few):
        reason[i] = f"menos de {min_aih} AIH no mês ({int(n[i]) if not np.isnan(n[i]) else 0})"
    for i in np.flatnonzero(nonpos):
        reason[i] = "valor médio por AIH não positivo: log indefinido"
    for i in np.flatnonzero(eligible & ~(mad > 0)):
        reason[i] = (f"MAD nula: sem dispersão entre os {int(n_elig[i])} estabelecimento(s) elegíveis "
                     f"deste alvo e competência")
    d["mediana_nacional"] = np.exp(med)
    d["z_robusto"] = z
    d["reason"] = reason
    d = d.sort_values(["alvo", _MES, "cnes"], kind="stable")
    d["competencia"] = _month_dates(d[_MES].to_numpy())
    return d[out_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- 9. ranking


def provider_ranking(
    excess_by_cnes: pd.DataFrame,
    scores_long: pd.DataFrame,
    top: Sequence[int] = (5, 100),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Audit ranking of establishments per month, and concentration of the excess.

    ``excess_by_cnes``: cnes, alvo, competencia, excesso_valor (e.g. the output
    of ``share_excess``; extra columns such as municipio are summed over).
    ``scores_long``: cnes, alvo, competencia, score, value (long outputs of
    ``oscillation``, ``attribute_to_establishments``...; for every score a
    HIGHER value is MORE suspicious; NaN values are ignored).

    Per cnes x competencia::

        excesso_valor     = Σ over alvos (and municipalities) of excesso_valor   (NaN counted as 0)
        v_s(e)            = max over alvos of the establishment's value of score s
        p_s(e)            = percentile rank of v_s(e) among all establishments
                            having score s that month (pandas rank pct=True,
                            ties averaged; in (0, 1], 1 = most extreme)
        escore_combinado  = mean of p_s(e) over the scores s available for e
        n_escores         = number of those scores

    rank: 1 = highest excesso_valor; ties broken by the higher
    escore_combinado (NaN last), then by cnes for a deterministic order. The
    universe is the union of establishments in both inputs (excesso_valor 0
    when absent from ``excess_by_cnes``).

    Concentration per competencia::

        excesso_total           = Σ_e excesso_valor
        n_com_excesso           = #{e : excesso_valor > 0}
        participacao_top{N}     = Σ excesso_valor of ranks 1..N / excesso_total   (NaN if total = 0)

    Returns (ranking: cnes, competencia, excesso_valor, escore_combinado,
    n_escores, rank — sorted by competencia, rank;
    concentration: competencia, excesso_total, n_com_excesso, participacao_top5, ...).
    """
    _require(excess_by_cnes, ["cnes", "competencia", "excesso_valor"], "excess_by_cnes")
    _require(scores_long, ["cnes", "competencia", "score", "value"], "scores_long")
    top = [int(n) for n in top]
    rank_cols = ["cnes", "competencia", "excesso_valor", "escore_combinado", "n_escores", "rank"]
    conc_cols = ["competencia", "excesso_total", "n_com_excesso", *[f"participacao_top{n}" for n in top]]

    ex = _with_month(excess_by_cnes[["cnes", "competencia", "excesso_valor"]])
    ex["excesso_valor"] = ex["excesso_valor"].astype(float)
    tot = ex.groupby(["cnes", _MES], as_index=False, sort=False)["excesso_valor"].sum()

    sc = _with_month(scores_long[["cnes", "competencia", "score", "value"]])
    sc = sc[sc["value"].notna()]
    sc = sc.assign(value=sc["value"].astype(float))
    best = sc.groupby(["cnes", _MES, "score"], as_index=False, sort=False)["value"].max()
    best["pct"] = best.groupby([_MES, "score"], sort=False)["value"].rank(method="average", pct=True)
    comb = best.groupby(["cnes", _MES], as_index=False, sort=False).agg(
        escore_combinado=("pct", "mean"), n_escores=("pct", "size")
    )

    r = tot.merge(comb, on=["cnes", _MES], how="outer")
    if r.empty:
        return pd.DataFrame(columns=rank_cols), pd.DataFrame(columns=conc_cols)
    r["excesso_valor"] = r["excesso_valor"].fillna(0.0)
    r["n_escores"] = r["n_escores"].fillna(0).astype(int)
    r = r.sort_values(
        [_MES, "excesso_valor", "escore_combinado", "cnes"],
        ascending=[True, False, False, True], na_position="last", kind="stable",
    ).reset_index(drop=True)
    r["rank"] = r.groupby(_MES, sort=False).cumcount() + 1
    r["competencia"] = _month_dates(r[_MES].to_numpy())

    rows = []
    for mes, g in r.groupby(_MES, sort=True):
        total = g["excesso_valor"].sum()
        row = {_MES: mes, "excesso_total": total, "n_com_excesso": int((g["excesso_valor"] > 0).sum())}
        for n in top:
            row[f"participacao_top{n}"] = (
                g.loc[g["rank"] <= n, "excesso_valor"].sum() / total if total > 0 else float("nan")
            )
        rows.append(row)
    conc = pd.DataFrame(rows)
    conc["competencia"] = _month_dates(conc[_MES].to_numpy())
    return r[rank_cols], conc[conc_cols]


# ----------------------------------------------------------------------------- 10. benign flags


def benign_flags(
    estabelecimentos: pd.DataFrame | None = None,
    oscilacao: pd.DataFrame | None = None,
    mun_excess: pd.DataFrame | None = None,
    excess_shares: pd.DataFrame | None = None,
    *,
    limiar_pico: float = 2.0,
    populacao_minima: int = 5000,
) -> pd.DataFrame:
    """Benign explanations to show next to an anomaly (never removes it).

    Inputs (each optional; a flag is computed only when its inputs are given):

    * ``estabelecimentos``: CNES registry, cnes, uf, tp_unid (TP_UNID), and
      optionally competencia (then matched month by month; otherwise one row
      per cnes).
    * ``oscilacao``: long output of ``oscillation`` (cnes, alvo, competencia,
      score, value); its rows are the establishments WITH production.
    * ``mun_excess``: output of ``municipal_excess`` (municipio, alvo,
      competencia, populacao, excesso_quantidade).
    * ``excess_shares``: output of ``share_excess``.

    Flags:

    * ``unidade_movel``: TP_UNID in {"32" fluvial, "40" terrestre, "42"
      pré-hospitalar de urgência} (codes compared zero-padded to 2 digits).
      Emitted for every cnes x alvo x competencia of the establishment found in
      ``oscilacao`` or ``excess_shares``.
    * ``pico_regional``: within uf x alvo x competencia, with n establishments
      with production (rows with score oscilacao_quantidade_m12, NaN
      included) and k of them with oscilacao_quantidade_m12 >= limiar_pico:
      if k > n / 2, every one of the n gets the flag (campaign or epidemic).
      Needs ``estabelecimentos`` for the uf.
    * ``municipio_pequeno``: populacao < populacao_minima, on the municipal
      excess rows with excesso_quantidade > 0 (cnes missing, municipio set)
      and on the establishments receiving a positive excess from such a
      municipality in ``excess_shares`` (cnes and municipio set).

    Returns a long table cnes, municipio, alvo, competencia, flag, detail
    (Portuguese). ``municipio`` is only set for municipio_pequeno.
    """
    cols = ["cnes", "municipio", "alvo", "competencia", "flag", "detail"]
    parts: list[pd.DataFrame] = []

    est = None
    if estabelecimentos is not None:
        _require(estabelecimentos, ["cnes", "uf", "tp_unid"], "estabelecimentos")
        est = estabelecimentos.copy()
        est["tp_unid"] = est["tp_unid"].astype(str).str.strip().str.zfill(2)
        est_keys = ["cnes"]
        if "competencia" in est.columns:
            est = _with_month(est)
            est_keys = ["cnes", _MES]
        est = est[[*est_keys, "uf", "tp_unid"]].drop_duplicates(est_keys)

    osc = None
    if oscilacao is not None:
        _require(oscilacao, ["cnes", "alvo", "competencia", "score", "value"], "oscilacao")
        osc = _with_month(oscilacao)
    sh = None
    if excess_shares is not None:
        _require(excess_shares, ["cnes", "municipio", "alvo", "competencia", "excesso_quantidade"], "excess_shares")
        sh = _with_month(excess_shares)

    # (a) mobile units
    if est is not None:
        universe = [f[["cnes", "alvo", _MES]] for f in (osc, sh) if f is not None]
        if universe:
            u = pd.concat(universe, ignore_index=True).drop_duplicates()
            u = u.merge(est, on=est_keys, how="inner")
            u = u[u["tp_unid"].isin(MOBILE_UNIT_TYPES)]
            if len(u):
                parts.append(pd.DataFrame({
                    "cnes": u["cnes"].to_numpy(), "municipio": None, "alvo": u["alvo"].to_numpy(),
                    _MES: u[_MES].to_numpy(), "flag": "unidade_movel",
                    "detail": [f"TP_UNID {t}: {MOBILE_UNIT_TYPES[t]}" for t in u["tp_unid"]],
                }))

    # (b) regional spike
    if osc is not None:
        if est is None:
            raise ValueError("pico_regional precisa de estabelecimentos (uf de cada cnes)")
        o = osc[osc["score"] == "oscilacao_quantidade_m12"][["cnes", "alvo", _MES, "value"]]
        o = o.merge(est, on=est_keys, how="inner")
        o = o.assign(pico=o["value"].astype(float) >= limiar_pico)
        o = o.drop_duplicates(["cnes", "alvo", _MES])
        g = o.groupby(["uf", "alvo", _MES], sort=False)
        o["n"] = g["cnes"].transform("size")
        o["k"] = g["pico"].transform("sum")
        o = o[o["k"] > o["n"] / 2]
        if len(o):
            parts.append(pd.DataFrame({
                "cnes": o["cnes"].to_numpy(), "municipio": None, "alvo": o["alvo"].to_numpy(),
                _MES: o[_MES].to_numpy(), "flag": "pico_regional",
                "detail": [
                    f"{int(k)} de {int(n)} estabelecimentos com produção na UF {uf} têm "
                    f"oscilacao_quantidade_m12 >= {limiar_pico:g}: provável campanha ou epidemia"
                    for k, n, uf in zip(o["k"], o["n"], o["uf"])
                ],
            }))

    # (c) small municipality
    if mun_excess is not None:
        _require(mun_excess, ["municipio", "alvo", "competencia", "populacao", "excesso_quantidade"], "mun_excess")
        me = _with_month(mun_excess)
        small = me[(me["populacao"].astype(float) < populacao_minima)
                   & (me["excesso_quantidade"].astype(float) > 0)]
        small = small[["municipio", "alvo", _MES, "populacao"]].drop_duplicates(["municipio", "alvo", _MES])

        def detail(pop):
            return (f"município com {int(pop)} habitantes (< {populacao_minima}): "
                    f"taxa per capita instável, poucos casos bastam para exceder o corte")

        if len(small):
            parts.append(pd.DataFrame({
                "cnes": None, "municipio": small["municipio"].to_numpy(), "alvo": small["alvo"].to_numpy(),
                _MES: small[_MES].to_numpy(), "flag": "municipio_pequeno",
                "detail": [detail(p) for p in small["populacao"]],
            }))
            if sh is not None:
                e = sh[sh["excesso_quantidade"].astype(float) > 0][["cnes", "municipio", "alvo", _MES]]
                e = e.merge(small, on=["municipio", "alvo", _MES], how="inner")
                if len(e):
                    parts.append(pd.DataFrame({
                        "cnes": e["cnes"].to_numpy(), "municipio": e["municipio"].to_numpy(),
                        "alvo": e["alvo"].to_numpy(), _MES: e[_MES].to_numpy(), "flag": "municipio_pequeno",
                        "detail": [f"excesso vindo do município {m}: " + detail(p)
                                   for m, p in zip(e["municipio"], e["populacao"])],
                    }))

    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["flag", _MES, "alvo", "cnes", "municipio"], na_position="first", kind="stable")
    out["competencia"] = _month_dates(out[_MES].to_numpy())
    return out[cols].reset_index(drop=True)
