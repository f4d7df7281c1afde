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

The month is scored from aggregates only (:class:`ScoreCubes`): the establishment x target x month
and municipality x target x month cubes of the window, the finest cube of the scored month only, and
each establishment's production per municipality summed over the 12-month attribution window.
:func:`score_cubes` composes ``vigia.sus.scores`` on them (every formula lives there). The cubes come
from either side:

* :func:`score_from_warehouse` (the DAG's score step and the on-demand sheet) lets the warehouse run
  the GROUP BYs (``include/sql/sus/score_*.sql``, DuckDB and PostgreSQL): :func:`cubes_from_warehouse`;
* :func:`score_month` takes the finest cube of the 13 months in pandas (tests and the pandas baseline
  of the benchmark): :func:`cubes_from_frame`.

The two agree to floating-point summation order (tested on both databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from vigia import runs
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


MUN_KEYS = ["competencia", "municipio", "uf", "alvo", "sistema"]


@dataclass
class ScoreCubes:
    """What the scoring of one month reads: aggregates only (see the module docstring).

    * ``month``: finest cube (establishment x municipality x target) of the scored month;
    * ``establishment``: competencia, cnes, alvo, sistema, quantidade, valor, n_aih, every month
      (rows in any order);
    * ``municipality``: competencia, municipio, uf, alvo, sistema, quantidade, valor, n_aih, every month
      (rows sorted by those keys);
    * ``window_shares``: cnes, municipio, alvo, competencia (= the scored month), quantidade summed
      over the ``window`` months ending at the scored month (P_ej of
      :func:`vigia.sus.scores.attribute_to_establishments`).
    """
    month: pd.DataFrame
    establishment: pd.DataFrame
    municipality: pd.DataFrame
    window_shares: pd.DataFrame


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    """``competencia`` as ``datetime.date`` (one conversion per distinct month, not per row)."""
    codes, months = pd.factorize(df["competencia"], use_na_sentinel=False)
    df["competencia"] = np.array([pd.Timestamp(m).date() if pd.notna(m) else None for m in months],
                                 dtype=object)[codes]
    return df


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The row order of the pandas GROUP BY (keys sorted by Python's order, not the database collation)."""
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def cubes_from_warehouse(warehouse, competencia: date, history_months: int = 12, window: int = 12) -> ScoreCubes:
    """The aggregates of ``competencia`` and the ``history_months`` before it, GROUP BYs run by the warehouse.

    The municipality cube comes in the pandas GROUP BY's order, as sums over it (EB rates, cutoffs)
    add in row order. The establishment cube and the window shares (one row per cnes x municipio x
    alvo) keep the warehouse's order: the scores computed from them sort their rows, and the only
    sums across their rows (a municipality's production over its establishments) differ by the
    order of floating-point additions alone (~1e-16 relative; the tests compare at 1e-9).
    """
    inicio = runs.add_months(competencia, -history_months)
    est = warehouse.query_file("sus/score_establishment_cube.sql", {"inicio": inicio, "fim": competencia})
    est["n_aih"] = est["n_aih"].astype("int64")
    mun = warehouse.query_file("sus/score_municipality_cube.sql", {"inicio": inicio, "fim": competencia})
    mun["n_aih"] = mun["n_aih"].astype("int64")
    month = _dates(warehouse.query_file("sus/cube_history.sql", {"inicio": competencia, "fim": competencia}))
    shares = warehouse.query_file("sus/score_window_shares.sql",
                                  {"inicio": runs.add_months(competencia, 1 - window), "fim": competencia})
    shares = shares.assign(competencia=competencia)
    return ScoreCubes(month, _dates(est), _dates(_sorted(mun, MUN_KEYS)), shares)


def cubes_from_frame(cube: pd.DataFrame, competencia: date, window: int = 12) -> ScoreCubes:
    """The same aggregates from a finest cube held in pandas (tests; the SQL files do this in the warehouse)."""
    cube = cube[pd.to_datetime(cube["competencia"]).dt.date <= competencia]
    months = pd.to_datetime(cube["competencia"]).dt.date
    now = cube[months == competencia]
    scored = now.loc[now["uf"].notna(), ["municipio", "alvo"]].drop_duplicates()
    inside = cube[months > runs.add_months(competencia, -window)].merge(scored, on=["municipio", "alvo"])
    shares = (inside.groupby(["cnes", "municipio", "alvo"], as_index=False)["quantidade"].sum()
              .assign(competencia=competencia))
    return ScoreCubes(now.reset_index(drop=True), cubes.by_establishment(cube), cubes.by_municipality(cube),
                      shares)


def _spike_candidates(mun, est, osc, registry, competencia, covered_months, limiar: float = 2.0):
    """The oscillation rows that may make a regional spike: substantial producers (>= 10 units in
    the month) of a UF x target whose total production itself jumped >= ``limiar`` x its 12-month
    median. Sporadic producers double all the time; a campaign or an epidemic moves the region.
    The UF totals are the sums of the municipal cube ``mun`` (municipality of residence)."""
    regional = (mun.groupby(["uf", "alvo", "competencia"], as_index=False)[["quantidade", "valor"]].sum()
                .rename(columns={"uf": "cnes"}))
    reg_osc = scores.oscillation(regional, covered_months, only_months=[competencia])
    jumped = reg_osc[(reg_osc["score"] == "oscilacao_quantidade_m12")
                     & (reg_osc["value"] >= limiar)].rename(columns={"cnes": "uf"})[["uf", "alvo"]]
    substantial = est[(est["competencia"] == competencia) & (est["quantidade"] >= MIN_VOLUME_REGIONAL_SPIKE)]
    out = osc.merge(substantial[["cnes", "alvo"]], on=["cnes", "alvo"], how="inner")
    out = out.merge(registry[["cnes", "uf"]].drop_duplicates("cnes"), on="cnes", how="inner")
    return out.merge(jumped, on=["uf", "alvo"], how="inner").drop(columns="uf")


def score_cubes(c: ScoreCubes, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                covered_months: list[date], k: float = 3.0, q: float = 0.99) -> MonthScores:
    """Every score of ``competencia`` from its aggregates.

    The oscillation scores only the scored month's rows (the other months are its medians' history),
    the per-capita attribution gets P_ej already summed over the window, and the regional totals of
    the spike flag are sums of the municipal cube.
    """
    est = c.establishment[c.establishment["competencia"] <= competencia]
    osc = scores.oscillation(est[["cnes", "alvo", "competencia", "quantidade", "valor"]], covered_months,
                             only_months=[competencia])
    est_now = est[est["competencia"] == competencia]
    jumps = scores.jump_excess(est_now, osc)

    mun = population_for(c.municipality[c.municipality["competencia"] <= competencia], population)
    shares_now = c.month[["cnes", "municipio", "alvo", "competencia", "quantidade"]]
    rate_scores = scores.municipal_rate_scores(mun[["municipio", "alvo", "competencia", "quantidade", "populacao"]],
                                               k=k, only_months=[competencia])
    eb = scores.attribute_to_establishments(rate_scores, c.window_shares)

    mun_now = mun[mun["competencia"] == competencia]
    excess = scores.municipal_excess(mun_now, q=q)
    municipal = excess.merge(
        rate_scores[["municipio", "alvo", "competencia", "taxa_eb", "limiar", "dif", "escore_municipal"]],
        on=["municipio", "alvo", "competencia"], how="left")
    exc_shares = scores.share_excess(excess, shares_now)

    sih = est_now[est_now["sistema"] == "SIH"]
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
    candidates = _spike_candidates(mun, est, osc, registry, competencia, covered_months)
    spikes = scores.benign_flags(estabelecimentos=registry, oscilacao=candidates)
    others = scores.benign_flags(estabelecimentos=registry, oscilacao=osc, mun_excess=excess,
                                 excess_shares=exc_shares)
    flags = pd.concat([spikes[spikes["flag"] == "pico_regional"], others[others["flag"] != "pico_regional"]],
                      ignore_index=True)
    return MonthScores(by_target, long, municipal, exc_shares, ranking, concentration, flags)


def score_month(cube: pd.DataFrame, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                covered_months: list[date], k: float = 3.0, q: float = 0.99) -> MonthScores:
    """Every score of ``competencia`` from the finest cube of that month and the months before it."""
    return score_cubes(cubes_from_frame(cube, competencia), competencia, population, registry, covered_months,
                       k=k, q=q)


def score_from_warehouse(warehouse, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                         covered_months: list[date], history_months: int = 12,
                         k: float = 3.0, q: float = 0.99) -> tuple[MonthScores, ScoreCubes]:
    """The DAG's scoring: :func:`cubes_from_warehouse` then :func:`score_cubes`; also returns the cubes."""
    c = cubes_from_warehouse(warehouse, competencia, history_months)
    return score_cubes(c, competencia, population, registry, covered_months, k=k, q=q), c


def fact_sheet_cube(c: ScoreCubes) -> pd.DataFrame:
    """The cube the fact sheets read: the scored month's finest cube, and the earlier months at
    establishment level (municipio and uf empty): the sheets only draw those months' production series."""
    month = c.month["competencia"].iloc[0] if len(c.month) else None
    earlier = c.establishment[c.establishment["competencia"] != month].assign(municipio=None, uf=None)
    cols = list(c.month.columns)
    earlier = earlier.assign(**{col: None for col in cols if col not in earlier.columns})[cols]
    return pd.concat([c.month, earlier], ignore_index=True) if len(earlier) else c.month
