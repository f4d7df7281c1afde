"""Sample DATASUS landing, part 2: procedures, rates and the SIA/SIH/CNES Parquet writers.

Records are drawn per UF-month in chunks of at most ``CHUNK_ROWS`` and written with a pyarrow
``ParquetWriter`` (one row group per chunk), so memory is bounded by one chunk. A UF-month with
more SIA records than ``part_rows`` is split into parts ``PA<UF><AA><MM>a``, ``b``, ... as
DATASUS does for the big states.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vigia.sample_data.sus_geo import _code_table, _digits, _fixed_text, _month_of, _Picker, _World

CHUNK_ROWS = 1_000_000
LATE_SHARE = 0.05
LATE_LAGS = (1, 2, 3)
LATE_LAG_P = (0.6, 0.3, 0.1)
SIH_PER_SIA = 1 / 25  # SIH admissions per SIA record, nationally
MAMMOGRAPHY = 204030188  # 0204030188 mamografia bilateral para rastreamento (SIGTAP)


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


# ---------------------------------------------------------------- files

def _file_name(prefix: str, sigla: str, month_idx: int, part: str = "") -> str:
    m = _month_of(month_idx)
    return f"{prefix}{sigla}{m.year % 100:02d}{m.month:02d}{part}.parquet"


def _part_letter(k: int) -> str:
    if k >= 26:
        raise ValueError("more than 26 parts in one UF-month: raise part_rows")
    return "abcdefghijklmnopqrstuvwxyz"[k]


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
                      end_idx: int, extras: list[_Extra], factors: list[_PriceFactor], seed: int,
                      part_rows: int | None = None) -> int:
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
    for stale in path.parent.glob(f"{path.stem}*{path.suffix}"):  # a rerun with another split
        if stale.stem == path.stem or (len(stale.stem) == len(path.stem) + 1 and stale.stem[-1].isalpha()):
            stale.unlink()
    written = 0
    # one file, or parts a, b, ... of about part_rows records each (SIA only, as DATASUS splits PA files)
    split = bool(part_rows) and system.name == "SIA" and counts.sum() > part_rows
    paths = []
    writer, in_part = None, 0
    try:
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
            if writer is None or (split and in_part >= part_rows):
                if writer is not None:
                    writer.close()
                paths.append(path.with_name(path.stem + _part_letter(len(paths)) + path.suffix) if split else path)
                writer = pq.ParquetWriter(paths[-1], schema)
                in_part = 0
            writer.write_table(table)
            written += table.num_rows
            in_part += table.num_rows
    finally:
        if writer is not None:
            writer.close()
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
