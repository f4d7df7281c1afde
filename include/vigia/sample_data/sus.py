"""Sample DATASUS landing for the SUS scoring (InfoSAS): SIA, SIH, CNES and IBGE population.

:func:`generate` writes, for every month of a window and every UF of a
handful of real states (AC, BA, MG, PR, SP, with their IBGE prefixes)::

    <landing>/SIA/PA<UF><AA><MM>.parquet    one row per production record (PA_* columns)
    <landing>/SIH/RD<UF><AA><MM>.parquet    one row per AIH
    <landing>/CNES/ST<UF><AA><MM>.parquet   every establishment of the UF
    <landing>/IBGE/populacao.csv            municipio, ano, populacao (every year touched)
    <landing>/_planted.json                 the planted anomalies (the truth the scores must find)

Every code column is text with its leading zeros, in the real formats
(``tests/fixtures/datasus``): CNES 7 digits, municipality 6 digits (UF
prefix + 4), SIGTAP procedure 10 digits, competência ``AAAAMM``.

The world
---------
* Municipalities: split over the UFs in proportion to their real number of
  municipalities; populations log-normal (median ~10,000, about a quarter
  under 5,000), the capitals with their real population (four above 1M).
  Each UF has regional hubs (its capital and its largest cities); every other
  municipality refers to one hub.
* Establishments: ``establishments_per_10k`` per 10,000 inhabitants, at least
  one per municipality; hubs and cities of 30,000+ have a general hospital
  (TP_UNID "05"); the others are centros de saúde ("02"), clínicas ("36"),
  SADT ("39"), a few mobile units ("40", at least one per capital).
* Production: for every municipality (of residence) and SIGTAP forma, the
  expected number of records per month is base rate x population x a static
  municipal propensity x seasonality x month noise; the count is Poisson.
  Records go to an establishment of the same municipality (by size) or, with
  a per-forma probability (always for radiotherapy, chemotherapy and cardiac
  surgery), to one of the municipality's hub. SIH records only go to
  hospitals. About a fifth of the records fall outside every mining target.
* SIA records have PA_QTDAPR >= 1 and PA_VALAPR = quantity x the
  procedure's unit price; about 5% of each file's rows are late (PA_CMP 1-3
  months before PA_MVM). SIH rows are single admissions, VAL_TOT drawn
  around the procedure's price.

Planted anomalies (in end_month; see ``PLANTED_KINDS``)
-------------------------------------------------------
1. ``salto_abrupto``: one establishment's production in one SIA target is
   ~6x its usual level.
2. ``excesso_per_capita``: 3-4 small municipalities (< 20,000 inhabitants) of
   one UF, served almost only by one establishment, with ~8x the national
   per-capita rate of one SIA target in each of the last 12 months.
3. ``hospital_caro``: one hospital's VAL_TOT per admission for one SIH target
   is ~3x the national price.
4. ``campanha_unidade_movel``: a mobile unit (TP_UNID "40") screens several
   small municipalities with mammographies (SIA-020403): a spike that is
   benign and must be flagged as such.

Size knob: ``municipalities`` and ``sia_rows_per_month`` go from the demo
(300, 200,000: a few seconds) to the national shape (5,570, tens of millions
of records a month). Generation is vectorised with numpy and each file is
written with pyarrow, in row groups of at most ``CHUNK_ROWS`` records, so
memory stays bounded by one chunk of one UF-month.

Determinism: everything derives from ``seed``; each file has its own random
stream (seed, system, UF, month), so the same arguments give byte-identical
files.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vigia import runs
from vigia.sus import targets as targets_mod

# sigla, IBGE prefix, real number of municipalities, capital (6-digit code, population)
UFS = [
    ("AC", 12, 22, 120040, 364_756),
    ("BA", 29, 417, 292740, 2_417_678),
    ("MG", 31, 853, 310620, 2_315_560),
    ("PR", 41, 399, 410690, 1_773_718),
    ("SP", 35, 645, 355030, 11_451_999),
]
MIN_PER_UF = 4
CHUNK_ROWS = 1_000_000
LATE_SHARE = 0.05
LATE_LAGS = (1, 2, 3)
LATE_LAG_P = (0.6, 0.3, 0.1)
SIH_PER_SIA = 1 / 25  # SIH admissions per SIA record, nationally
PLANTED_KINDS = ("salto_abrupto", "excesso_per_capita", "hospital_caro", "campanha_unidade_movel")
MOBILE, HOSPITAL = "40", "05"
MAMMOGRAPHY = 204030188  # 0204030188 mamografia bilateral para rastreamento (SIGTAP)
CAMPAIGN_TARGET = "020403"
PLANT = {"salto": 6.0, "per_capita": 8.0, "preco": 3.0, "campanha_por_habitante": 0.008}

# Per SIGTAP forma: share of records, mean quantity per record, unit price (R$), probability
# of being produced in the municipality of residence (else at its hub), establishment pool,
# age range (None: general population), real procedure codes to include.
PROFILES: dict[str, dict] = {
    # SIA targets
    "020201": dict(share=0.20, qty=1.3, price=4.1, local=0.90),
    "020202": dict(share=0.11, qty=1.1, price=4.6, local=0.90),
    "020403": dict(share=0.035, qty=1.0, price=45.0, local=0.55, codes=[MAMMOGRAPHY, 204030030]),
    "020502": dict(share=0.05, qty=1.0, price=30.0, local=0.65),
    "021106": dict(share=0.04, qty=1.3, price=12.0, local=0.60),
    "030101": dict(share=0.28, qty=2.0, price=10.0, local=0.92),
    "030305": dict(share=0.03, qty=1.5, price=22.0, local=0.55),
    "030401": dict(share=0.008, qty=6.0, price=65.0, local=0.0, pool="hosp"),
    "030402": dict(share=0.008, qty=1.0, price=950.0, local=0.0, pool="hosp", ages=(18, 95)),
    "060446": dict(share=0.03, qty=30.0, price=7.5, local=0.35),
    # SIA outside every target
    "030106": dict(share=0.09, qty=1.5, price=11.0, local=0.85),
    "030110": dict(share=0.07, qty=3.0, price=3.0, local=0.92),
    "021102": dict(share=0.03, qty=1.0, price=9.0, local=0.60),
    "010101": dict(share=0.03, qty=8.0, price=0.5, local=0.95),
    # SIH targets
    "030303": dict(share=0.10, qty=1.0, price=650.0, local=0.75, pool="hosp"),
    "030310": dict(share=0.15, qty=1.0, price=850.0, local=0.75, pool="hosp"),
    "040601": dict(share=0.02, qty=1.0, price=14_000.0, local=0.0, pool="hosp"),
    "040804": dict(share=0.03, qty=1.0, price=5_200.0, local=0.35, pool="hosp", ages=(40, 100)),
    "041101": dict(share=0.24, qty=1.0, price=780.0, local=0.75, pool="hosp", ages=(14, 46)),
    # SIH outside every target
    "030306": dict(share=0.20, qty=1.0, price=900.0, local=0.75, pool="hosp"),
    "030314": dict(share=0.08, qty=1.0, price=700.0, local=0.75, pool="hosp"),
    "040701": dict(share=0.10, qty=1.0, price=1_400.0, local=0.50, pool="hosp"),
}
OUTSIDE = {"SIA": ["030106", "030110", "021102", "010101"], "SIH": ["030306", "030314", "040701"]}
DEFAULT_PROFILE = {"SIA": dict(share=0.03, qty=1.5, price=20.0, local=0.6),
                   "SIH": dict(share=0.05, qty=1.0, price=1_000.0, local=0.6, pool="hosp")}
POOLS = ("all", "hosp")
SYSTEM_CODE = {"SIA": 1, "SIH": 2, "CNES": 3}

SIA_SCHEMA = pa.schema([
    ("PA_CODUNI", pa.string()), ("PA_UFMUN", pa.string()), ("PA_MVM", pa.string()), ("PA_CMP", pa.string()),
    ("PA_PROC_ID", pa.string()), ("PA_IDADE", pa.string()), ("PA_MUNPCN", pa.string()),
    ("PA_QTDAPR", pa.int32()), ("PA_VALAPR", pa.float64()),
])
SIH_SCHEMA = pa.schema([
    ("ANO_CMPT", pa.string()), ("MES_CMPT", pa.string()), ("N_AIH", pa.string()), ("MUNIC_RES", pa.string()),
    ("PROC_REA", pa.string()), ("VAL_TOT", pa.float64()), ("MUNIC_MOV", pa.string()), ("IDADE", pa.int32()),
    ("CNES", pa.string()),
])
CNES_SCHEMA = pa.schema([("CNES", pa.string()), ("CODUFMUN", pa.string()), ("TP_UNID", pa.string()),
                         ("COMPETEN", pa.string())])


# ---------------------------------------------------------------- helpers

def _month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def _month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _fixed_text(values: np.ndarray) -> pa.Array:
    """A pyarrow string array from a numpy fixed-width bytes array (``S<n>``), without Python objects."""
    values = np.ascontiguousarray(values)
    n, width = len(values), values.dtype.itemsize
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(values.tobytes()))


def _digits(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal text of non-negative integers, ``width`` characters each."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        out[:, k] = v % 10 + 48
        v //= 10
    return _fixed_text(out.view(f"S{width}").ravel())


def _code_table(values, width: int) -> np.ndarray:
    return np.array([f"{int(v):0{width}d}" for v in values], dtype=f"S{width}")


class _Picker:
    """Weighted choice of a member among the members owned by an owner, vectorised over rows.

    Members are sorted by owner; ``pick(owner, u)`` returns, for uniform ``u`` in [0, 1), the member
    whose cumulative weight within its owner covers ``u`` (searchsorted on owner + cumulative share).
    """

    def __init__(self, owner: np.ndarray, weight: np.ndarray, n_owners: int, members: np.ndarray | None = None):
        self.members = np.arange(len(owner)) if members is None else members
        order = np.argsort(owner, kind="stable")
        self.members, owner, weight = self.members[order], owner[order], weight[order].astype(float)
        owners = np.arange(n_owners)
        self.start = np.searchsorted(owner, owners, "left")
        self.end = np.searchsorted(owner, owners, "right")
        self.has = self.end > self.start
        total = np.bincount(owner, weights=weight, minlength=n_owners)
        cum = np.cumsum(weight)
        before = np.where(self.start > 0, cum[np.maximum(self.start - 1, 0)], 0.0)
        self.key = owner + (cum - before[owner]) / np.where(total > 0, total, 1.0)[owner]
        self.key[self.end[self.has] - 1] = owners[self.has] + 1.0

    def pick(self, owner: np.ndarray, u: np.ndarray) -> np.ndarray:
        if not self.has[owner].all():
            raise ValueError("internal: choice among an empty set")
        pos = np.searchsorted(self.key, owner + u, side="right")
        pos = np.clip(pos, self.start[owner], self.end[owner] - 1)
        return self.members[pos]


# ---------------------------------------------------------------- world

@dataclass
class _World:
    uf_sigla: list[str]
    uf_code: list[int]
    m_code: np.ndarray       # 6-digit municipality code (int)
    m_uf: np.ndarray         # UF index
    m_pop: np.ndarray        # population in the end year
    m_growth: np.ndarray     # yearly growth
    m_hub: np.ndarray        # index of the municipality's hub (itself for a hub)
    e_cnes: np.ndarray       # 7-digit CNES (int)
    e_muni: np.ndarray       # municipality index (sorted)
    e_type: np.ndarray       # TP_UNID ('<U2')
    e_w: np.ndarray          # size weight
    pickers: dict = field(default_factory=dict)

    def population(self, year: int, end_year: int) -> np.ndarray:
        return np.round(self.m_pop * (1 + self.m_growth) ** (year - end_year)).astype(np.int64)


def _split(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    raw = weights / weights.sum() * total
    out = np.maximum(minimum, np.floor(raw).astype(int))
    # give the remainder (or take the excess) to the largest shares
    order = np.argsort(-(raw - np.floor(raw)))
    i = 0
    while out.sum() < total:
        out[order[i % len(out)]] += 1
        i += 1
    while out.sum() > total:
        j = int(np.argmax(out))
        out[j] -= 1
    return out


def _build_world(n_munis: int, per_10k: float, rng: np.random.Generator) -> _World:
    if n_munis < MIN_PER_UF * len(UFS) * 4:
        raise ValueError(f"municipalities={n_munis}: at least {MIN_PER_UF * len(UFS) * 4} are needed "
                         f"to plant the anomalies in small municipalities")
    if n_munis > 9_999 * len(UFS):
        raise ValueError(f"municipalities={n_munis}: at most {9_999 * len(UFS)} (4-digit codes per UF)")
    if per_10k <= 0:
        raise ValueError("establishments_per_10k must be positive")
    per_uf = _split(n_munis, np.array([u[2] for u in UFS], dtype=float), MIN_PER_UF)
    codes, ufs, pops, hubs = [], [], [], []
    offset = 0
    for i, ((_, prefix, _, capital, capital_pop), n) in enumerate(zip(UFS, per_uf)):
        suffix = rng.choice(np.setdiff1d(np.arange(1, 10_000), [capital % 10_000]), n - 1, replace=False)
        others = np.sort(prefix * 10_000 + suffix)
        pop = np.maximum(800, np.round(rng.lognormal(np.log(10_000), 1.15, n - 1))).astype(np.int64)
        pop = np.minimum(pop, capital_pop // 2)
        code = np.concatenate([[capital], others])
        pop = np.concatenate([[capital_pop], pop])
        order = np.argsort(code)
        code, pop = code[order], pop[order]
        # hubs: the capital and the largest cities (one per ~25 municipalities)
        k = max(1, int(round(n / 25)))
        hub_local = np.argsort(-pop, kind="stable")[:k]
        hub_w = pop[hub_local] / pop[hub_local].sum()
        hub = hub_local[rng.choice(k, size=n, p=hub_w)]
        hub[hub_local] = hub_local
        codes.append(code)
        ufs.append(np.full(n, i))
        pops.append(pop)
        hubs.append(hub + offset)
        offset += n
    m_code, m_uf, m_pop, m_hub = (np.concatenate(x) for x in (codes, ufs, pops, hubs))
    m_growth = rng.normal(0.006, 0.005, len(m_code))
    is_hub = m_hub == np.arange(len(m_code))

    # establishments, in municipality order
    n_est = np.maximum(1, rng.poisson(per_10k * m_pop / 10_000))
    n_est = np.where(is_hub | (m_pop >= 30_000), np.maximum(n_est, 2), n_est)
    n_est = n_est + (m_code == np.array([u[3] for u in UFS])[m_uf])  # a mobile unit in every capital
    e_muni = np.repeat(np.arange(len(m_code)), n_est)
    first = np.concatenate([[0], np.cumsum(n_est)[:-1]])
    rank = np.arange(len(e_muni)) - first[e_muni]
    kinds = np.array(["02", "36", "39", HOSPITAL, MOBILE])
    e_type = kinds[rng.choice(len(kinds), size=len(e_muni), p=[0.50, 0.20, 0.18, 0.09, 0.03])]
    big = is_hub | (m_pop >= 30_000)
    e_type[rank == 0] = np.where(big[e_muni[rank == 0]], HOSPITAL, "02")
    capital_mobile = (m_code == np.array([u[3] for u in UFS])[m_uf])[e_muni] & (rank == n_est[e_muni] - 1)
    e_type[capital_mobile] = MOBILE
    e_w = rng.lognormal(0.0, 0.7, len(e_muni))
    e_w *= np.select([e_type == HOSPITAL, e_type == MOBILE, rank == 0], [2.5, 0.3, 1.5], 1.0)
    e_cnes = 2_000_000 + rng.choice(8_000_000, size=len(e_muni), replace=False)

    world = _World([u[0] for u in UFS], [u[1] for u in UFS], m_code, m_uf, m_pop, m_growth, m_hub,
                   e_cnes, e_muni, e_type, e_w)
    n = len(m_code)
    world.pickers["all"] = _Picker(e_muni, e_w, n)
    hosp = np.flatnonzero(e_type == HOSPITAL)
    world.pickers["hosp"] = _Picker(e_muni[hosp], e_w[hosp], n, members=hosp)
    assert world.pickers["hosp"].has[is_hub].all() and world.pickers["all"].has.all()
    return world


# ---------------------------------------------------------------- procedures and rates

@dataclass
class _System:
    name: str
    groups: list[str]        # forma prefix (6 digits) per group
    alvo: list[str | None]   # target id, None outside every target
    share: np.ndarray
    qty: np.ndarray
    local: np.ndarray
    pool: np.ndarray         # index into POOLS
    age_lo: np.ndarray       # -1: general population
    age_hi: np.ndarray
    phase: np.ndarray        # seasonality phase
    proc_code: np.ndarray    # 10-digit codes (int)
    proc_group: np.ndarray
    proc_price: np.ndarray
    proc_picker: _Picker
    rows_pc: np.ndarray = None    # records per inhabitant per month, per group
    propensity: np.ndarray = None  # municipality x group
    expected: np.ndarray = None    # establishment x group, records per month (end year, no seasonality)

    def index(self, prefix: str) -> int:
        return self.groups.index(prefix)


def _forma(prefix: str, rng: np.random.Generator) -> str:
    """A 6-digit forma inside a target prefix of 2, 4, 6 (or the first 6 of 10) digits."""
    return prefix[:6] if len(prefix) >= 6 else prefix + "".join(str(d) for d in rng.integers(0, 10, 6 - len(prefix)))


def _build_system(name: str, tg: pd.DataFrame, rng: np.random.Generator) -> _System:
    groups, alvos, profiles, fixed_codes = [], [], [], []
    target_prefixes = []
    for t in tg[tg["sistema"] == name].itertuples(index=False):
        prefixes = [c.strip() for c in t.procedimentos.split(";") if c.strip()]
        target_prefixes += prefixes
        prefix = prefixes[0]
        forma = _forma(prefix, rng)
        prof = dict(PROFILES.get(forma, DEFAULT_PROFILE[name]))
        lo = t.idade_min if pd.notna(t.idade_min) else None
        hi = t.idade_max if pd.notna(t.idade_max) else None
        if lo is not None or hi is not None:
            plo, phi = prof.get("ages") or (0, 100)
            prof["ages"] = (max(plo, lo or 0), min(phi, hi if hi is not None else 110))
        groups.append(forma)
        alvos.append(t.alvo)
        profiles.append(prof)
        fixed_codes.append([int(prefix)] if len(prefix) == 10 else [])
    for forma in OUTSIDE[name]:
        if any(forma.startswith(p) or p.startswith(forma) for p in target_prefixes):
            continue  # a changed targets table now covers it
        groups.append(forma)
        alvos.append(None)
        profiles.append(dict(PROFILES[forma]))
        fixed_codes.append([])

    codes, owner, weight, price = [], [], [], []
    for g, (forma, prof, fixed) in enumerate(zip(groups, profiles, fixed_codes)):
        if fixed:
            group_codes = fixed
        else:
            k = int(rng.integers(5, 13))
            ppp = rng.choice(np.arange(1, 400), size=k, replace=False)
            group_codes = [int(forma) * 10_000 + int(p) * 10 + int(d) for p, d in zip(ppp, rng.integers(0, 10, k))]
            real = [c for c in prof.get("codes", []) if str(c).zfill(10).startswith(forma)]
            group_codes = list(dict.fromkeys(real + group_codes))[:max(k, len(real))]
        n = len(group_codes)
        codes += group_codes
        owner += [g] * n
        weight += list(1.0 / np.arange(1, n + 1) ** 1.1)
        price += list(np.round(prof["price"] * rng.lognormal(0.0, 0.5, n), 2))
    codes_arr = np.array(codes, dtype=np.int64)
    owner_arr = np.array(owner)
    ages = [p.get("ages") for p in profiles]
    return _System(
        name=name, groups=groups, alvo=alvos,
        share=np.array([p["share"] for p in profiles]), qty=np.array([p["qty"] for p in profiles]),
        local=np.array([p["local"] for p in profiles]),
        pool=np.array([POOLS.index(p.get("pool", "all")) for p in profiles]),
        age_lo=np.array([a[0] if a else -1 for a in ages]), age_hi=np.array([a[1] if a else -1 for a in ages]),
        phase=rng.uniform(0, 2 * np.pi, len(groups)),
        proc_code=codes_arr, proc_group=owner_arr, proc_price=np.array(price),
        proc_picker=_Picker(owner_arr, np.array(weight), len(groups)),
    )


def _season(system: _System, month_idx: int, end_idx: int) -> np.ndarray:
    """Per-group national factor of a month: seasonality and a slow growth (1 at end_month's trend)."""
    return (1 + 0.06 * np.sin(2 * np.pi * (month_idx % 12) / 12 + system.phase)) * 1.02 ** ((month_idx - end_idx) / 12)


def _calibrate(system: _System, world: _World, rows_per_month: float, rng: np.random.Generator) -> None:
    share = system.share / system.share.sum()
    system.rows_pc = share * rows_per_month / world.m_pop.sum()
    z = rng.normal(0.0, 0.22, (len(world.m_pop), len(system.groups)))
    system.propensity = np.exp(z - 0.22 ** 2 / 2)
    # expected records per establishment and group (end year, no seasonality): analytic routing
    lam = system.rows_pc * world.m_pop[:, None] * system.propensity
    n_m, n_g = lam.shape
    expected = np.zeros((len(world.e_muni), n_g))
    for g in range(n_g):
        picker = world.pickers[POOLS[system.pool[g]]]
        local = system.local[g] * picker.has
        inflow = local * lam[:, g] + np.bincount(world.m_hub, weights=(1 - local) * lam[:, g], minlength=n_m)
        members = picker.members
        totals = np.bincount(world.e_muni[members], weights=world.e_w[members], minlength=n_m)
        mu = world.e_muni[members]
        expected[members, g] = world.e_w[members] / totals[mu] * inflow[mu]
    system.expected = expected


# ---------------------------------------------------------------- records

def _records(system: _System, world: _World, rng: np.random.Generator, row_m: np.ndarray, row_g: np.ndarray,
             est: np.ndarray | None = None, proc: int | None = None, ages: tuple | None = None,
             qty_one: bool = False) -> dict:
    """Columns (as numpy) of records for residence municipalities row_m and groups row_g."""
    n = len(row_m)
    if est is None:
        est = np.empty(n, dtype=np.int64)
        local_draw = rng.random(n) < system.local[row_g]
        for p, pool in enumerate(POOLS):
            sel = np.flatnonzero(system.pool[row_g] == p)
            if len(sel) == 0:
                continue
            picker = world.pickers[pool]
            rm = row_m[sel]
            dest = np.where(local_draw[sel] & picker.has[rm], rm, world.m_hub[rm])
            est[sel] = picker.pick(dest, rng.random(len(sel)))
    else:
        est = np.broadcast_to(np.asarray(est, dtype=np.int64), (n,)).copy()
    if proc is None:
        procs = system.proc_picker.pick(row_g, rng.random(n))
    else:
        procs = np.full(n, proc, dtype=np.int64)
    age = np.minimum(rng.gamma(2.0, 18.0, n).astype(np.int64), 110)
    lo, hi = (np.full(n, ages[0]), np.full(n, ages[1])) if ages else (system.age_lo[row_g], system.age_hi[row_g])
    ranged = np.flatnonzero(lo >= 0)
    if len(ranged):
        span = hi[ranged] - lo[ranged] + 1
        offset = np.minimum(np.floor(rng.beta(2.0, 2.0, len(ranged)) * span), span - 1)
        age[ranged] = lo[ranged] + offset.astype(np.int64)
    price = system.proc_price[procs]
    if system.name == "SIA":
        qty = np.ones(n, dtype=np.int64) if qty_one else 1 + rng.poisson(np.maximum(system.qty[row_g] - 1, 0))
        value = np.round(qty * price, 2)
    else:
        qty = np.ones(n, dtype=np.int64)
        value = np.round(price * rng.lognormal(0.0, 0.2, n), 2)
    return {"m": np.asarray(row_m, dtype=np.int64), "g": np.asarray(row_g, dtype=np.int64), "est": est,
            "proc": procs, "age": age, "qty": qty, "value": value, "lag": np.zeros(n, dtype=np.int64)}


def _concat(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@dataclass
class _Extra:
    """Planted records to add to one UF-month file."""
    system: str
    month_idx: int
    uf: int
    est: int
    group: int
    munis: np.ndarray
    expected: np.ndarray      # expected records per municipality
    proc: int | None = None
    ages: tuple | None = None
    qty_one: bool = False


@dataclass
class _PriceFactor:
    system: str
    month_idx: int
    est: int
    group: int
    factor: float


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


# ---------------------------------------------------------------- files

def _file_name(prefix: str, sigla: str, month_idx: int) -> str:
    m = _month_of(month_idx)
    return f"{prefix}{sigla}{m.year % 100:02d}{m.month:02d}.parquet"


@dataclass
class _Tables:
    """Lookup tables of fixed-width codes for the writers."""
    muni: np.ndarray
    cnes: np.ndarray
    tp_unid: np.ndarray
    ages: np.ndarray


def _sia_table(world: _World, lk: _Tables, proc_txt: np.ndarray, r: dict, mvm: int) -> pa.Table:
    cmp_idx = mvm - r["lag"]
    cmp_val = (cmp_idx // 12) * 100 + cmp_idx % 12 + 1
    mvm_val = (mvm // 12) * 100 + mvm % 12 + 1
    months = np.unique(np.concatenate([cmp_val, [mvm_val]]))
    month_txt = _code_table(months, 6)
    est_m = world.e_muni[r["est"]]
    return pa.Table.from_arrays([
        _fixed_text(lk.cnes[r["est"]]),
        _fixed_text(lk.muni[est_m]),
        _fixed_text(np.full(len(r["m"]), month_txt[np.searchsorted(months, mvm_val)])),
        _fixed_text(month_txt[np.searchsorted(months, cmp_val)]),
        _fixed_text(proc_txt[r["proc"]]),
        _fixed_text(lk.ages[r["age"]]),
        _fixed_text(lk.muni[r["m"]]),
        pa.array(r["qty"].astype(np.int32)),
        pa.array(r["value"]),
    ], schema=SIA_SCHEMA)


def _sih_table(world: _World, lk: _Tables, proc_txt: np.ndarray, r: dict, mvm: int, uf: int,
               first_seq: int) -> pa.Table:
    n = len(r["m"])
    year, month = mvm // 12, mvm % 12 + 1
    seq = first_seq + np.arange(n, dtype=np.int64)
    if n and seq[-1] >= 10_000_000:
        raise ValueError("more than 10 million AIH in one UF-month: N_AIH has 7 sequence digits")
    n_aih = world.uf_code[uf] * 10**11 + (year % 100) * 10**9 + month * 10**7 + seq
    est_m = world.e_muni[r["est"]]
    return pa.Table.from_arrays([
        _fixed_text(np.full(n, f"{year:04d}".encode(), dtype="S4")),
        _fixed_text(np.full(n, f"{month:02d}".encode(), dtype="S2")),
        _digits(n_aih, 13),
        _fixed_text(lk.muni[r["m"]]),
        _fixed_text(proc_txt[r["proc"]]),
        pa.array(r["value"]),
        _fixed_text(lk.muni[est_m]),
        pa.array(r["age"].astype(np.int32)),
        _fixed_text(lk.cnes[r["est"]]),
    ], schema=SIH_SCHEMA)


def _write_production(path: Path, system: _System, world: _World, lk: _Tables, uf: int, mvm: int,
                      end_idx: int, extras: list[_Extra], factors: list[_PriceFactor], seed: int) -> int:
    rng = np.random.default_rng([seed, SYSTEM_CODE[system.name], uf, mvm])
    proc_txt = _code_table(system.proc_code, 10)
    munis = np.flatnonzero(world.m_uf == uf)
    pop = world.population(mvm // 12, end_idx // 12)[munis]
    noise = rng.lognormal(-0.06 ** 2 / 2, 0.06, (len(munis), len(system.groups)))
    lam = system.rows_pc * _season(system, mvm, end_idx) * pop[:, None] * system.propensity[munis] * noise
    counts = rng.poisson(lam).ravel()
    cell_m = np.repeat(munis, len(system.groups))
    cell_g = np.tile(np.arange(len(system.groups)), len(munis))
    before = np.cumsum(counts) - counts
    chunk_of = before // CHUNK_ROWS
    n_chunks = int(chunk_of[-1]) + 1 if len(chunk_of) else 1
    schema = SIA_SCHEMA if system.name == "SIA" else SIH_SCHEMA
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        for c in range(n_chunks):
            sel = chunk_of == c
            r = _records(system, world, rng, np.repeat(cell_m[sel], counts[sel]), np.repeat(cell_g[sel], counts[sel]))
            if system.name == "SIA":
                late = np.flatnonzero(rng.random(len(r["m"])) < LATE_SHARE)
                r["lag"][late] = rng.choice(LATE_LAGS, size=len(late), p=LATE_LAG_P)
            if c == n_chunks - 1:
                parts = [r]
                for x in extras:
                    # planted counts: the expected value, stochastically rounded (at least one record)
                    n_x = np.floor(x.expected).astype(np.int64)
                    n_x = np.maximum(1, n_x + (rng.random(len(n_x)) < x.expected - n_x))
                    parts.append(_records(system, world, rng, np.repeat(x.munis, n_x), np.full(n_x.sum(), x.group),
                                          est=x.est, proc=x.proc, ages=x.ages, qty_one=x.qty_one))
                r = _concat(parts)
            for f in factors:
                hit = (r["est"] == f.est) & (r["g"] == f.group)
                r["value"][hit] = np.round(r["value"][hit] * f.factor, 2)
            order = np.lexsort((r["proc"], r["m"], r["est"]))
            r = {k: v[order] for k, v in r.items()}
            if system.name == "SIA":
                table = _sia_table(world, lk, proc_txt, r, mvm)
            else:
                table = _sih_table(world, lk, proc_txt, r, mvm, uf, written)
            writer.write_table(table)
            written += table.num_rows
    return written


def _write_cnes(path: Path, world: _World, lk: _Tables, uf: int, mvm: int) -> int:
    est = np.flatnonzero(world.m_uf[world.e_muni] == uf)
    est = est[np.argsort(world.e_cnes[est])]
    month = _month_of(mvm)
    table = pa.Table.from_arrays([
        _fixed_text(lk.cnes[est]), _fixed_text(lk.muni[world.e_muni[est]]), _fixed_text(lk.tp_unid[est]),
        _fixed_text(np.full(len(est), f"{month:%Y%m}".encode(), dtype="S6")),
    ], schema=CNES_SCHEMA)
    pq.write_table(table, path)
    return table.num_rows


# ---------------------------------------------------------------- entry points

def generate(landing: Path, end_month: date, months: int = 13, municipalities: int = 300,
             establishments_per_10k: float = 1.0, sia_rows_per_month: int = 200_000, seed: int = 11) -> dict:
    """Write the sample landing (SIA, SIH, CNES per UF and month; IBGE population; planted truth).

    Returns the landing, months, UFs, ``planted`` (one dict per anomaly: kind, cnes, alvo, municipios,
    uf, tp_unid, competencias, fator, benigno, descricao) and ``counts`` (rows per system,
    municipalities, establishments, files).
    """
    started = time.perf_counter()
    if months < 1:
        raise ValueError("months must be at least 1")
    if sia_rows_per_month < 1_000:
        raise ValueError("sia_rows_per_month must be at least 1,000")
    landing = Path(landing)
    end = runs.month_start(end_month)
    end_idx = _month_index(end)
    month_idx = [end_idx - i for i in reversed(range(months))]

    tg = targets_mod.load()
    world = _build_world(municipalities, establishments_per_10k, np.random.default_rng([seed, 0]))
    sia = _build_system("SIA", tg, np.random.default_rng([seed, 1]))
    sih = _build_system("SIH", tg, np.random.default_rng([seed, 2]))
    _calibrate(sia, world, sia_rows_per_month, np.random.default_rng([seed, 3]))
    _calibrate(sih, world, sia_rows_per_month * SIH_PER_SIA, np.random.default_rng([seed, 4]))
    planted, extras, factors = _plant(world, sia, sih, tg, month_idx, np.random.default_rng([seed, 5]))

    lk = _Tables(muni=_code_table(world.m_code, 6), cnes=_code_table(world.e_cnes, 7),
                 tp_unid=world.e_type.astype("S2"), ages=_code_table(range(111), 3))
    for sub in ("SIA", "SIH", "CNES", "IBGE"):
        (landing / sub).mkdir(parents=True, exist_ok=True)
    rows = {"SIA": 0, "SIH": 0, "CNES": 0}
    files = 0
    for mvm in month_idx:
        for uf, sigla in enumerate(world.uf_sigla):
            for system, prefix in ((sia, "PA"), (sih, "RD")):
                rows[system.name] += _write_production(
                    landing / system.name / _file_name(prefix, sigla, mvm), system, world, lk, uf, mvm, end_idx,
                    [x for x in extras if x.system == system.name and x.month_idx == mvm and x.uf == uf],
                    [f for f in factors if f.system == system.name and f.month_idx == mvm], seed)
            rows["CNES"] += _write_cnes(landing / "CNES" / _file_name("ST", sigla, mvm), world, lk, uf, mvm)
            files += 3

    # population for every year a competência touches (late SIA records reach 3 months back)
    years = range(_month_of(month_idx[0] - max(LATE_LAGS)).year, end.year + 1)
    pop = pd.concat([pd.DataFrame({"municipio": [f"{c:06d}" for c in world.m_code], "ano": y,
                                   "populacao": world.population(y, end.year)}) for y in years])
    pop.to_csv(landing / "IBGE" / "populacao.csv", index=False)
    truth = {"end_month": f"{end:%Y-%m}", "seed": seed, "planted": planted}
    (landing / "_planted.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return {
        "landing": str(landing),
        "end_month": f"{end:%Y-%m}",
        "months": [f"{_month_of(i):%Y-%m}" for i in month_idx],
        "ufs": list(world.uf_sigla),
        "planted": planted,
        "counts": {"rows": rows, "municipalities": int(len(world.m_code)),
                   "establishments": int(len(world.e_cnes)), "files": files + 1},
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: write the sample SUS landing and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m vigia.sample_data sus",
        description="Sample DATASUS landing (SIA, SIH, CNES, IBGE) with planted anomalies.")
    parser.add_argument("--landing", required=True, type=Path, help="folder to write (SIA/, SIH/, CNES/, IBGE/)")
    parser.add_argument("--end-month", default=None,
                        help="last month, YYYY-MM (default: the month before today)")
    parser.add_argument("--months", type=int, default=13, help="how many months, ending at --end-month")
    parser.add_argument("--municipalities", type=int, default=300, help="size knob: 300 (demo) .. 5570 (national)")
    parser.add_argument("--establishments-per-10k", type=float, default=1.0)
    parser.add_argument("--sia-rows", type=int, default=200_000, help="SIA records per month (size knob)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    end = runs.month_start(args.end_month) if args.end_month else runs.previous_month(date.today())
    out = generate(args.landing, end, months=args.months, municipalities=args.municipalities,
                   establishments_per_10k=args.establishments_per_10k, sia_rows_per_month=args.sia_rows,
                   seed=args.seed)
    c = out["counts"]
    print(f"sus sample: {c['rows']['SIA']:,} SIA, {c['rows']['SIH']:,} SIH, {c['rows']['CNES']:,} CNES rows; "
          f"{c['municipalities']:,} municipalities, {c['establishments']:,} establishments, "
          f"{len(out['ufs'])} UFs, months {out['months'][0]}..{out['months'][-1]}, seed {args.seed}, "
          f"{len(out['planted'])} planted anomalies, {out['seconds']:.1f}s -> {out['landing']}")
    return 0
