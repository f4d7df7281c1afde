"""The issue's pandas baseline of the SUS scores: one month scored the way an analyst writes pandas.

``score_month_pandas`` computes the same tables as ``vigia.sus.scoring.score_month`` (same inputs: the
finest cube of the scored month and the months before it) with plain pandas: string keys,
``groupby`` / ``merge`` / ``transform``, a month grid (``pivot_table`` reindexed to the 12 previous
months) for the medians, a filter + ``groupby`` for the 12-month sums, ``groupby().agg`` for the
per-group log-normal fit. No integer-packed keys, no dense numpy tables, nothing of
``vigia.sus.scores`` for the heavy parts. The formulas (stated in each ``vigia.sus.scores``
docstring) for the scored month t:

* oscillation, per cnes x alvo with a row at t, window m in (12, 6), measure x in (quantidade, valor):
  ``(x_t + 1) / (median(x_{t-m} .. x_{t-1}) + 1)``, absent months 0; NaN + "sem histórico: k de m ..."
  when one of the m months is not covered; "sem base: ..." when the count median < 5;
* EB rates (Marshall, a clamped at 0) per alvo x month over all municipalities, every month of the
  window; ``dif = max(0, taxa_eb - k x taxa_brasil)``; ``escore_municipal`` = Σ dif over t-11 .. t, for the
  pairs with production in t or a score above 0 (production that stopped);
* attribution: ``Σ_j P_ej / P_j x escore_municipal_j``, P_ej = production of e for j over t-11 .. t;
* log-normal cutoff per alvo (MLE on the positive rates, >= 3 of them), municipal excess
  ``max(0, q - cutoff x pop)`` valued at the municipality's unit value, split by same-month shares;
* value per admission: robust z of log(valor / n_aih) among establishments with >= 5 AIH, excess
  above ``exp(med + Φ⁻¹(0.99) x 1.4826 x MAD)``;
* jump excess: ``max(0, q_t - 3 x median_12)`` valued at the unit value, when median_12 >= 5;
* regional spike candidates: substantial producers (>= 10 units) of a UF x alvo whose municipal-cube
  total oscillates >= 2 on the 12-month count.

Reused from Vigia, on small aggregates only: ``scoring.population_for`` (a merge of the municipal cube
with the population, which also raises on a missing municipality), ``scores.provider_ranking`` (the
ranking and concentration of one row per establishment) and ``scores.benign_flags`` (the flags of the
scored month). Row order is not part of this baseline's contract: the tables hold the same rows and
values as ``score_month``'s, possibly in another order.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm

from vigia.sus import scores, scoring

MIN_MEDIAN = 5.0  # oscillation "sem base" and jump excess floor (units)
MIN_POSITIVE_RATES = 3
MAD_TO_SIGMA = 1.4826
MIN_AIH = 5


def _months_before(t: pd.Timestamp, n: int) -> pd.DatetimeIndex:
    """The n months before t, oldest first."""
    return pd.date_range(end=t - pd.DateOffset(months=1), periods=n, freq="MS")


def oscillation(est: pd.DataFrame, t: pd.Timestamp, covered: set, windows=(12, 6)) -> pd.DataFrame:
    """Long oscillation scores of the rows of month t (``est``: cnes, alvo, competencia, quantidade, valor)."""
    now = est.loc[est["competencia"] == t, ["cnes", "alvo", "quantidade", "valor"]].set_index(["cnes", "alvo"])
    months = _months_before(t, max(windows))
    past = est[est["competencia"].isin(months)]
    grids = {x: past.pivot_table(index=["cnes", "alvo"], columns="competencia", values=x, aggfunc="sum")
             .reindex(index=now.index, columns=months).fillna(0.0) for x in ("quantidade", "valor")}
    blocks = []
    for m in windows:
        n_cov = sum(month in covered for month in months[-m:])
        medians = {x: grid[months[-m:]].median(axis=1) for x, grid in grids.items()}
        if n_cov < m:
            reason = pd.Series(f"sem histórico: {n_cov} de {m} meses anteriores disponíveis", index=now.index)
        else:
            med = medians["quantidade"]
            text = "sem base: mediana de " + str(m) + " meses = " + med.map("{:g}".format) + \
                   f" unidade(s) < {MIN_MEDIAN:g}; fora do ranking"
            reason = text.where(med < MIN_MEDIAN, None)
        for x in ("quantidade", "valor"):
            value = (now[x] + 1) / (medians[x] + 1) if n_cov == m else pd.Series(np.nan, index=now.index)
            blocks.append(pd.DataFrame({"score": f"oscilacao_{x}_m{m}", "value": value, "reason": reason,
                                        "mediana": medians[x]}).reset_index())
    return pd.concat(blocks, ignore_index=True)


def municipal_rates(cube_mun: pd.DataFrame, population: pd.DataFrame, t: pd.Timestamp, k: float,
                    per: float = 100_000) -> pd.DataFrame:
    """EB rates of every month over every municipality of the population file (0 where the cube has
    no row: b is the national rate), and the 12-month municipal score of month t for the municipio x
    alvo pairs of the cube in t."""
    cells = cube_mun[["alvo", "competencia"]].drop_duplicates()
    cells["ano"] = cells["competencia"].dt.year
    pop = population[["municipio", "ano", "populacao"]].astype({"ano": "int64"})
    mun = cells.merge(pop, on="ano").merge(
        cube_mun[["municipio", "alvo", "competencia", "quantidade"]], on=["municipio", "alvo", "competencia"],
        how="left")
    mun["quantidade"] = mun["quantidade"].fillna(0.0)
    mun["populacao"] = mun["populacao"].astype(float)
    g = mun.groupby(["alvo", "competencia"])
    sum_n = g["populacao"].transform("sum")
    r = mun["quantidade"] / mun["populacao"]
    b = g["quantidade"].transform("sum") / sum_n
    mun["wdev"] = mun["populacao"] * (r - b) ** 2
    s2 = mun.groupby(["alvo", "competencia"])["wdev"].transform("sum") / sum_n
    nbar = sum_n / g["populacao"].transform("size")
    a = (s2 - b / nbar).clip(lower=0.0)
    c = (a / (a + b / mun["populacao"])).where(a > 0, 0.0)
    mun["taxa_eb"] = (b + c * (r - b)) * per
    mun["limiar"] = k * b * per
    mun["dif"] = (mun["taxa_eb"] - mun["limiar"]).clip(lower=0.0)
    window = mun[mun["competencia"] > t - pd.DateOffset(months=12)]
    escore = window.groupby(["municipio", "alvo"], as_index=False)["dif"].sum().rename(
        columns={"dif": "escore_municipal"})
    now = mun.loc[mun["competencia"] == t, ["municipio", "alvo", "taxa_eb", "limiar", "dif"]]
    now = now.merge(escore, on=["municipio", "alvo"], how="left")
    in_cube = cube_mun.loc[cube_mun["competencia"] == t, ["municipio", "alvo"]].assign(no_cubo=True)
    now = now.merge(in_cube, on=["municipio", "alvo"], how="left")
    # production in t, or a score left by earlier months of the window (production that stopped)
    return now[now["no_cubo"].notna() | (now["escore_municipal"] > 0)].drop(columns="no_cubo")


def with_stopped(municipal: pd.DataFrame, rates_now: pd.DataFrame, population: pd.DataFrame,
                 t: pd.Timestamp) -> pd.DataFrame:
    """The municipal table plus the scored pairs without production in t: no quantity, rate or excess,
    the target's cutoff, the population of t's year."""
    from vigia.sus.geo import UF_BY_CODE

    stopped = rates_now.merge(municipal[["municipio", "alvo"]], on=["municipio", "alvo"], how="left", indicator=True)
    stopped = stopped[stopped["_merge"] == "left_only"].drop(columns="_merge")
    if stopped.empty:
        return municipal
    fit = municipal.groupby("alvo", as_index=False).agg(sistema=("sistema", "first"), cutoff=("cutoff", "first"))
    year = population.loc[population["ano"].astype("int64") == t.year, ["municipio", "populacao"]]
    stopped = stopped.merge(fit, on="alvo").merge(year, on="municipio")
    stopped = stopped.assign(uf=stopped["municipio"].str[:2].map(UF_BY_CODE), quantidade=0.0, valor=0.0, n_aih=0,
                             taxa=0.0, excesso_quantidade=0.0, excesso_valor=0.0, reason=None, competencia=t)
    return pd.concat([municipal, stopped[municipal.columns]], ignore_index=True)


def attribution(cube: pd.DataFrame, rates_now: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """taxa_per_capita_eb of each cnes x alvo: municipal scores weighted by 12-month production shares."""
    window = cube[cube["competencia"] > t - pd.DateOffset(months=12)]
    window = window.merge(rates_now[["municipio", "alvo"]], on=["municipio", "alvo"])
    p = window.groupby(["cnes", "municipio", "alvo"], as_index=False)["quantidade"].sum()
    p["total"] = p.groupby(["municipio", "alvo"])["quantidade"].transform("sum")
    p = p[p["total"] > 0].merge(rates_now[["municipio", "alvo", "escore_municipal"]], on=["municipio", "alvo"])
    p["value"] = p["quantidade"] / p["total"] * p["escore_municipal"]
    return p.groupby(["cnes", "alvo"], as_index=False)["value"].sum().assign(score="taxa_per_capita_eb")


def _cutoff(rates: pd.Series, q: float) -> float:
    logs = np.log(rates[rates > 0])
    return np.exp(logs.mean() + logs.std(ddof=0) * norm.ppf(q)) if len(logs) >= MIN_POSITIVE_RATES else np.nan


def municipal_excess(mun_now: pd.DataFrame, q: float) -> pd.DataFrame:
    """Log-normal cutoff per alvo and each municipality's excess count and value above it."""
    out = mun_now.copy()
    out["taxa"] = out["quantidade"] / out["populacao"]
    fit = out.groupby("alvo")["taxa"].agg(cutoff=lambda s: _cutoff(s, q), n_pos=lambda s: int((s > 0).sum()))
    out = out.merge(fit, on="alvo", how="left")
    out["excesso_quantidade"] = (out["quantidade"] - out["cutoff"] * out["populacao"]).clip(lower=0.0)
    unit = (out["valor"] / out["quantidade"]).where(out["quantidade"] != 0, 0.0)
    out["excesso_valor"] = out["excesso_quantidade"] * unit
    text = ("corte log-normal indisponível: " + out["n_pos"].astype(str) + " município(s) com taxa positiva "
            f"neste alvo e competência (mínimo {MIN_POSITIVE_RATES})")
    out["reason"] = text.where(out["cutoff"].isna(), None)
    return out.drop(columns="n_pos")


def share_excess(month: pd.DataFrame, excess: pd.DataFrame) -> pd.DataFrame:
    """Each municipality's excess split by the establishments' same-month production shares."""
    s = month.groupby(["cnes", "municipio", "alvo"], as_index=False)["quantidade"].sum()
    s["total"] = s.groupby(["municipio", "alvo"])["quantidade"].transform("sum")
    s = s[s["total"] > 0]
    s["share"] = s["quantidade"] / s["total"]
    m = s.merge(excess[["municipio", "alvo", "excesso_quantidade", "excesso_valor"]], on=["municipio", "alvo"])
    m["excesso_quantidade"] = m["share"] * m["excesso_quantidade"]
    m["excesso_valor"] = m["share"] * m["excesso_valor"]
    return m[["cnes", "municipio", "alvo", "share", "excesso_quantidade", "excesso_valor"]]


def value_per_admission(sih: pd.DataFrame, q: float) -> pd.DataFrame:
    """Robust z of the log mean value per AIH within each alvo, and the price excess above the cutoff."""
    d = sih[["cnes", "alvo", "valor", "n_aih"]].copy()
    d["valor_medio_aih"] = (d["valor"] / d["n_aih"]).where(d["n_aih"] > 0)
    few = ~(d["n_aih"] >= MIN_AIH)
    nonpos = ~few & ~(d["valor_medio_aih"] > 0)
    eligible = ~few & ~nonpos
    d["log"] = np.log(d["valor_medio_aih"].where(eligible))
    g = d.groupby("alvo")["log"]
    med = g.transform("median")
    mad = (d["log"] - med).abs().groupby(d["alvo"]).transform("median")
    n_elig = g.transform("count")
    ok = eligible & (mad > 0)
    d["mediana_nacional"] = np.exp(med)
    d["z_robusto"] = ((d["log"] - med) / (MAD_TO_SIGMA * mad)).where(ok)
    d["corte_valor_aih"] = np.exp(med + norm.ppf(q) * MAD_TO_SIGMA * mad).where(ok)
    d["excesso_valor"] = (d["n_aih"] * (d["valor_medio_aih"] - d["corte_valor_aih"]).clip(lower=0.0)).fillna(0.0)
    d["reason"] = None
    d.loc[few, "reason"] = "menos de 5 AIH no mês (" + d.loc[few, "n_aih"].fillna(0).astype(int).astype(str) + ")"
    d.loc[nonpos, "reason"] = "valor médio por AIH não positivo: log indefinido"
    no_mad = eligible & ~(mad > 0)
    d.loc[no_mad, "reason"] = ("MAD nula: sem dispersão entre os " + n_elig[no_mad].astype(int).astype(str)
                               + " estabelecimento(s) elegíveis deste alvo e competência")
    return d.drop(columns=["valor", "log"])


def spike_candidates(mun: pd.DataFrame, est: pd.DataFrame, osc: pd.DataFrame, registry: pd.DataFrame,
                     t: pd.Timestamp, covered: set, limiar: float = 2.0) -> pd.DataFrame:
    """Oscillation rows of substantial producers (>= 10 units) of a UF x alvo whose total count jumped."""
    regional = mun.groupby(["uf", "alvo", "competencia"], as_index=False)[["quantidade", "valor"]].sum()
    reg = oscillation(regional.rename(columns={"uf": "cnes"}), t, covered, windows=(12,))
    jumped = reg.loc[(reg["score"] == "oscilacao_quantidade_m12") & (reg["value"] >= limiar), ["cnes", "alvo"]]
    jumped = jumped.rename(columns={"cnes": "uf"})
    substantial = est.loc[(est["competencia"] == t) & (est["quantidade"] >= scoring.MIN_VOLUME_REGIONAL_SPIKE),
                          ["cnes", "alvo"]]
    out = osc.merge(substantial, on=["cnes", "alvo"])
    out = out.merge(registry[["cnes", "uf"]].drop_duplicates("cnes"), on="cnes")
    return out.merge(jumped, on=["uf", "alvo"]).drop(columns="uf")


def score_month_pandas(cube: pd.DataFrame, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                       covered_months: list[date], k: float = 3.0, q: float = 0.99,
                       measures: dict | None = None) -> scoring.MonthScores:
    """Every score of ``competencia``: the tables of ``scoring.score_month``, written in plain pandas.
    ``measures`` (alvo -> medida): a target's oscillation scores of its measure only."""
    t = pd.Timestamp(competencia)
    covered = set(pd.to_datetime(pd.Series(list(covered_months), dtype=object)))
    cube = cube.assign(competencia=pd.to_datetime(cube["competencia"]))
    cube = cube[cube["competencia"] <= t]
    est = cube.groupby(["competencia", "cnes", "alvo", "sistema"], as_index=False)[
        ["quantidade", "valor", "n_aih"]].sum()
    mun = cube.groupby(["competencia", "municipio", "uf", "alvo", "sistema"], as_index=False)[
        ["quantidade", "valor", "n_aih"]].sum()
    mun = scoring.population_for(mun, population)
    est_now = est[est["competencia"] == t]

    osc = oscillation(est, t, covered)
    med12 = osc.loc[osc["score"] == "oscilacao_quantidade_m12", ["cnes", "alvo", "value", "mediana"]]
    jumps = est_now.merge(med12, on=["cnes", "alvo"])
    has_base = jumps["value"].notna() & (jumps["mediana"] >= MIN_MEDIAN)
    jumps["excesso_quantidade"] = (jumps["quantidade"] - k * jumps["mediana"]).clip(lower=0.0).where(has_base, 0.0)
    unit = (jumps["valor"] / jumps["quantidade"]).where(jumps["quantidade"] > 0, 0.0)
    jumps["excesso_valor"] = jumps["excesso_quantidade"] * unit
    osc = osc.drop(columns="mediana").assign(competencia=competencia)

    rates_now = municipal_rates(mun, population, t, k)
    eb = attribution(cube, rates_now, t)
    excess = municipal_excess(mun[mun["competencia"] == t], q)
    municipal = with_stopped(excess.merge(rates_now, on=["municipio", "alvo"], how="left"), rates_now, population, t)
    exc_shares = share_excess(cube[cube["competencia"] == t], excess)
    vpa = value_per_admission(est_now[est_now["sistema"] == "SIH"], q)

    n_win = sum(t - pd.DateOffset(months=i) in covered for i in range(12))  # the per-capita sum's months
    eb_reason = None if n_win == 12 else f"janela parcial: {n_win} de 12 meses no armazém; fora do ranking"
    osc_long = osc
    if measures:
        medida = osc["alvo"].map(measures).fillna("ambos")
        meas = osc["score"].map({name: name.split("_")[1] for name in osc["score"].unique()})
        osc_long = osc[(medida == "ambos") | (medida == meas)]
    long = pd.concat([osc_long, eb.assign(competencia=competencia, reason=eb_reason),
                      vpa.rename(columns={"z_robusto": "value"}).assign(score=scoring.SCORE_VALOR_AIH,
                                                                       competencia=competencia)],
                     ignore_index=True)[["cnes", "alvo", "competencia", "score", "value", "reason"]]
    parts = {"excesso_per_capita": exc_shares, "excesso_preco": vpa, "excesso_salto": jumps}
    by_target = pd.concat([df[["cnes", "alvo", "excesso_valor"]].rename(columns={"excesso_valor": name})
                           for name, df in parts.items()], ignore_index=True)
    by_target = by_target.groupby(["cnes", "alvo"], as_index=False)[list(parts)].sum()
    by_target["excesso_valor"] = by_target[list(parts)].sum(axis=1)
    by_target.insert(2, "competencia", competencia)
    ranking, concentration = scores.provider_ranking(by_target[["cnes", "alvo", "competencia", "excesso_valor"]],
                                                     long)

    municipal["competencia"] = competencia
    exc_shares.insert(3, "competencia", competencia)
    candidates = spike_candidates(mun, est, osc, registry, t, covered)
    spikes = scores.benign_flags(estabelecimentos=registry, oscilacao=candidates)
    others = scores.benign_flags(estabelecimentos=registry, oscilacao=osc, mun_excess=municipal,
                                 excess_shares=exc_shares)
    flags = pd.concat([spikes[spikes["flag"] == "pico_regional"], others[others["flag"] != "pico_regional"]],
                      ignore_index=True)
    return scoring.MonthScores(by_target, long, municipal, exc_shares, ranking, concentration, flags)
