"""The numbers of the fact sheets: the month's frames filtered once, then each sheet's rows.

:class:`MonthData` takes the cube and the :class:`~vigia.sus.scoring.MonthScores`
of one competência and the establishments whose sheets will be rendered, and
filters the large frames once (month, those establishments); per target it
computes, once, the municipal totals, the national and state (UF) rates and the
value-per-AIH table. :meth:`MonthData.sheet` then gathers one establishment x
target's rows as a :class:`SheetData`.

Rates: the national rate is b, the pooled rate of the per-capita scores (limiar / k of the
target's municipal rows, k the run's threshold multiplier in their ``k`` column, else ``scoring.K``:
every municipality of the UFs the month's files cover, zero production included), so the sheet
draws the line the threshold multiplies. Without a per-capita row it, and the state rates always, are
Σ quantidade / Σ populacao × 100,000, the quantities from the cube (target x month)
and the populations of every municipality of the IBGE file in the month's year (``population``;
without it, those of ``result.municipal``: the municipalities with production of any target in the
month, which leaves the others out of the denominator and makes the rates too high).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from vigia.sus.fact_sheets.formatting import month_start, month_ts, same_month
from vigia.sus.scoring import K, MonthScores

PER = 100_000  # rates are shown per 100,000 inhabitants
SERIES_WINDOW = 12


@dataclass(frozen=True)
class TargetMonth:
    """One target in the month, over every establishment: what every sheet of that target shares."""

    cube: pd.DataFrame  # the month's cube rows of the target
    sistema: str
    quantidade_municipio: pd.Series  # Σ quantidade by municipio
    nacional: float  # national rate per 100,000: b of the per-capita pool (limiar / k), the threshold's base
    por_uf: dict  # uf -> rate per 100,000
    municipal: pd.DataFrame  # result.municipal rows of the target x month, one per municipio
    corte: float  # the log-normal 99% cutoff per 100,000 (NaN when absent)
    vpa: pd.DataFrame | None  # value per AIH of every establishment (SIH targets), else None
    ufs: tuple = ()  # the UFs of the per-capita pool (of the municipalities with an empirical-Bayes rate)
    k: float = K  # the threshold multiplier the month was scored with: limiar = k x nacional


@dataclass(frozen=True)
class SheetData:
    """Everything one sheet (cnes x alvo x month) shows, before formatting."""

    cnes: str
    alvo: str
    month: pd.Timestamp
    target: TargetMonth
    own: pd.DataFrame  # the establishment's cube rows of the target x month
    scores: pd.DataFrame
    flags: pd.DataFrame
    excess: tuple[float, float, float]  # per capita, price (SIH), jump
    n_rank: int  # establishments in the month's ranking
    rank: pd.Series | None  # the establishment's ranking row
    registry: dict | None  # the establishment's CNES registry row
    registry_given: bool  # False when no registry was passed (not the same as "not found in it")
    detail: pd.DataFrame  # one row per municipality of residence served (chart and table)
    series: pd.DataFrame  # mes, quantidade, mediana_anterior
    vpa_own: pd.DataFrame | None


def month_populations(result: MonthScores, competencia, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """municipio, uf, populacao of every municipality of the IBGE ``population`` (municipio, ano, populacao) in
    the month's year; without it, of every municipality of the month in ``result.municipal``."""
    if population is not None:
        from vigia.sus.geo import ufs_of

        year = population[population["ano"].astype("int64") == month_start(competencia).year]
        pop = year[["municipio", "populacao"]].astype({"municipio": str}).drop_duplicates("municipio")
        pop = pop.assign(uf=ufs_of(pop["municipio"]).to_numpy(), populacao=pop["populacao"].astype(float))
        return pop.reset_index(drop=True)
    m = result.municipal
    m = m[same_month(m["competencia"], competencia)]
    cols = ["municipio", "populacao"] + (["uf"] if "uf" in m.columns else [])
    pop = m[cols].drop_duplicates("municipio").copy()
    if "uf" not in pop.columns:
        from vigia.sus.geo import uf_of
        pop["uf"] = pop["municipio"].map(uf_of)
    pop["populacao"] = pop["populacao"].astype(float)
    return pop.reset_index(drop=True)


def rates(q_mun: pd.Series, pops: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """National rate and rate per UF (per 100,000) of one target x month from its Σ quantidade by municipio."""
    p = pops.assign(quantidade=pops["municipio"].map(q_mun).fillna(0.0))
    tot_pop = p["populacao"].sum()
    nacional = p["quantidade"].sum() / tot_pop * PER if tot_pop > 0 else float("nan")
    g = p.groupby("uf")[["quantidade", "populacao"]].sum()
    por_uf = {uf: (r.quantidade / r.populacao * PER if r.populacao > 0 else float("nan"))
              for uf, r in g.iterrows()}
    return nacional, por_uf


def value_per_admission(cube_month_alvo: pd.DataFrame) -> pd.DataFrame:
    """The value-per-AIH table of one SIH target x month (as ``score_month`` computes it)."""
    from vigia.sus import cubes, scores

    c = cube_month_alvo[cube_month_alvo["sistema"] == "SIH"]
    if c.empty:
        return scores.value_per_admission(pd.DataFrame(columns=["cnes", "alvo", "competencia", "valor", "n_aih"]))
    est = cubes.by_establishment(c)
    return scores.value_per_admission(est[["cnes", "alvo", "competencia", "valor", "n_aih"]])


def cube_months(cube: pd.DataFrame) -> list[pd.Timestamp]:
    """The months of the cube, in order (first days)."""
    return sorted(set(month_ts(pd.Series(pd.unique(cube["competencia"])).dropna().to_numpy())))


def series(cube: pd.DataFrame, cnes: str, alvo: str, months: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """mes, quantidade, mediana_anterior for every month (``months``, default those of the cube; absent = 0)."""
    if months is None:
        months = cube_months(cube)
    own = cube[(cube["cnes"] == cnes) & (cube["alvo"] == alvo)]
    q = own.assign(mes=month_ts(own["competencia"]).to_numpy()).groupby("mes")["quantidade"].sum()
    qty = [float(q.get(m, 0.0)) for m in months]
    covered = {m.year * 12 + m.month: v for m, v in zip(months, qty)}  # month number -> quantity
    med = []
    for m in months:
        n = m.year * 12 + m.month
        prev = [covered[n - k] for k in range(1, SERIES_WINDOW + 1) if n - k in covered]
        med.append(float(np.median(prev)) if prev else float("nan"))
    return pd.DataFrame({"mes": months, "quantidade": qty, "mediana_anterior": med})


def _of(df: pd.DataFrame, cnes: Iterable[str]) -> pd.DataFrame:
    """Rows of ``df`` whose cnes (as text) is one of ``cnes``."""
    return df[df["cnes"].astype(str).isin(list(cnes)).to_numpy()]


class MonthData:
    """The frames of one competência, filtered once for the sheets of the establishments ``cnes``.

    ``cube``: the finest cube (competencia, cnes, municipio, uf, alvo, sistema,
    quantidade, valor, n_aih) of the month and the months before it (earlier
    months may be per establishment, municipio empty); ``result``: the month's
    scores; ``registry``: CNES registry (cnes, municipio, tp_unid, uf[, competencia]); ``population``: the
    IBGE population (municipio, ano, populacao), the denominators of the state rates (:func:`month_populations`).

    ``cube`` needs only every month's rows of the establishments ``cnes`` and the month's rows
    of the targets their sheets show (:func:`vigia.sus.fact_sheets.top.read_part_cube`); given
    only those, ``months`` must be the months of the whole cube (the series' x axis; default:
    the months of ``cube``).
    """

    def __init__(self, cube: pd.DataFrame, result: MonthScores, competencia, registry: pd.DataFrame | None,
                 cnes: Iterable[str], months: list[pd.Timestamp] | None = None,
                 population: pd.DataFrame | None = None):
        self.wanted = wanted = sorted({str(c) for c in cnes})
        self.month = month_start(competencia)
        self.registry_given = registry is not None
        self.months = cube_months(cube) if months is None else list(months)
        self.cube_month = cube[same_month(cube["competencia"], self.month)]
        self.cube_own = _of(cube, wanted)  # every month: the production series
        self._cube = cube

        def in_month(df: pd.DataFrame) -> pd.DataFrame:
            return df[same_month(df["competencia"], self.month)]

        self.scores, self.flags, self.excess = (in_month(_of(df, wanted))
                                                for df in (result.scores, result.flags, result.excess_by_target))
        self.ranking = in_month(result.ranking)
        self.municipal = in_month(result.municipal)
        self.pops = month_populations(result, self.month, population)
        self.uf_of = pd.Series(self.pops["uf"].to_numpy(), index=self.pops["municipio"].to_numpy())
        self.registry = None if registry is None or registry.empty else _of(registry, wanted)
        self._targets: dict[str, TargetMonth] = {}

    def target(self, alvo: str) -> TargetMonth:
        """The target's month over every establishment (computed on first use)."""
        if alvo not in self._targets:
            c = self.cube_month[(self.cube_month["alvo"] == alvo).to_numpy()]
            sistema = self._sistema(alvo)
            q_mun = c.groupby("municipio")["quantidade"].sum()
            nacional, por_uf = rates(q_mun, self.pops)
            mun = self.municipal[(self.municipal["alvo"] == alvo).to_numpy()]
            corte = mun["cutoff"].dropna()
            corte = float(corte.iloc[0]) * PER if len(corte) else float("nan")
            mun = mun.drop_duplicates("municipio")
            pooled = mun[mun["limiar"].notna()] if "limiar" in mun.columns else mun.iloc[:0]
            k = float(mun["k"].iloc[0]) if "k" in mun.columns and len(mun) and pd.notna(mun["k"].iloc[0]) else K
            if len(pooled):  # the rate the threshold multiplies: limiar = k x b (b over the pool's UFs)
                nacional = float(pooled["limiar"].iloc[0]) / k
            ufs = tuple(sorted({u for u in pooled["municipio"].map(self.uf_of) if isinstance(u, str)}))
            vpa = value_per_admission(c) if sistema == "SIH" else None
            self._targets[alvo] = TargetMonth(c, sistema, q_mun, nacional, por_uf, mun, corte, vpa, ufs, k)
        return self._targets[alvo]

    def _sistema(self, alvo: str) -> str:
        """The system (SIA or SIH) of the target's first row in the month (which a part's cube holds whole),
        else in the cube; from its name when it has none. Every row of a target has its one system."""
        for cube in (self.cube_month, self._cube):
            rows = np.flatnonzero((cube["alvo"] == alvo).to_numpy(dtype=bool, na_value=False))
            if len(rows):
                return str(cube["sistema"].iloc[rows[0]])
        return alvo.split("-")[0]

    def sheet(self, cnes: str, alvo: str) -> SheetData:
        """One establishment x target's rows (``cnes`` must be one of the establishments given)."""
        cnes, alvo = str(cnes), str(alvo)
        if cnes not in self.wanted:
            raise ValueError(f"CNES {cnes} is not among the establishments this MonthData was filtered for")
        t = self.target(alvo)
        own = t.cube[(t.cube["cnes"] == cnes).to_numpy()]

        def sel(df: pd.DataFrame) -> pd.DataFrame:
            return df[(df["cnes"].astype(str) == cnes).to_numpy() & (df["alvo"] == alvo).to_numpy()]

        rk = self.ranking[(self.ranking["cnes"].astype(str) == cnes).to_numpy()]
        own_excess = sel(self.excess)
        excess = tuple(float(own_excess[c].sum()) for c in ("excesso_per_capita", "excesso_preco", "excesso_salto"))
        return SheetData(
            cnes=cnes, alvo=alvo, month=self.month, target=t, own=own, scores=sel(self.scores), flags=sel(self.flags),
            excess=excess, n_rank=len(self.ranking), rank=rk.iloc[0] if len(rk) else None,
            registry=self._registry_row(cnes), registry_given=self.registry_given, detail=self._detail(t, own),
            series=series(self.cube_own, cnes, alvo, self.months),
            vpa_own=t.vpa[t.vpa["cnes"] == cnes] if t.vpa is not None else None)

    def _detail(self, t: TargetMonth, own: pd.DataFrame) -> pd.DataFrame:
        """Municipalities this establishment served: its share, the municipality's and UF's rates, the excess."""
        own_mun = own.groupby("municipio", as_index=False)[["quantidade", "valor"]].sum()
        own_mun["total"] = own_mun["municipio"].map(t.quantidade_municipio).astype(float)
        own_mun["share"] = np.where(own_mun["total"] > 0, own_mun["quantidade"].astype(float) / own_mun["total"],
                                    np.nan)
        m_cols = ["municipio", "populacao", "quantidade", "taxa", "cutoff", "excesso_quantidade", "excesso_valor",
                  "taxa_eb", "limiar", "escore_municipal", "reason"]
        m_cols = [c for c in m_cols if c in t.municipal.columns]
        detail = own_mun.rename(columns={"quantidade": "quantidade_est", "valor": "valor_est"}).merge(
            t.municipal[m_cols], on="municipio", how="left")
        detail["uf"] = detail["municipio"].map(self.uf_of).astype(object)
        detail["taxa_mun"] = detail["taxa"].astype(float) * PER
        detail["taxa_uf"] = detail["uf"].map(t.por_uf).astype(float)
        detail["excesso_atribuido"] = detail["share"] * detail["excesso_valor"].astype(float)
        for col in ("taxa_eb", "limiar", "escore_municipal"):  # per 100,000; absent outside the per-capita pool
            detail[col] = detail[col].astype(float) if col in detail.columns else np.nan
        detail["dif"] = (detail["taxa_eb"] - detail["limiar"]).clip(lower=0.0)
        return detail.sort_values(["excesso_atribuido", "quantidade_est", "municipio"],
                                  ascending=[False, False, True], na_position="last").reset_index(drop=True)

    def _registry_row(self, cnes: str) -> dict | None:
        """The establishment's registry row of the month (else its latest); None when absent."""
        r = self.registry
        if r is None:
            return None
        r = r[r["cnes"].astype(str) == cnes]
        if r.empty:
            return None
        if "competencia" in r.columns:
            same = r[same_month(r["competencia"], self.month)]
            r = same if len(same) else r.sort_values("competencia", key=lambda s: month_ts(s).to_numpy())
        return r.iloc[-1].to_dict()
