"""Sample DATASUS landing, part 3: the planted anomalies (the truth the scores must find).

See ``PLANTED_KINDS`` and the description in :mod:`vigia.sample_data.sus`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigia.sample_data.sus_geo import HOSPITAL, MOBILE, UFS, _month_of, _World
from vigia.sample_data.sus_production import MAMMOGRAPHY, _Extra, _PriceFactor, _season, _System

PLANTED_KINDS = ("salto_abrupto", "excesso_per_capita", "hospital_caro", "campanha_unidade_movel")
CAMPAIGN_TARGET = "020403"
PLANT = {"salto": 6.0, "per_capita": 8.0, "preco": 3.0, "campanha_por_habitante": 0.008}


# ---------------------------------------------------------------- planting

def _choose(rng: np.random.Generator, tiers: list[np.ndarray], score: np.ndarray, pool: np.ndarray) -> int:
    """A random member of the first non-empty tier of candidates, else the best-scoring member of pool."""
    for tier in tiers:
        if len(tier):
            return int(rng.choice(tier))
    if not len(pool):
        raise ValueError("internal: nothing to plant in")
    return int(pool[np.argmax(score[pool])])


def _plant(world: _World, sia: _System, sih: _System, tg: pd.DataFrame, month_idx: list[int],
           rng: np.random.Generator) -> tuple[list[dict], list[_Extra], list[_PriceFactor]]:
    end_idx = month_idx[-1]
    end_year = end_idx // 12
    end_label = f"{_month_of(end_idx):%Y-%m}"
    medida = dict(zip(tg["alvo"], tg["medida"]))
    is_hub = world.m_hub == np.arange(len(world.m_code))
    n_per_muni = np.bincount(world.e_muni, minlength=len(world.m_code))
    used_est: set[int] = set()
    used_munis: set[int] = set()
    planted, extras, factors = [], [], []

    def cnes(e):
        return f"{world.e_cnes[e]:07d}"

    def muni(m):
        return f"{world.m_code[m]:06d}"

    def uf(m):
        return world.uf_sigla[world.m_uf[m]]

    # candidate SIA targets for the establishment-level anomalies: produced locally, not the campaign's
    sia_targets = [g for g, a in enumerate(sia.alvo)
                   if a and sia.local[g] >= 0.5 and sia.groups[g] != CAMPAIGN_TARGET and medida.get(a) != "valor"]
    if len(sia_targets) < 2:
        raise ValueError("the targets table needs two SIA targets produced locally to plant anomalies")

    # 1. salto_abrupto: a clinic / centre of a mid-size city jumps ~6x in one SIA target
    # (a high-volume target, so the establishment's monthly series is not mostly Poisson noise)
    volume = sia.share[sia_targets]
    g_jump = int(rng.choice(np.array(sia_targets)[volume >= np.sort(volume)[-3]]))
    exp = sia.expected[:, g_jump]
    ok_type = np.isin(world.e_type, ["02", "36", "39"])
    fits = ok_type & (exp >= 25) & (exp <= 400)
    est_jump = _choose(rng, [np.flatnonzero(fits & ~is_hub[world.e_muni]), np.flatnonzero(fits)],
                       exp, np.flatnonzero(ok_type))
    used_est.add(est_jump)
    m_jump = int(world.e_muni[est_jump])
    used_munis.add(m_jump)
    season = _season(sia, end_idx, end_idx)[g_jump]
    extras.append(_Extra("SIA", end_idx, int(world.m_uf[m_jump]), est_jump, g_jump, np.array([m_jump]),
                         np.array([(PLANT["salto"] - 1) * exp[est_jump] * season])))
    planted.append({
        "kind": "salto_abrupto", "cnes": cnes(est_jump), "alvo": sia.alvo[g_jump], "municipios": [muni(m_jump)],
        "uf": uf(m_jump), "tp_unid": str(world.e_type[est_jump]), "competencias": [end_label],
        "fator": PLANT["salto"], "benigno": False,
        "descricao": f"production of {sia.alvo[g_jump]} ~{PLANT['salto']:g}x the establishment's usual "
                     f"monthly level (~{exp[est_jump]:.0f} records) in {end_label}",
    })

    # 2. hospital_caro: one hospital's value per admission ~3x the national price in one SIH target
    # (one of the two largest SIH targets, so the hospital has admissions enough to average)
    sih_targets = np.array([g for g, a in enumerate(sih.alvo) if a and sih.local[g] > 0])
    volume = sih.share[sih_targets]
    g_price = int(rng.choice(sih_targets[volume >= np.sort(volume)[-min(2, len(volume))]]))
    exp = sih.expected[:, g_price]
    hosp = np.flatnonzero((world.e_type == HOSPITAL) & ~np.isin(world.e_muni, list(used_munis)))
    fits = hosp[(exp[hosp] >= 12) & (exp[hosp] <= 300)]
    est_price = _choose(rng, [fits[~is_hub[world.e_muni[fits]]], fits], exp, hosp)
    used_est.add(est_price)
    m_price = int(world.e_muni[est_price])
    used_munis.add(m_price)
    factors.append(_PriceFactor("SIH", end_idx, est_price, g_price, PLANT["preco"]))
    planted.append({
        "kind": "hospital_caro", "cnes": cnes(est_price), "alvo": sih.alvo[g_price], "municipios": [muni(m_price)],
        "uf": uf(m_price), "tp_unid": HOSPITAL, "competencias": [end_label], "fator": PLANT["preco"],
        "benigno": False,
        "descricao": f"VAL_TOT per admission of {sih.alvo[g_price]} ~{PLANT['preco']:g}x the national price "
                     f"in {end_label} (~{exp[est_price]:.0f} admissions a month)",
    })

    # 3. excesso_per_capita: 3-4 small municipalities served by one establishment, ~8x the national rate
    g_cap = int(rng.choice([g for g in sia_targets if g != g_jump]))
    # (5,000+ inhabitants when there are enough, so every month has records at the planted rate)
    small = (world.m_pop >= 3_000) & (world.m_pop < 20_000) & ~is_hub
    if (np.bincount(world.m_uf[small & (world.m_pop >= 5_000)], minlength=len(UFS)) >= 6).any():
        small &= world.m_pop >= 5_000
    single = np.zeros(len(world.m_code), dtype=bool)
    single[world.e_muni[np.isin(world.e_type, ["02", "36", "39"])]] = True
    single &= n_per_muni == 1
    free = ~np.isin(np.arange(len(world.m_code)), list(used_munis))
    counts = np.bincount(world.m_uf[small & free], minlength=len(UFS))
    uf_cap = int(np.argmax(counts))
    if counts[uf_cap] < 4:
        raise ValueError("too few small municipalities to plant excesso_per_capita: raise municipalities")
    in_uf = np.flatnonzero(small & free & (world.m_uf == uf_cap))
    anchors = in_uf[single[in_uf]]
    anchor = int(rng.choice(anchors)) if len(anchors) else int(in_uf[0])
    others = in_uf[in_uf != anchor]
    same_hub = others[world.m_hub[others] == world.m_hub[anchor]]
    k = 3 if len(others) < 4 else int(rng.integers(2, 4))  # 3 or 4 municipalities in all
    rest = others[~np.isin(others, same_hub)]
    pick = list(rng.permutation(same_hub)[:k]) + list(rng.permutation(rest)[:max(0, k - len(same_hub))])
    munis_cap = np.array(sorted([anchor] + [int(x) for x in pick]))
    at_anchor = np.flatnonzero((world.e_muni == anchor) & np.isin(world.e_type, ["02", "36", "39", HOSPITAL]))
    est_cap = int(at_anchor[0]) if len(at_anchor) else int(np.flatnonzero(world.e_muni == anchor)[0])
    used_est.add(est_cap)
    used_munis.update(int(x) for x in munis_cap)
    window = month_idx[-12:]
    for mi in window:
        pop = world.population(mi // 12, end_year)[munis_cap]
        rate = sia.rows_pc[g_cap] * _season(sia, mi, end_idx)[g_cap]
        lam = np.maximum(0.0, PLANT["per_capita"] - sia.propensity[munis_cap, g_cap]) * rate * pop
        extras.append(_Extra("SIA", mi, uf_cap, est_cap, g_cap, munis_cap, lam))
    planted.append({
        "kind": "excesso_per_capita", "cnes": cnes(est_cap), "alvo": sia.alvo[g_cap],
        "municipios": [muni(m) for m in munis_cap], "uf": world.uf_sigla[uf_cap],
        "tp_unid": str(world.e_type[est_cap]),
        "competencias": [f"{_month_of(mi):%Y-%m}" for mi in window], "fator": PLANT["per_capita"],
        "benigno": False,
        "descricao": f"{len(munis_cap)} municipalities under 20,000 inhabitants with ~{PLANT['per_capita']:g}x "
                     f"the national per-capita rate of {sia.alvo[g_cap]}, almost all of it at one establishment, "
                     f"every month {_month_of(window[0]):%Y-%m}..{end_label}",
    })

    # 4. campanha_unidade_movel: a mobile unit screens several small municipalities (mammography)
    if CAMPAIGN_TARGET not in sia.groups:
        raise ValueError(f"the targets table has no SIA target on forma {CAMPAIGN_TARGET} (mammography)")
    g_camp = sia.index(CAMPAIGN_TARGET)
    tiny = (world.m_pop < 20_000) & ~is_hub & ~np.isin(np.arange(len(world.m_code)), list(used_munis))
    mobiles = np.flatnonzero((world.e_type == MOBILE) & ~np.isin(np.arange(len(world.e_muni)), list(used_est)))
    counts = np.bincount(world.m_uf[tiny], minlength=len(UFS))
    counts[np.bincount(world.m_uf[world.e_muni[mobiles]], minlength=len(UFS)) == 0] = 0
    uf_camp = int(np.argmax(counts))
    if counts[uf_camp] < 4:
        raise ValueError("too few small municipalities to plant campanha_unidade_movel: raise municipalities")
    mobiles = mobiles[world.m_uf[world.e_muni[mobiles]] == uf_camp]
    est_camp = int(rng.choice(mobiles))
    cands = np.flatnonzero(tiny & (world.m_uf == uf_camp))
    n_camp = int(min(len(cands), rng.integers(5, 7)))
    munis_camp = np.sort(rng.choice(cands, size=n_camp, replace=False))
    lam = PLANT["campanha_por_habitante"] * world.population(end_year, end_year)[munis_camp]
    proc_mammo = np.flatnonzero((sia.proc_code == MAMMOGRAPHY) & (sia.proc_group == g_camp))
    proc_camp = int(proc_mammo[0]) if len(proc_mammo) else int(np.flatnonzero(sia.proc_group == g_camp)[0])
    extras.append(_Extra("SIA", end_idx, uf_camp, est_camp, g_camp, munis_camp, lam, proc=proc_camp,
                         ages=(50, 69), qty_one=True))
    used_est.add(est_camp)
    planted.append({
        "kind": "campanha_unidade_movel", "cnes": cnes(est_camp), "alvo": sia.alvo[g_camp],
        "municipios": [muni(m) for m in munis_camp], "uf": world.uf_sigla[uf_camp], "tp_unid": MOBILE,
        "competencias": [end_label], "fator": None, "benigno": True,
        "procedimento": f"{sia.proc_code[proc_camp]:010d}",
        "descricao": f"screening campaign of a mobile unit (TP_UNID {MOBILE}) in {n_camp} small municipalities "
                     f"in {end_label}: ~{PLANT['campanha_por_habitante'] * 1000:g} exams per 1,000 inhabitants, "
                     f"a benign spike",
    })
    assert len(used_est) == 4, "planted establishments must be distinct"
    planted.sort(key=lambda p: PLANTED_KINDS.index(p["kind"]))
    return planted, extras, factors
