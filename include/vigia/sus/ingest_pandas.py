"""The pandas ingestion of one competência: for CSV, .dbc and object-storage landings.

The twin of :mod:`vigia.sus.ingest_sql` (DuckDB, local Parquet); both return the
same good rows, the same problem texts and the same per-file summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

import pandas as pd

from vigia.sus import cubes, datasus, ingest_sql

SYSTEMS = ("SIA", "SIH")


def ingest_competencia(landing, competencia: date, ufs: Iterable[str] | None = None
                       ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(good rows with ``cubes.PRODUCTION_COLUMNS``, bad rows with ``ingest_sql.QUARANTINE_COLUMNS`` (as the
    SQL path's quarantine file: the row's values, its ``arquivo`` and ``linha``, and ``problema``), one
    summary per file: uf, sistema, arquivo, rows, bad, bad_share, examples, bad_by_rule).

    Good rows stay row by row (the cube SQL sums them); for CSV, .dbc and object-storage landings,
    which are small next to the national Parquet months the SQL path is for."""
    good, bad, summary = [], [], []
    for system in SYSTEMS:
        df = datasus.read_competencia(landing, system, competencia, ufs=ufs)
        if df.empty:
            continue
        problems = datasus.code_problems(df, system)
        is_bad = problems != ""
        for arquivo, g in df.assign(_bad=is_bad).groupby("arquivo"):
            summary.append({"uf": g["uf"].iloc[0], "sistema": system, "arquivo": arquivo, "rows": len(g),
                            "bad": int(g["_bad"].sum()), "bad_share": float(g["_bad"].mean()),
                            "examples": "; ".join(problems[g.index][g["_bad"]].head(3)),
                            "bad_by_rule": ingest_sql.format_rules(Counter(
                                ingest_sql.rule_of(m) for p in problems[g.index][g["_bad"]] for m in p.split("; ")))})
        bad.append(_with_columns(df[is_bad].assign(sistema=system, problema=problems[is_bad]),
                                 ingest_sql.QUARANTINE_COLUMNS))
        good.append(_with_columns(df[~is_bad].assign(sistema=system), cubes.PRODUCTION_COLUMNS))
    good_df = pd.concat(good, ignore_index=True) if good else pd.DataFrame(columns=cubes.PRODUCTION_COLUMNS)
    bad_df = (pd.concat(bad, ignore_index=True) if bad
              else pd.DataFrame(columns=ingest_sql.QUARANTINE_COLUMNS))
    return good_df, bad_df, summary


def _with_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df``'s ``columns`` in that order; a column the system has not (SIA's n_aih) is None."""
    return df.assign(**{c: None for c in columns if c not in df.columns})[columns]
