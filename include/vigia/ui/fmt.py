"""Numbers as Brazilian users read them: ``1.234.567,89``, ``R$ 1.234,50``, ``45,7%``.

Missing values (None, NaN) print as an em dash. No locale is consulted: the
output is the same on every server.
"""

from __future__ import annotations

import math

DASH = "—"


def missing(x) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def num(x, decimals: int = 0) -> str:
    """``1234567.891`` with 2 decimals -> ``1.234.567,89`` (thousands '.', decimals ',')."""
    if missing(x):
        return DASH
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    s = f"{x:,.{decimals}f}"
    if s.startswith("-") and float(s[1:].replace(",", "")) == 0:
        s = s[1:]
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


def brl(x) -> str:
    """Money in reais, 2 decimals: ``1234.5`` -> ``R$ 1.234,50``."""
    return DASH if missing(x) else f"R$ {num(x, 2)}"


def pct(x, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.4567`` -> ``45,7%``."""
    return DASH if missing(x) else f"{num(float(x) * 100, decimals)}%"


def month(d) -> str:
    """A competência as ``YYYY-MM`` (dates, timestamps or ISO strings)."""
    if missing(d):
        return DASH
    return str(d)[:7]


def day(d) -> str:
    """A date as ``YYYY-MM-DD``."""
    return DASH if missing(d) else str(d)[:10]
