"""Sample DATASUS landing, part 1: the world (UFs, municipalities, establishments) and array helpers.

See :mod:`vigia.sample_data.sus` for the whole picture. Everything here is vectorised numpy; the
world derives from its own random stream, so the same seed gives the same world at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

# sigla, IBGE prefix, real number of municipalities, capital (6-digit code, population)
UFS = [
    ("AC", 12, 22, 120040, 364_756),
    ("BA", 29, 417, 292740, 2_417_678),
    ("MG", 31, 853, 310620, 2_315_560),
    ("PR", 41, 399, 410690, 1_773_718),
    ("SP", 35, 645, 355030, 11_451_999),
]
MIN_PER_UF = 4
MOBILE, HOSPITAL = "40", "05"



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
