"""Text of the fact sheets: HTML escaping, Brazilian numbers and money (``R$ 1.234,56``), months."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

MESES = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
         "outubro", "novembro", "dezembro"]
MESES_ABREV = ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"]


def esc(value) -> str:
    """Escaped text of any value (None / NaN as an em dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return html.escape(str(value), quote=True)


def is_missing(x) -> bool:
    """True for None, NaN, NaT and pandas' NA; False for anything else (including non-scalars)."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x, decimals: int = 2) -> str:
    """Brazilian number: ``1234567.891`` -> ``1.234.567,89``; missing -> ``—``."""
    if is_missing(x):
        return "—"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    s = f"{x:,.{decimals}f}"
    if s.startswith("-") and float(s[1:].replace(",", "")) == 0:
        s = s[1:]  # no "-0,00"
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fmt_brl(x) -> str:
    """Brazilian currency: ``1234.5`` -> ``R$ 1.234,50``."""
    return "—" if is_missing(x) else f"R$ {fmt_num(x, 2)}"


def fmt_pct(x, decimals: int = 1) -> str:
    """A fraction as a Brazilian percentage: ``0.4567`` -> ``45,7%``."""
    return "—" if is_missing(x) else f"{fmt_num(float(x) * 100, decimals)}%"


def fmt_qty(x) -> str:
    """A count: no decimals when whole, two otherwise."""
    if is_missing(x):
        return "—"
    return fmt_num(x, 0 if float(x).is_integer() else 2)


def fmt_month(d) -> str:
    """``setembro de 2026 (09/2026)``."""
    d = pd.Timestamp(d)
    return f"{MESES[d.month - 1]} de {d.year} ({d.month:02d}/{d.year})"


def month_ts(values) -> pd.Series:
    """The first day of the month of each value (dates, Timestamps or ISO text), as Timestamps."""
    return pd.to_datetime(pd.Series(values)).dt.to_period("M").dt.to_timestamp()


def month_start(competencia) -> pd.Timestamp:
    """The first day of the month of ``competencia``."""
    return pd.Timestamp(competencia).to_period("M").to_timestamp()


def same_month(col: pd.Series, competencia) -> np.ndarray:
    """Rows of ``col`` (dates or Timestamps) in the month of ``competencia``; converts each distinct value once."""
    target = month_start(competencia)
    uniq = pd.Series(pd.unique(col)).dropna()
    hits = [v for v, m in zip(uniq, month_ts(uniq.to_numpy())) if m == target]
    return col.isin(hits).to_numpy()
