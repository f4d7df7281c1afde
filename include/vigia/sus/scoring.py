"""One competência's scores, from the cubes: the composition of ``vigia.sus.scores``.

Input is the finest cube (establishment x municipality of residence x target x
month) for the scored month and the months before it, the population, and the
CNES registry. Output is every table the warehouse publishes for the month:

* ``scores``: establishment x target x score name -> value (+ reason);
* ``municipal``: municipality x target: rate, EB rate, threshold, log-normal
  cutoff, excess count and value, 12-month municipal score;
* ``excess_shares``: the per-capita excess attributed to each establishment;
* ``excess_by_target``: establishment x target money: per-capita excess,
  price excess of admissions, production above 3x its own median, and their sum;
* ``ranking`` and ``concentration``: the audit priority list;
* ``flags``: benign explanations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from vigia.sus import cubes, scores

SCORE_VALOR_AIH = "valor_por_aih_z"
# establishments below this monthly volume do not count when deciding whether a region spiked
MIN_VOLUME_REGIONAL_SPIKE = 10.0


@dataclass
class MonthScores:
    excess_by_target: pd.DataFrame  # cnes, alvo, competencia, per-capita/price/jump components, excesso_valor
    scores: pd.DataFrame
    municipal: pd.DataFrame
    excess_shares: pd.DataFrame
    ranking: pd.DataFrame
    concentration: pd.DataFrame
    flags: pd.DataFrame


def population_for(mun: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Attach the population of each municipality for the year of each row's competência.

    A municipality without a population for that year raises, naming it: the
    ingestion gate is meant to have caught it already.
    """
    pop = population[["municipio", "ano", "populacao"]].copy()
    pop["ano"] = pop["ano"].astype("int64")
    out = mun.assign(ano=pd.to_datetime(mun["competencia"]).dt.year.astype("int64"))
    out = out.merge(pop, on=["municipio", "ano"], how="left", validate="m:1")
    missing = out.loc[out["populacao"].isna(), ["municipio", "ano"]].drop_duplicates()
    if len(missing):
        sample = ", ".join(f"{m} ({a})" for m, a in missing.head(5).itertuples(index=False))
        raise ValueError(f"no IBGE population for {len(missing)} municipality-year(s): {sample}")
    out["populacao"] = out["populacao"].astype("int64")
    return out.drop(columns="ano")


def _spike_candidates(cube, est, osc, registry, competencia, covered_months, limiar: float = 2.0):
    """The oscillation rows that may make a regional spike: substantial producers (>= 10 units in
    the month) of a UF x target whose total production itself jumped >= ``limiar`` x its 12-month
    median. Sporadic producers double all the time; a campaign or an epidemic moves the region."""
    regional = (cube.groupby(["uf", "alvo", "competencia"], as_index=False)[["quantidade", "valor"]].sum()
                .rename(columns={"uf": "cnes"}))
    reg_osc = scores.oscillation(regional, covered_months)
    jumped = reg_osc[(reg_osc["competencia"] == competencia) & (reg_osc["score"] == "oscilacao_quantidade_m12")
                     & (reg_osc["value"] >= limiar)].rename(columns={"cnes": "uf"})[["uf", "alvo"]]
    substantial = est[(est["competencia"] == competencia) & (est["quantidade"] >= MIN_VOLUME_REGIONAL_SPIKE)]
    out = osc.merge(substantial[["cnes", "alvo"]], on=["cnes", "alvo"], how="inner")
    out = out.merge(registry[["cnes", "uf"]].drop_duplicates("cnes"), on="cnes", how="inner")
    return out.merge(jumped, on=["uf", "alvo"], how="inner").drop(columns="uf")


def score_month(cube: pd.DataFrame, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                covered_months: list[date], k: float = 3.0, q: float = 0.99) -> MonthScores:
    """Every score of ``competencia`` from the cube of that month and the months before it."""
    cube = cube[pd.to_datetime(cube["competencia"]).dt.date <= competencia]
    est = cubes.by_establishment(cube)
    osc = scores.oscillation(est[["cnes", "alvo", "competencia", "quantidade", "valor"]], covered_months)
    osc = osc[osc["competencia"] == competencia]
    jumps = scores.jump_excess(est[est["competencia"] == competencia], osc)

    mun = population_for(cubes.by_municipality(cube), population)
    shares = cube[["cnes", "municipio", "alvo", "competencia", "quantidade"]]
    rate_scores = scores.municipal_rate_scores(mun[["municipio", "alvo", "competencia", "quantidade", "populacao"]], k=k)
    # only the window ending at the scored month is attributed (the earlier windows are not published)
    now = pd.to_datetime(rate_scores["competencia"]).dt.date == competencia
    eb = scores.attribute_to_establishments(rate_scores[now], shares)
    eb = eb[eb["competencia"] == competencia]

    mun_now = mun[mun["competencia"] == competencia]
    excess = scores.municipal_excess(mun_now, q=q)
    municipal = excess.merge(
        rate_scores[rate_scores["competencia"] == competencia][
            ["municipio", "alvo", "competencia", "taxa_eb", "limiar", "dif", "escore_municipal"]],
        on=["municipio", "alvo", "competencia"], how="left")
    exc_shares = scores.share_excess(excess, shares[shares["competencia"] == competencia])

    sih = est[(est["sistema"] == "SIH") & (est["competencia"] == competencia)]
    vpa = scores.value_per_admission(sih[["cnes", "alvo", "competencia", "valor", "n_aih"]])
    vpa_long = vpa.assign(score=SCORE_VALOR_AIH)[["cnes", "alvo", "competencia", "score", "z_robusto", "reason"]]
    vpa_long = vpa_long.rename(columns={"z_robusto": "value"})

    long = pd.concat([osc, eb.assign(reason=None), vpa_long], ignore_index=True)
    # money: per-capita excess (SIA and SIH), the price excess of admissions above the 99% cutoff,
    # and production above 3x the establishment's own 12-month median
    keys = ["cnes", "alvo", "competencia"]
    parts = [(exc_shares, "excesso_per_capita"), (vpa, "excesso_preco"), (jumps, "excesso_salto")]
    components = [name for _, name in parts]
    by_target = pd.concat([df[keys + ["excesso_valor"]].rename(columns={"excesso_valor": name})
                           for df, name in parts], ignore_index=True)
    by_target = by_target.groupby(keys, as_index=False)[components].sum()
    by_target["excesso_valor"] = by_target[components].sum(axis=1)
    ranking, concentration = scores.provider_ranking(by_target[keys + ["excesso_valor"]], long)
    spikes = scores.benign_flags(estabelecimentos=registry,
                                 oscilacao=_spike_candidates(cube, est, osc, registry, competencia, covered_months))
    others = scores.benign_flags(estabelecimentos=registry, oscilacao=osc, mun_excess=excess,
                                 excess_shares=exc_shares)
    flags = pd.concat([spikes[spikes["flag"] == "pico_regional"], others[others["flag"] != "pico_regional"]],
                      ignore_index=True)
    return MonthScores(by_target, long, municipal, exc_shares, ranking, concentration, flags)
