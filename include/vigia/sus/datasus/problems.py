"""Validity: what is wrong with each row of a normalised frame.

Nothing is dropped here. Bad codes are kept as read; :func:`code_problems`
describes, row by row, what is wrong, and the caller quarantines. A row whose
competência cannot be reached by any
:func:`~vigia.sus.datasus.competencia.read_competencia` call (missing,
unparsable, or outside the file's delay window) is returned by the call for
its file's processing month, flagged by :func:`code_problems`, instead of
being lost.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from vigia.sus.datasus.files import parse_name
from vigia.sus.datasus.layout import MAX_DELAY_MONTHS, SCHEMAS
from vigia.sus.datasus.months import _as_month, _map_unique


def _show(s: pd.Series) -> pd.Series:
    """Values as display text for messages ('' for missing)."""
    return s.astype(object).map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


def _month_number(months: pd.Series) -> pd.Series:
    """year * 12 + month of each month (a date or None), as float: NaN where missing."""
    return _map_unique(months, lambda d: np.nan if d is None else d.year * 12 + d.month).astype("float64")


class _Problems:
    """Row messages built sparsely: text is formatted for flagged rows only."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.messages: list[pd.Series] = []

    def flag(self, mask: pd.Series, text) -> None:
        mask = pd.Series(mask, index=self.index).fillna(False).astype(bool)
        if mask.any():
            msg = text(mask) if callable(text) else pd.Series(text, index=self.index[mask.to_numpy()])
            self.messages.append(msg.astype(object))

    def digits(self, df: pd.DataFrame, col: str, n: int, allow_missing: bool = False) -> None:
        s = df[col]
        bad = ~s.astype(str).str.fullmatch(rf"\d{{{n}}}", na=False)
        if allow_missing:
            bad &= s.notna()
        self.flag(bad, lambda m: col + " '" + _show(s[m]) + f"' is not {n} digits")

    def result(self) -> pd.Series:
        out = pd.Series("", index=self.index, dtype=object)
        for msg in self.messages:
            at = msg.index
            out.loc[at] = np.where(out.loc[at] == "", msg, out.loc[at] + "; " + msg)
        return out.astype(str)


def code_problems(df: pd.DataFrame, system: str, max_delay_months: int | None = None) -> pd.Series:
    """What is wrong with each row of a normalised frame ('' when nothing); the caller quarantines.

    SIA/SIH: 7-digit cnes, 10-digit procedimento, 6-digit municipalities (SIH's optional
    municipio_estabelecimento may be missing), competência present and valid (a date, or AAAAMM text),
    within ``max_delay_months`` (default ``MAX_DELAY_MONTHS``) before mes_processamento, which must
    match the month in the file name (``arquivo``), quantidade and valor numeric and >= 0, SIH n_aih
    present. CNES: cnes, municipio, 2-digit tp_unid, competência. IBGE: municipio, ano, populacao > 0.
    Messages of one row are joined with '; '.
    """
    system = str(system).upper()
    if system not in SCHEMAS:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SCHEMAS)}")
    if not df.index.is_unique:
        df = df.reset_index(drop=True)  # messages are placed by index label
    p = _Problems(df.index)
    if system in ("SIA", "SIH", "CNES"):
        p.digits(df, "cnes", 7)
        months = _map_unique(df["competencia"], partial(_as_month, aaaamm_only=True))
        p.flag(
            months.isna(),
            lambda m: "competencia '" + _show(df["competencia"][m]) + "' is not a valid AAAAMM month",
        )
    if system in ("SIA", "SIH"):
        p.digits(df, "procedimento", 10)
        p.digits(df, "municipio_residencia", 6)
        p.digits(df, "municipio_estabelecimento", 6, allow_missing=system == "SIH")
        for col in ("quantidade", "valor"):
            v = pd.to_numeric(df[col], errors="coerce")
            p.flag(v.isna(), f"{col} missing or not numeric")
            p.flag(v < 0, lambda m, col=col, v=v: col + " is negative (" + _show(v[m]) + ")")
        if "mes_processamento" in df.columns:
            delay = MAX_DELAY_MONTHS[system] if max_delay_months is None else max_delay_months
            proc = _map_unique(df["mes_processamento"], _as_month)
            both = months.notna() & proc.notna()
            lag = _month_number(proc) - _month_number(months)  # NaN unless both are months
            p.flag(
                both & ((lag < 0) | (lag > delay)),
                lambda m: "competencia outside the processing window (" + _show(lag[m].astype("Int64"))
                + f" month(s) before mes_processamento, allowed 0..{delay})",
            )
            if "arquivo" in df.columns:
                # PA_MVM must agree with the file name: read_competencia finds rows by the file's month
                def named_month(name):
                    parsed = parse_name(str(name), system) if isinstance(name, str) else None
                    return parsed.processing_month if parsed else None

                named = _map_unique(df["arquivo"], named_month)
                p.flag(
                    named.notna() & proc.notna() & (named != proc),
                    lambda m: "mes_processamento " + _show(proc[m])
                    + " differs from the month in the file name " + _show(df["arquivo"][m]),
                )
        if system == "SIH":
            p.flag(df["n_aih"].isna() | (df["n_aih"].astype(str).str.strip() == ""), "n_aih missing")
    if system == "CNES":
        p.digits(df, "municipio", 6)
        p.digits(df, "tp_unid", 2)
    if system == "IBGE":
        p.digits(df, "municipio", 6)
        p.flag(pd.to_numeric(df["ano"], errors="coerce").isna(), "ano missing or not an integer")
        pop = pd.to_numeric(df["populacao"], errors="coerce")
        p.flag(pop.isna() | (pop <= 0), "populacao missing, not an integer or not positive")
    return p.result()
