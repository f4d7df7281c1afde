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

The month is scored from aggregates only (:class:`ScoreCubes`): the establishment x target cube of
the scored month with the earlier months of its establishment x target pairs (the oscillation window,
as integers), the UF x target x month totals of the window, the municipality x target and finest cubes
of the scored month only, and the per-capita score already computed per municipality and attributed to
establishments.
:func:`score_cubes` composes ``vigia.sus.scores`` on them (every formula lives there). The cubes come
from either side:

* :func:`score_from_warehouse` (the DAG's score step and the on-demand sheet) lets the warehouse run
  the GROUP BYs and the per-capita chain (``include/sql/sus/score_*.sql``, DuckDB and PostgreSQL; the
  IBGE population goes to ``sus_population`` first): :func:`cubes_from_warehouse`;
* :func:`score_month` takes the finest cube of the 13 months in pandas (tests and the pandas baseline
  of the benchmark): :func:`cubes_from_frame`, which runs the same per-capita formulas in pandas.

The two agree to floating-point summation order (tested on both databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from vigia import runs
from vigia.sus import cubes, scores
from vigia.sus.scores._common import _month_index
from vigia.warehouse import PartitionWrite

SCORE_VALOR_AIH = "valor_por_aih_z"
POPULATION_TABLE = "sus_population"
UF_COVERAGE_TABLE = "sus_cube_uf_coverage"  # the UFs each month's cube covers, per system
COVERAGE_COLUMNS = ["competencia", "sistema", "uf", "uf_codigo"]
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
RATE_COLUMNS = ["municipio", "alvo", "competencia", "taxa_eb", "limiar", "dif", "escore_municipal"]
PER_CAPITA_SCORE = "taxa_per_capita_eb"
PER = 100_000  # rates per 100,000 inhabitants
PER_CAPITA_WINDOW = 12  # months of the per-capita score's rolling sum (the scored month included)
K = 3.0  # the per-capita threshold: limiar = K x the national rate of the month


@dataclass
class ScoreCubes:
    """What the scoring of one month reads: aggregates only (see the module docstring).

    * ``month``: finest cube (establishment x municipality x target) of the scored month;
    * ``establishment``: par, competencia, cnes, alvo, sistema, quantidade, valor, n_aih of the scored
      month (rows in any order; ``par`` numbers them 0..n-1);
    * ``window``: the oscillation window of those rows: par, defasagem (months before the scored month,
      1..12), quantidade, valor, one row per establishment x target x earlier month with production
      (:func:`vigia.sus.scores.oscillation_from_window`);
    * ``municipality``: competencia, municipio, uf, alvo, sistema, quantidade, valor, n_aih of the scored
      month (rows sorted by those keys);
    * ``regional``: competencia, uf, alvo, quantidade, valor: the UF totals of every month (any order);
    * ``rates``: the scored month's per-capita score per municipality x target (``RATE_COLUMNS``, the
      output of :func:`vigia.sus.scores.municipal_rate_scores`), sorted by municipio, alvo;
    * ``per_capita``: its attribution to establishments (cnes, alvo, competencia, score, value, the
      output of :func:`vigia.sus.scores.attribute_to_establishments`), sorted by cnes, alvo;
    * ``coverage``: the UFs the window's cubes cover, per system (``COVERAGE_COLUMNS``,
      ``sus_cube_uf_coverage``; :func:`in_coverage`). None or empty: every UF is covered.
    """
    month: pd.DataFrame
    establishment: pd.DataFrame
    window: pd.DataFrame
    municipality: pd.DataFrame
    regional: pd.DataFrame
    rates: pd.DataFrame
    per_capita: pd.DataFrame
    coverage: pd.DataFrame | None = None


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    """``competencia`` as ``datetime.date`` (one conversion per distinct month, not per row)."""
    codes, months = pd.factorize(df["competencia"], use_na_sentinel=False)
    df["competencia"] = np.array([pd.Timestamp(m).date() if pd.notna(m) else None for m in months],
                                 dtype=object)[codes]
    return df


def in_coverage(frame: pd.DataFrame, coverage: pd.DataFrame | None) -> np.ndarray:
    """Which rows of ``frame`` (competencia, sistema, municipio) are of a UF the month's cube covers for that
    system (``coverage``: ``COVERAGE_COLUMNS``, from ``sus_cube_uf_coverage``). A month with no coverage
    record (a cube published before the table existed, or written by another tool) covers every UF.

    The per-capita pool (the national rate b and the spread of the empirical-Bayes rates) and the log-normal
    fit take the covered rows only: a UF whose files of the month have not landed is left out, not counted
    as zero production. The same rule as ``include/sql/sus/score_per_capita.sql``."""
    if coverage is None or coverage.empty or frame.empty:
        return np.ones(len(frame), dtype=bool)
    month, covered_month = _month_index(frame["competencia"]), _month_index(coverage["competencia"])
    have = pd.MultiIndex.from_arrays([covered_month, coverage["sistema"].astype(str).to_numpy(),
                                      coverage["uf_codigo"].astype(str).to_numpy()])
    mine = pd.MultiIndex.from_arrays([month, frame["sistema"].astype(str).to_numpy(),
                                      frame["municipio"].astype(str).str[:2].to_numpy()])
    return ~np.isin(month, covered_month) | mine.isin(have)


def uncovered_ufs(coverage: pd.DataFrame | None, population: pd.DataFrame, competencia: date) -> dict[str, list[str]]:
    """Per system, the UFs of the population file (of ``competencia``'s year) that the month's cube does not
    cover (their files of the month have not landed), when the month has a coverage record; else {}."""
    if coverage is None or coverage.empty:
        return {}
    now = coverage[_month_index(coverage["competencia"]) == _month_index([competencia])[0]]
    if now.empty:
        return {}
    from vigia.sus.geo import UF_BY_CODE

    year = population[population["ano"].astype("int64") == competencia.year]
    ufs = {UF_BY_CODE[c] for c in year["municipio"].astype(str).str[:2].unique() if c in UF_BY_CODE}
    missing = {sistema: sorted(ufs - set(now.loc[now["sistema"] == sistema, "uf"])) for sistema in ("SIA", "SIH")}
    return {sistema: out for sistema, out in missing.items() if out}


def warehouse_uf_coverage(warehouse, inicio: date, fim: date) -> pd.DataFrame:
    """``sus_cube_uf_coverage`` of the months ``inicio`` .. ``fim`` (``include/sql/sus/uf_coverage.sql``);
    empty when the warehouse has no such table yet."""
    if not warehouse.table_exists(UF_COVERAGE_TABLE):
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return _dates(warehouse.query_file("sus/uf_coverage.sql", {"inicio": inicio, "fim": fim}))


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The row order of the pandas GROUP BY (keys sorted by Python's order, not the database collation)."""
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def publish_population(warehouse, population: pd.DataFrame, years: list[int], run_id: str) -> dict[str, int]:
    """Replace the ``years`` of ``sus_population`` with the IBGE population file's rows, in one transaction
    (the per-capita SQL reads the population in the warehouse). A year the file lacks is left as the
    warehouse has it, not emptied: the gap check then names the municipalities still without one."""
    pop = population[["municipio", "ano", "populacao"]].copy()
    pop["ano"] = pop["ano"].astype("int64")
    present = set(pop["ano"])
    return warehouse.replace_partitions([
        PartitionWrite(POPULATION_TABLE, {"ano": int(y)},
                       pop[pop["ano"] == int(y)].drop(columns="ano").assign(run_id=run_id))
        for y in sorted(set(years)) if int(y) in present])


def carry_forward_population(population: pd.DataFrame, years) -> tuple[pd.DataFrame, list[str]]:
    """(population, notes): each of ``years`` that the IBGE file lacks altogether gets the rows of the
    file's latest earlier year. IBGE publishes a year's estimates around August of that year, so a run
    from January to July would otherwise stop for want of the current year. A year with no earlier one
    in the file is left missing (the gap checks name its municipalities); one note per year carried."""
    from vigia.sus.datasus.layout import POPULATION_FILE

    have = {int(a) for a in population["ano"].dropna().unique()}
    frames, notes = [population], []
    for year in sorted({int(y) for y in years} - have):
        earlier = [a for a in have if a < year]
        if not earlier:
            continue
        source = max(earlier)
        frames.append(population[(population["ano"] == source).to_numpy(dtype=bool, na_value=False)].assign(ano=year))
        notes.append(f"{'/'.join(POPULATION_FILE)} has no population for {year}: {source}'s "
                     f"(its latest year) is used for {year}; land {year}'s estimates and rerun to replace it")
    if len(frames) == 1:
        return population, notes
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"ano": population["ano"].dtype}), notes


def warehouse_population(warehouse, competencia: date, window: int = PER_CAPITA_WINDOW) -> pd.DataFrame:
    """The population ``sus_population`` holds for the per-capita window of ``competencia`` (what the score
    step of that month wrote; ``include/sql/sus/population_years.sql``): municipio, ano, populacao."""
    inicio = runs.add_months(competencia, 1 - window)
    if not warehouse.table_exists(POPULATION_TABLE):
        return pd.DataFrame(columns=["municipio", "ano", "populacao"])
    pop = warehouse.query_file("sus/population_years.sql", {"ano_inicio": inicio.year, "ano_fim": competencia.year})
    return pop.astype({"municipio": str, "ano": "int64", "populacao": "int64"})


def per_capita_from_warehouse(warehouse, competencia: date, population: pd.DataFrame, k: float = K,
                              window: int = PER_CAPITA_WINDOW, run_id: str = "score",
                              publish: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rates, per_capita) of :class:`ScoreCubes`, computed by ``include/sql/sus/score_per_capita.sql``.

    The population of the window's years goes to ``sus_population`` first (``publish=False``: the
    one already there is used, nothing is written); a municipality of the window without one raises,
    naming it (as :func:`population_for` does in pandas)."""
    inicio = runs.add_months(competencia, 1 - window)
    if publish:
        publish_population(warehouse, population, [inicio.year, competencia.year], run_id)
    params = {"inicio": inicio, "fim": competencia}
    if publish:  # the SQL reads it; a warehouse of an earlier version lacks it
        warehouse.ensure_tables([UF_COVERAGE_TABLE])
    elif not warehouse.table_exists(UF_COVERAGE_TABLE):  # the on-demand sheet writes nothing, not even DDL
        raise ValueError(f"the warehouse has no {UF_COVERAGE_TABLE} (a warehouse of an earlier version): "
                         "run sus_anomaly_scoring once to create it")
    gaps = warehouse.query_file("sus/score_population_gaps.sql", params)
    if len(gaps):
        sample = ", ".join(f"{m} ({int(a)})" for m, a in gaps.head(5).itertuples(index=False))
        raise ValueError(f"no IBGE population for municipality-year(s): {sample}")
    got = warehouse.query_file("sus/score_per_capita.sql", {**params, "k": float(k), "per": float(PER)})
    rates = _sorted(got[got["nivel"] == "municipio"], ["municipio", "alvo"]).assign(competencia=competencia)
    est = _sorted(got[got["nivel"] == "estabelecimento"], ["cnes", "alvo"])
    per_capita = pd.DataFrame({"cnes": est["cnes"], "alvo": est["alvo"], "competencia": competencia,
                               "score": PER_CAPITA_SCORE, "value": est["valor"].astype(float)})
    return rates[RATE_COLUMNS], per_capita


def cubes_from_warehouse(warehouse, competencia: date, population: pd.DataFrame, history_months: int = 12,
                         window: int = PER_CAPITA_WINDOW, k: float = K, run_id: str = "score",
                         publish: bool = True) -> ScoreCubes:
    """The aggregates of ``competencia`` and the ``history_months`` before it, computed by the warehouse.

    The municipality cube comes in the pandas GROUP BY's order, as sums over it (log-normal cutoffs)
    add in row order. The establishment cube keeps the warehouse's order: the scores computed from it
    sort their rows. Of the earlier months' establishment cube only the window of the scored month's
    pairs comes, as integers (``score_establishment_window.sql``). The per-capita chain runs in SQL
    (:func:`per_capita_from_warehouse`); its sums differ from the pandas ones by the order of
    floating-point additions alone (~1e-16 relative; the tests compare at 1e-9). ``publish=False``:
    ``population`` is not written to ``sus_population`` (it must be what is there: :func:`warehouse_population`).
    """
    inicio = runs.add_months(competencia, -history_months)
    est = warehouse.query_file("sus/score_establishment_month.sql", {"fim": competencia})
    est["n_aih"] = est["n_aih"].astype("int64")
    past = warehouse.query_file("sus/score_establishment_window.sql", {"inicio": inicio, "fim": competencia})
    mun = warehouse.query_file("sus/score_municipality_cube.sql", {"inicio": competencia, "fim": competencia})
    mun["n_aih"] = mun["n_aih"].astype("int64")
    regional = _dates(warehouse.query_file("sus/score_regional_cube.sql", {"inicio": inicio, "fim": competencia}))
    month = _dates(warehouse.query_file("sus/cube_history.sql", {"inicio": competencia, "fim": competencia}))
    rates, per_capita = per_capita_from_warehouse(warehouse, competencia, population, k, window, run_id, publish)
    coverage = warehouse_uf_coverage(warehouse, runs.add_months(competencia, 1 - window), competencia)
    return ScoreCubes(month, _dates(est), past, _dates(_sorted(mun, MUN_KEYS)), regional, rates, per_capita,
                      coverage)


def with_every_municipality(mun: pd.DataFrame, population: pd.DataFrame,
                            coverage: pd.DataFrame | None = None) -> pd.DataFrame:
    """municipio, alvo, competencia, quantidade, populacao for EVERY municipality of the population file
    (of each month's year) and every target x month with production: quantidade 0 where the municipal
    cube has no row. The empirical-Bayes rates need every area: the pooled rate b (the national rate
    the threshold multiplies) and the spread are those of the whole country, not of the municipalities
    that happened to produce. ``mun``: the municipal cube with ``populacao`` (:func:`population_for`).
    Of a month with a ``coverage`` record, the municipalities of the UFs it covers only (:func:`in_coverage`)."""
    keys = ["municipio", "alvo", "competencia"]
    cells = mun[["alvo", "competencia", "sistema"]].drop_duplicates()
    cells = cells.assign(ano=pd.to_datetime(cells["competencia"]).dt.year.astype("int64"))
    pop = population[["municipio", "ano", "populacao"]].assign(ano=population["ano"].astype("int64"))
    grid = cells.merge(pop, on="ano").drop(columns="ano")
    grid = grid[in_coverage(grid, coverage)].drop(columns="sistema")
    produced = mun.groupby(keys, as_index=False, sort=False)["quantidade"].sum()
    out = grid.merge(produced, on=keys, how="left")
    out["quantidade"] = out["quantidade"].fillna(0.0)
    out["populacao"] = out["populacao"].astype("int64")
    return out[keys + ["quantidade", "populacao"]]


def cubes_from_frame(cube: pd.DataFrame, competencia: date, population: pd.DataFrame,
                     window: int = PER_CAPITA_WINDOW, k: float = K,
                     coverage: pd.DataFrame | None = None) -> ScoreCubes:
    """The same aggregates from a finest cube held in pandas (tests; the SQL files do this in the warehouse).
    ``coverage``: the UFs each month covers (``COVERAGE_COLUMNS``; None: every UF, every month)."""
    cube = cube[pd.to_datetime(cube["competencia"]).dt.date <= competencia]
    months = pd.to_datetime(cube["competencia"]).dt.date
    now = cube[months == competencia]
    mun = cubes.by_municipality(cube)
    produced = now.loc[now["uf"].notna(), ["municipio", "alvo"]].drop_duplicates()
    every = with_every_municipality(population_for(mun, population), population, coverage)
    rates = scores.municipal_rate_scores(every, k=k, window=window, only_months=[competencia])
    # the pairs with production in the month, and those whose production stopped with a dif > 0 in the window
    in_month = rates.merge(produced.assign(_produziu=True), on=["municipio", "alvo"], how="left")["_produziu"]
    rates = rates[in_month.notna().to_numpy() | (rates["escore_municipal"].to_numpy(float) > 0)]
    scored = rates[["municipio", "alvo"]]
    inside = cube[months > runs.add_months(competencia, -window)].merge(scored, on=["municipio", "alvo"])
    shares = (inside.groupby(["cnes", "municipio", "alvo"], as_index=False)["quantidade"].sum()
              .assign(competencia=competencia))
    per_capita = scores.attribute_to_establishments(rates, shares, window=window)
    regional = regional_totals(mun)
    mun_now = mun[pd.to_datetime(mun["competencia"]).dt.date == competencia].reset_index(drop=True)
    est, past = establishment_window(cubes.by_establishment(cube), competencia)
    return ScoreCubes(now.reset_index(drop=True), est, past, mun_now, regional, rates[RATE_COLUMNS], per_capita,
                      coverage)


def establishment_window(est: pd.DataFrame, competencia: date, months: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(establishment, window) of :class:`ScoreCubes` from an establishment x target x month cube in
    pandas, as ``score_establishment_month.sql`` and ``score_establishment_window.sql`` give them:
    the scored month's rows numbered by ``par`` in cnes, alvo order, and the ``months`` before it of
    those pairs."""
    stamps = pd.to_datetime(est["competencia"])
    t = (stamps.dt.year * 12 + stamps.dt.month).to_numpy()
    now = competencia.year * 12 + competencia.month
    month = est[t == now].sort_values(["cnes", "alvo"], kind="stable").reset_index(drop=True)
    month.insert(0, "par", np.arange(len(month), dtype=np.int64))
    earlier = est.assign(defasagem=now - t)
    earlier = earlier[(earlier["defasagem"] >= 1) & (earlier["defasagem"] <= months)]
    window = earlier.merge(month[["cnes", "alvo", "par"]], on=["cnes", "alvo"])
    return month, window[["par", "defasagem", "quantidade", "valor"]].reset_index(drop=True)


def regional_totals(mun: pd.DataFrame) -> pd.DataFrame:
    """UF x target x month totals of the municipal cube (``ScoreCubes.regional``)."""
    return mun.groupby(["competencia", "uf", "alvo"], as_index=False)[["quantidade", "valor"]].sum()


def _spike_candidates(regional, est, osc, registry, competencia, covered_months, limiar: float = 2.0):
    """The oscillation rows that may make a regional spike: substantial producers (>= 10 units in
    the month) of a UF x target whose total production itself jumped >= ``limiar`` x its 12-month
    median. Sporadic producers double all the time; a campaign or an epidemic moves the region. A
    region without an established line (the "sem base" reason of its oscillation) still counts: a
    whole UF that starts producing a target at once may well be a campaign, and the flag only protects.
    ``regional``: the UF totals (municipality of residence), see :class:`ScoreCubes`."""
    regional = regional[["uf", "alvo", "competencia", "quantidade", "valor"]].rename(columns={"uf": "cnes"})
    reg_osc = scores.oscillation(regional, covered_months, only_months=[competencia])
    jumped = reg_osc[(reg_osc["score"] == "oscilacao_quantidade_m12")
                     & (reg_osc["value"] >= limiar)].rename(columns={"cnes": "uf"})[["uf", "alvo"]]
    substantial = est[(est["competencia"] == competencia) & (est["quantidade"] >= MIN_VOLUME_REGIONAL_SPIKE)]
    out = osc.merge(substantial[["cnes", "alvo"]], on=["cnes", "alvo"], how="inner")
    out = out.merge(registry[["cnes", "uf"]].drop_duplicates("cnes"), on="cnes", how="inner")
    return out.merge(jumped, on=["uf", "alvo"], how="inner").drop(columns="uf")


UNCOVERED_REASON = "UF sem arquivos {sistema} do mês no armazém: fora do pool per capita e do ajuste log-normal"


def with_uncovered(excess: pd.DataFrame, uncovered: pd.DataFrame) -> pd.DataFrame:
    """The municipal excess table with the municipalities of uncovered UFs (``uncovered``: their municipal
    cube rows with ``populacao``) added: their rate, no cutoff and no excess, and the reason. Their
    residents' production by establishments of covered UFs is in the cube, but their own UF's is not, so
    neither a rate to compare nor an excess is known; the row says so instead of leaving them out."""
    qty = uncovered["quantidade"].astype(float).to_numpy()
    rows = uncovered.assign(taxa=qty / uncovered["populacao"].astype(float).to_numpy(), cutoff=np.nan,
                            excesso_quantidade=np.nan, excesso_valor=np.nan,
                            reason=[UNCOVERED_REASON.format(sistema=s) for s in uncovered["sistema"]])
    keys = [k for k in MUN_KEYS if k in excess.columns]
    return _sorted(pd.concat([excess, rows[excess.columns]], ignore_index=True), keys)


def with_stopped(municipal: pd.DataFrame, rates: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """The municipal table with the per-capita pairs (``rates``) that have no production in the month: a
    municipality whose production stopped keeps, for 12 months, the score its window's difs add up to
    (:func:`cubes_from_frame`, ``score_per_capita.sql``). Its row has quantity, value, rate and excess 0, the
    target's cutoff of the month, and its population; the per-capita columns come from ``rates``."""
    keys = ["municipio", "alvo", "competencia"]
    extra = rates.merge(municipal[keys], on=keys, how="left", indicator=True)
    extra = extra[(extra["_merge"] == "left_only").to_numpy()].drop(columns="_merge")
    if extra.empty:
        return municipal
    from vigia.sus.geo import ufs_of

    per_alvo = municipal.groupby("alvo", sort=False).agg(sistema=("sistema", "first"), cutoff=("cutoff", "first"))
    extra = population_for(extra.merge(per_alvo.reset_index(), on="alvo", how="left"), population)
    extra = extra.assign(uf=ufs_of(extra["municipio"]).to_numpy(), quantidade=0.0, valor=0.0, taxa=0.0,
                         excesso_quantidade=0.0, excesso_valor=0.0, reason=None)
    if "n_aih" in municipal.columns:
        extra["n_aih"] = 0
    out = pd.concat([municipal, extra[municipal.columns]], ignore_index=True)
    return _sorted(out, [k for k in MUN_KEYS if k in out.columns])


def measured(osc: pd.DataFrame, measures: dict[str, str] | None) -> pd.DataFrame:
    """The oscillation rows of the measure each target asks for (``alvos.csv``'s ``medida``: ``quantidade``,
    ``valor`` or ``ambos``; ``measures``: alvo -> medida). A target not in ``measures`` (or ``measures``
    None) keeps both. The other scores are of counts, with money from them, whatever the measure."""
    if not measures or osc.empty:
        return osc
    codes, names = pd.factorize(osc["score"])  # 4 names: split each once, not each of ~500,000 rows
    meas = np.array([n.split("_")[1] for n in names], dtype=object)[codes]  # oscilacao_{quantidade|valor}_m{m}
    at, alvos = pd.factorize(osc["alvo"])
    medida = np.array([measures.get(a, "ambos") for a in alvos], dtype=object)[at]
    return osc[(medida == "ambos") | (medida == meas)].reset_index(drop=True)


def per_capita_window_reason(competencia: date, covered_months, window: int = PER_CAPITA_WINDOW) -> str | None:
    """The reason a per-capita score carries when its window (``competencia`` and the ``window`` - 1 months
    before it) is not all in the warehouse: its rolling sum of dif then runs over fewer months. The value is
    kept, and, like every score with a reason, it stays out of the ranking's percentiles."""
    months = {runs.add_months(competencia, -i) for i in range(window)}
    k = len(months & {pd.Timestamp(m).date() for m in covered_months})
    return None if k == window else f"janela parcial: {k} de {window} meses no armazém; fora do ranking"


def score_cubes(c: ScoreCubes, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                covered_months: list[date], q: float = 0.99, measures: dict[str, str] | None = None) -> MonthScores:
    """Every score of ``competencia`` from its aggregates.

    The oscillation scores only the scored month's rows (the other months are its medians' history), of
    the measure of each target (``measures``, alvo -> medida: :func:`measured`),
    the per-capita score comes computed (``c.rates``, ``c.per_capita``), the log-normal excess reads
    the scored month's municipal cube, and the spike flag the UF totals (``c.regional``).
    """
    est_now = c.establishment  # the scored month's
    osc = scores.oscillation_from_window(est_now, c.window, covered_months)
    jumps = scores.jump_excess(est_now, osc)

    shares_now = c.month[["cnes", "municipio", "alvo", "competencia", "quantidade"]]
    mun_now = c.municipality[c.municipality["competencia"] == competencia]
    covered = in_coverage(mun_now, c.coverage)
    # the log-normal fit and its excess: the municipalities of the UFs the month's files cover
    excess = scores.municipal_excess(population_for(mun_now[covered], population), q=q)
    if not covered.all():
        excess = with_uncovered(excess, population_for(mun_now[~covered], population))
    municipal = with_stopped(excess.merge(c.rates, on=["municipio", "alvo", "competencia"], how="left"),
                             c.rates, population)
    exc_shares = scores.share_excess(excess, shares_now)

    sih = est_now[est_now["sistema"] == "SIH"]
    vpa = scores.value_per_admission(sih[["cnes", "alvo", "competencia", "valor", "n_aih"]])
    vpa_long = vpa.assign(score=SCORE_VALOR_AIH)[["cnes", "alvo", "competencia", "score", "z_robusto", "reason"]]
    vpa_long = vpa_long.rename(columns={"z_robusto": "value"})

    per_capita = c.per_capita.assign(reason=per_capita_window_reason(competencia, covered_months))
    long = pd.concat([measured(osc, measures), per_capita, vpa_long], ignore_index=True)
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
    regional = c.regional[c.regional["competencia"] <= competencia]
    candidates = _spike_candidates(regional, est_now, osc, registry, competencia, covered_months)
    spikes = scores.benign_flags(estabelecimentos=registry, oscilacao=candidates)
    others = scores.benign_flags(estabelecimentos=registry, oscilacao=osc, mun_excess=excess,
                                 excess_shares=exc_shares)
    flags = pd.concat([spikes[spikes["flag"] == "pico_regional"], others[others["flag"] != "pico_regional"]],
                      ignore_index=True)
    return MonthScores(by_target, long, municipal, exc_shares, ranking, concentration, flags)


def score_month(cube: pd.DataFrame, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                covered_months: list[date], k: float = K, q: float = 0.99,
                coverage: pd.DataFrame | None = None, measures: dict[str, str] | None = None) -> MonthScores:
    """Every score of ``competencia`` from the finest cube of that month and the months before it
    (``coverage``: the UFs each month covers, :func:`cubes_from_frame`; ``measures``: :func:`score_cubes`)."""
    return score_cubes(cubes_from_frame(cube, competencia, population, k=k, coverage=coverage), competencia,
                       population, registry, covered_months, q=q, measures=measures)


def score_from_warehouse(warehouse, competencia: date, population: pd.DataFrame, registry: pd.DataFrame,
                         covered_months: list[date], history_months: int = 12,
                         k: float = K, q: float = 0.99, run_id: str = "score",
                         publish: bool = True, measures: dict[str, str] | None = None) -> tuple[MonthScores, ScoreCubes]:
    """The DAG's scoring: :func:`cubes_from_warehouse` then :func:`score_cubes`; also returns the cubes.

    Writes the window's years of ``population`` to ``sus_population`` (``run_id``) on the way, unless
    ``publish`` is False (the on-demand fact sheet: it scores with what is there). The
    warehouse calls share one connection (:meth:`~vigia.warehouse.Warehouse.session`: ~16 connects
    saved, ~0.6 s at national shape); it is closed before the pandas scoring, which needs none, so a
    DuckDB warehouse's write lock is not held through it."""
    with warehouse.session():
        c = cubes_from_warehouse(warehouse, competencia, population, history_months, k=k, run_id=run_id,
                                 publish=publish)
    return score_cubes(c, competencia, population, registry, covered_months, q=q, measures=measures), c


def target_versions(warehouse, inicio: date, fim: date) -> pd.DataFrame:
    """competencia, alvo, alvo_versao of each month's cube in ``inicio`` .. ``fim``
    (``score_target_versions.sql``)."""
    got = _dates(warehouse.query_file("sus/score_target_versions.sql", {"inicio": inicio, "fim": fim}))
    return got.assign(alvo_versao=got["alvo_versao"].astype("int64"))


def version_changes(versions: pd.DataFrame, competencia: date) -> dict[str, str]:
    """alvo -> what differs, for each target whose earlier months' cubes were built with another
    version of it than the scored month's: its oscillation medians, 12-month per-capita score and
    price distribution then mix two definitions (rebuild those months' cubes, e.g. by a backfill, to
    score on one). ``versions``: :func:`target_versions`."""
    now = versions[versions["competencia"] == competencia].set_index("alvo")["alvo_versao"]
    earlier = versions[(versions["competencia"] < competencia) & versions["alvo"].isin(now.index)]
    other = earlier[earlier["alvo_versao"].to_numpy() != now.reindex(earlier["alvo"]).to_numpy()]
    out = {}
    for alvo, g in other.groupby("alvo", sort=True):
        months = sorted(g["competencia"])
        out[alvo] = (f"version {now[alvo]} in {competencia:%Y-%m}; version(s) "
                     f"{', '.join(map(str, sorted(set(g['alvo_versao']))))} in {len(months)} earlier month(s) "
                     f"({months[0]:%Y-%m}..{months[-1]:%Y-%m})")
    return out


def establishment_series(warehouse, inicio: date, fim: date, establishments) -> pd.DataFrame:
    """The establishment x target cube of the months ``inicio`` .. ``fim`` - 1 for ``establishments``
    (cnes) only: the production series the fact sheets draw (``score_establishment_series.sql``)."""
    wanted = sorted({str(c) for c in establishments})
    if not wanted:
        return pd.DataFrame(columns=["competencia", "cnes", "alvo", "sistema", "quantidade", "valor", "n_aih"])
    series = warehouse.query_file("sus/score_establishment_series.sql", {"inicio": inicio, "fim": fim, "cnes": wanted})
    series["n_aih"] = series["n_aih"].astype("int64")
    return _dates(series)


def fact_sheet_cube(month: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """The cube the fact sheets read: the scored month's finest cube (``ScoreCubes.month``), and the
    earlier months at establishment level (municipio and uf empty): the sheets only draw those months'
    production series. ``earlier``: those months of the establishments that may get a sheet
    (:func:`establishment_series`: the top of the ranking, ~1% of the establishment cube). The months of
    the series come from the caller (the score step's covered months), not from this cube."""
    if not len(earlier):
        return month
    cols = list(month.columns)
    empty = {col: _empty_like(month[col], earlier.index) for col in cols if col not in earlier.columns}
    return pd.concat([month, earlier.assign(**empty)[cols]], ignore_index=True)


def top_of_ranking(ranking: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` rows of one month's ranking by ``rank``: the establishments that get a fact sheet."""
    return ranking.nsmallest(max(int(top), 0), "rank")


def _empty_like(column: pd.Series, index: pd.Index) -> pd.Series:
    """An all-missing column on ``index`` typed like ``column``: text stays text (NA), numbers become float
    (NaN), anything else object (None). Object columns of None cost ~1 s more to concatenate and to write
    at national shape."""
    dtype = column.dtype
    if pd.api.types.is_string_dtype(dtype) and dtype != object:
        return pd.Series(pd.NA, index=index, dtype=dtype)
    return pd.Series(np.nan if pd.api.types.is_numeric_dtype(dtype) else None, index=index)
