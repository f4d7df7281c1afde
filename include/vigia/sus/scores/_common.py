"""Private helpers shared by the scoring modules: column checks, the integer
month index, (group, month) lookups and the aggregation of production shares."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

_MES = "_mes"  # internal integer month index: year * 12 + (month - 1)


def _require(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: colunas ausentes {missing}; recebidas {list(df.columns)}")


def _month_index(values) -> np.ndarray:
    """Integer month index (year * 12 + month - 1) of dates / Timestamps; raises if not day 1.

    Cubes hold a handful of distinct months in millions of rows: the dates are parsed once per
    distinct value."""
    raw = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else list(values)
    if len(raw) == 0:
        return np.array([], dtype=np.int64)
    codes, uniques = pd.factorize(pd.Series(raw), use_na_sentinel=False)
    s = pd.to_datetime(pd.Series(uniques))
    if s.isna().any():
        raise ValueError("competencia nula")
    if (s.dt.day != 1).any():
        bad = s[s.dt.day != 1].iloc[0]
        raise ValueError(f"competencia deve ser o primeiro dia do mês, recebido {bad.date()}")
    return (s.dt.year * 12 + s.dt.month - 1).to_numpy(np.int64)[codes]


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


def _group_month_keys(group_codes: np.ndarray, months: np.ndarray, lookback: int):
    """One int64 key per (group, month) such that key - l stays inside the group for l <= lookback.

    Keys run from 0 to (number of groups) x (months spanned + lookback) - 1: they index a dense table."""
    base = int(months.min()) - lookback
    span = int(months.max()) - base + 1
    return group_codes.astype(np.int64) * span + (months - base)


def _dense(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A table indexed by the (group, month) keys of :func:`_group_month_keys`: ``values`` at their
    keys (unique), 0 at every other (group, month), so that ``table[key - l]`` is the value l months
    earlier, 0 when absent."""
    table = np.zeros(int(key.max()) + 1 if len(key) else 0)
    table[key] = values
    return table


def _trailing_sum(group_codes: np.ndarray, months: np.ndarray, values: np.ndarray, window: int,
                  rows: np.ndarray | None = None) -> np.ndarray:
    """Per row (or per row of ``rows`` only): sum of ``values`` of its group over months
    t-window+1 .. t (absent months are 0).

    (group, month) must be unique. Exact sums (no global cumulative sums).
    """
    if len(values) == 0:
        return np.zeros(0)
    key = _group_month_keys(group_codes, months, window)
    lags = np.arange(window)
    query = key if rows is None else key[rows]
    return _dense(key, values)[query[:, None] - lags[None, :]].sum(axis=1)


def _pack(columns: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 per row that groups and sorts as the tuple of integer ``columns`` (each in
    [0, size)). pandas groups one integer key about ten times faster than several columns."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col, size in zip(columns, sizes):
        key = key * size + np.asarray(col, dtype=np.int64)
    return key


def _unpack(key: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """The integer columns of :func:`_pack`'s keys."""
    cols = []
    for size in reversed(sizes):
        key, col = np.divmod(np.asarray(key, dtype=np.int64), size)
        cols.append(col)
    return cols[::-1]


SHARE_KEYS = ["cnes", "municipio", "alvo"]


def _aggregate_shares(shares: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Index]]:
    """Production summed per cnes x municipio x alvo x month, the three keys as integer codes.

    String keys make pandas' GROUP BYs and merges several times slower than integers. The codes
    follow the sorted order of the values (sorting by code sorts by value) and ``keys[col]`` holds
    the values (``keys[col][code]``). Rows with a missing key are left out, as a GROUP BY leaves them.
    Rows come in the order of each group's first row (a ``sort=False`` GROUP BY).
    """
    _require(shares, [*SHARE_KEYS, "competencia", "quantidade"], "shares")
    codes, keys = {}, {}
    for col in SHARE_KEYS:
        codes[col], keys[col] = pd.factorize(shares[col], sort=True)
    valid = (codes["cnes"] >= 0) & (codes["municipio"] >= 0) & (codes["alvo"] >= 0)
    mes = _month_index(shares["competencia"])[valid]
    if not len(mes):
        return pd.DataFrame(columns=[*SHARE_KEYS, _MES, "quantidade"]), keys
    base = int(mes.min())
    sizes = [len(keys[col]) for col in SHARE_KEYS] + [int(mes.max()) - base + 1]
    key = _pack([codes[col][valid] for col in SHARE_KEYS] + [mes - base], sizes)
    total = pd.Series(shares["quantidade"].to_numpy(float)[valid]).groupby(key, sort=False).sum()
    cnes, municipio, alvo, month = _unpack(total.index.to_numpy(), sizes)
    return pd.DataFrame({"cnes": cnes, "municipio": municipio, "alvo": alvo, _MES: month + base,
                         "quantidade": total.to_numpy()}), keys
