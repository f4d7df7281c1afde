"""Month arithmetic and parsing shared by the normalisers, the validity checks and the competência reads."""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd


def _add_months(d: date, k: int) -> date:
    m = d.year * 12 + d.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


def _as_month(value) -> date | None:
    """A date, datetime or 'AAAAMM' / 'AAAA-MM[-DD]' text as the first of its month; None otherwise."""
    if isinstance(value, (datetime, date)) and not pd.isna(value):
        return date(value.year, value.month, 1)
    if isinstance(value, str):
        m = re.fullmatch(r"(19\d{2}|20\d{2})-?(0[1-9]|1[0-2])(-\d{2})?", value.strip())
        if m:
            return date(int(m[1]), int(m[2]), 1)
    return None


_AAAAMM = re.compile(r"(19\d{2}|20\d{2})(0[1-9]|1[0-2])")


def _as_competencia(value) -> date | None:
    """A competência as a row holds it: a date or datetime (the first of its month), or AAAAMM text
    (surrounding blanks ignored); None for anything else. Stricter than :func:`_as_month`, which also
    takes 'AAAA-MM' for arguments: the SQL ingestion refuses that form in a row, and so does this."""
    if isinstance(value, (datetime, date)) and not pd.isna(value):
        return date(value.year, value.month, 1)
    if isinstance(value, str):
        m = _AAAAMM.fullmatch(value.strip())
        if m:
            return date(int(m[1]), int(m[2]), 1)
    return None


def _map_unique(s: pd.Series, func) -> pd.Series:
    """``s.map(func)`` computed once per distinct value (months repeat over millions of rows)."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:-1] = [func(v) for v in uniques]
    values[-1] = func(None)  # code -1: missing
    return pd.Series(values[codes], index=s.index, dtype=object)
