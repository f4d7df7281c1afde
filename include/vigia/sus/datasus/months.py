"""Month arithmetic and parsing shared by the normalisers, the validity checks and the competência reads."""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd


def _add_months(d: date, k: int) -> date:
    m = d.year * 12 + d.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


# a competência as a row of a DATASUS file holds it (the SQL ingestion's rule too)
AAAAMM = r"(19[0-9]{2}|20[0-9]{2})(0[1-9]|1[0-2])"  # ASCII digits, as the SQL's [0-9]
_MONTH_TEXT = {True: re.compile(AAAAMM), False: re.compile(r"(19\d{2}|20\d{2})-?(0[1-9]|1[0-2])(-\d{2})?")}


def _as_month(value, aaaamm_only: bool = False) -> date | None:
    """A date, datetime or 'AAAAMM' / 'AAAA-MM[-DD]' text as the first of its month; None otherwise.
    ``aaaamm_only``: text must be AAAAMM (surrounding blanks ignored), as a row holds its competência:
    the SQL ingestion refuses 'AAAA-MM' in a row, and so does this; arguments may use either form."""
    if isinstance(value, (datetime, date)) and not pd.isna(value):
        return date(value.year, value.month, 1)
    if isinstance(value, str):
        m = _MONTH_TEXT[aaaamm_only].fullmatch(value.strip())
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
