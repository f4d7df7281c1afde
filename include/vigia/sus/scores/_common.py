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
    """Integer month index (year * 12 + month - 1) of dates / Timestamps; raises if not day 1."""
    raw = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else list(values)
    if len(raw) == 0:
        return np.array([], dtype=np.int64)
    s = pd.to_datetime(pd.Series(raw))
    if s.isna().any():
        raise ValueError("competencia nula")
    if (s.dt.day != 1).any():
        bad = s[s.dt.day != 1].iloc[0]
        raise ValueError(f"competencia deve ser o primeiro dia do mês, recebido {bad.date()}")
    return (s.dt.year * 12 + s.dt.month - 1).to_numpy(np.int64)


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


def _lookup(sorted_keys: np.ndarray, sorted_values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Values at ``query`` keys in a sorted, unique key array; 0 where the key is absent."""
    if len(sorted_keys) == 0:
        return np.zeros(query.shape)
    pos = np.searchsorted(sorted_keys, query)
    pos_c = np.minimum(pos, len(sorted_keys) - 1)
    found = sorted_keys[pos_c] == query
    return np.where(found, sorted_values[pos_c], 0.0)


def _group_month_keys(group_codes: np.ndarray, months: np.ndarray, lookback: int):
    """One int64 key per (group, month) such that key - l stays inside the group for l <= lookback."""
    base = int(months.min()) - lookback
    span = int(months.max()) - base + 1
    return group_codes.astype(np.int64) * span + (months - base)


def _trailing_sum(group_codes: np.ndarray, months: np.ndarray, values: np.ndarray, window: int) -> np.ndarray:
    """Per row: sum of ``values`` of its group over months t-window+1 .. t (absent months are 0).

    (group, month) must be unique. Exact sums (no global cumulative sums).
    """
    if len(values) == 0:
        return np.zeros(0)
    key = _group_month_keys(group_codes, months, window)
    order = np.argsort(key, kind="stable")
    skey, svals = key[order], values[order]
    lags = np.arange(window)
    return _lookup(skey, svals, key[:, None] - lags[None, :]).sum(axis=1)


def _aggregate_shares(shares: pd.DataFrame) -> pd.DataFrame:
    _require(shares, ["cnes", "municipio", "alvo", "competencia", "quantidade"], "shares")
    s = _with_month(shares[["cnes", "municipio", "alvo", "competencia", "quantidade"]])
    s["quantidade"] = s["quantidade"].astype(float)
    return s.groupby(["cnes", "municipio", "alvo", _MES], as_index=False, sort=False)["quantidade"].sum()
