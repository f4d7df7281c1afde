"""Files of the fact sheets: atomic writes, file names, and the sheets of the top of the ranking."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from vigia.sus.fact_sheets.data import MonthData
from vigia.sus.fact_sheets.formatting import month_ts, same_month
from vigia.sus.fact_sheets.page import render_sheet
from vigia.sus.scoring import MonthScores


def write(path: Path | str, html_text: str) -> Path:
    """Write ``html_text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html_text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a report: readable by the web server and the auditors' accounts
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_name(competencia, cnes: str, alvo: str) -> str:
    """``<YYYY-MM>_<cnes>_<alvo>.html`` (characters outside ``[A-Za-z0-9._-]`` become ``_``)."""
    def safe(s) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", str(s))

    return f"{pd.Timestamp(competencia):%Y-%m}_{safe(cnes)}_{safe(alvo)}.html"


def select_top(result: MonthScores, cube: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The (cnes, alvo) of the sheets to write: the ``top`` establishments by ``rank`` of each month.

    For each establishment, the target with its largest excess value (per-capita
    excess attributed to it plus, for SIH, the price excess of its admissions,
    as in the ranking); when it has no excess, the target of its most extreme
    score (highest percentile of the value among all rows of that score and
    month; ties by value, then alvo).

    Returns competencia, cnes, alvo, rank, criterio ('excesso' or the score name).
    """
    cols = ["competencia", "cnes", "alvo", "rank", "criterio"]
    out = []
    r = result.ranking.copy()
    if r.empty:
        return pd.DataFrame(columns=cols)
    r["_mes"] = month_ts(r["competencia"]).to_numpy()
    for mes, g in r.groupby("_mes", sort=True):
        g = g.nsmallest(int(top), "rank")
        exc = result.excess_by_target[same_month(result.excess_by_target["competencia"], mes)]
        exc = exc[exc["cnes"].isin(g["cnes"]).to_numpy()]
        exc = exc.assign(excesso_valor=exc["excesso_valor"].astype(float).fillna(0.0))
        sc = result.scores[same_month(result.scores["competencia"], mes)]
        sc = sc[sc["value"].notna()].copy()
        sc["value"] = sc["value"].astype(float)
        sc["pct"] = sc.groupby("score")["value"].rank(method="average", pct=True)  # among every establishment
        sc = sc[sc["cnes"].isin(g["cnes"]).to_numpy()]
        for row in g.itertuples(index=False):
            e = exc[(exc["cnes"] == row.cnes) & (exc["excesso_valor"] > 0)]
            if len(e):
                best = e.sort_values(["excesso_valor", "alvo"], ascending=[False, True]).iloc[0]
                out.append((mes.date(), row.cnes, best["alvo"], int(row.rank), "excesso"))
                continue
            s = sc[sc["cnes"] == row.cnes]
            if len(s):
                best = s.sort_values(["pct", "value", "alvo"], ascending=[False, False, True]).iloc[0]
                out.append((mes.date(), row.cnes, best["alvo"], int(row.rank), best["score"]))
    return pd.DataFrame(out, columns=cols)


def render_top(result: MonthScores, cube: pd.DataFrame, target_names: dict[str, str],
               registry: pd.DataFrame | None, out_dir: Path | str, top: int = 20,
               part: int = 0, parts: int = 1) -> list[Path]:
    """Write the sheets chosen by :func:`select_top` to ``out_dir`` (one per establishment); their paths.

    With ``parts`` > 1, only the rows at positions ``i`` (0-based, in :func:`select_top`'s
    order) with ``i % parts == part``: parallel tasks each write one part, and dealing
    the rows out in rank order spreads the top ranks (the sheets with the most charts)
    evenly over the parts. Each page is the same whichever part writes it.

    The large frames are filtered once per month for all its sheets (:class:`MonthData`).
    """
    if not (parts >= 1 and 0 <= part < parts):
        raise ValueError(f"fact sheet part must satisfy 0 <= part < parts (parts >= 1); "
                         f"got part={part}, parts={parts}")
    out_dir = Path(out_dir)
    selected = select_top(result, cube, top).iloc[part::parts]
    paths = []
    for competencia, chosen in selected.groupby("competencia", sort=True):
        data = MonthData(cube, result, competencia, registry, chosen["cnes"])
        for row in chosen.itertuples(index=False):
            html_text = render_sheet(data.sheet(row.cnes, row.alvo), target_names)
            paths.append(write(out_dir / file_name(row.competencia, row.cnes, row.alvo), html_text))
    return paths
