"""Move rows flagged by row-level expectations out of the data, keeping each with its reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vigia.dq.gate import Report

REASON_COLUMN = "dq_reason"


def split(df: pd.DataFrame, report: Report) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (clean rows, quarantined rows with a ``dq_reason`` column). Row order is kept."""
    frame = df.reset_index(drop=True)
    reasons = report.bad_rows()
    if not reasons:
        return frame, frame.iloc[0:0].assign(**{REASON_COLUMN: pd.Series(dtype="object")})
    bad = sorted(reasons)
    quarantined = frame.loc[bad].copy()
    quarantined[REASON_COLUMN] = ["; ".join(reasons[i]) for i in bad]
    clean = frame.drop(index=bad).reset_index(drop=True)
    return clean, quarantined.reset_index(drop=True)


def save(quarantined: pd.DataFrame, path: Path) -> Path | None:
    """Write quarantined rows next to the raw extract (nothing is lost); None when there are none."""
    if quarantined.empty:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    quarantined.to_parquet(path, index=False)
    return path
