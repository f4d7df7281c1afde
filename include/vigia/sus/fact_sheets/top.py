"""Files of the fact sheets: atomic writes, file names, and the sheets of the top of the ranking."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from vigia.sus.fact_sheets.data import MonthData, cube_months
from vigia.sus.fact_sheets.formatting import month_ts, same_month
from vigia.sus.fact_sheets.page import render_sheet
from vigia.sus.scoring import MonthScores, top_of_ranking


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


def select_top(result: MonthScores, top: int = 20) -> pd.DataFrame:
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
        g = top_of_ranking(g, top)
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


def select_part(result: MonthScores, top: int = 20, part: int = 0, parts: int = 1) -> pd.DataFrame:
    """Part ``part`` of ``parts`` of :func:`select_top`'s rows: those at positions ``i`` (0-based) with
    ``i % parts == part``. Dealing the rows out in rank order spreads the top ranks (the sheets with the
    most charts) evenly over the parts."""
    if not (parts >= 1 and 0 <= part < parts):
        raise ValueError(f"fact sheet part must satisfy 0 <= part < parts (parts >= 1); "
                         f"got part={part}, parts={parts}")
    return select_top(result, top).iloc[part::parts]


def read_part_cube(path: Path | str, selected: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    """The rows of the cube file ``path`` that the sheets ``selected`` need, and the months of the whole file.

    Rows (read with Parquet filters, in the file's order): every month of the selected establishments
    (their production series), and each selected month's rows of the selected targets, over every
    establishment (municipal quantities, rates and the value-per-AIH distribution). The months are
    those of the whole cube (:func:`history_months`): the x axis of every series. Rendered from these,
    each page is byte-identical to the page rendered from the whole cube (tested).
    """
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    months = history_months(path, schema)
    if selected.empty:
        return schema.empty_table().to_pandas(), months
    as_month = _month_value(schema.field("competencia").type)
    either = [[("cnes", "in", sorted({str(c) for c in selected["cnes"]}))]]
    either += [[("competencia", "==", as_month(competencia)), ("alvo", "in", sorted({str(a) for a in g["alvo"]}))]
               for competencia, g in selected.groupby("competencia", sort=True)]
    return pd.read_parquet(path, filters=either), months


MONTHS_KEY = b"vigia:months"  # Parquet key-value metadata: the months of the cube the file was cut from


def write_history(cube: pd.DataFrame, months, path: Path | str) -> None:
    """Write the fact sheets' cube to ``path`` with ``months`` (ISO dates) in its metadata: the file may
    hold the earlier months of the top establishments only (:func:`vigia.sus.scoring.fact_sheet_cube`),
    and a month where none of them produced is still on every series' x axis."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(cube, preserve_index=False)
    meta = {**(table.schema.metadata or {}), MONTHS_KEY: json.dumps([f"{pd.Timestamp(m):%Y-%m-%d}" for m in months])}
    pq.write_table(table.replace_schema_metadata(meta), path)


def history_months(path: Path | str, schema=None) -> list[pd.Timestamp]:
    """The months of the fact sheets' cube file: from its metadata (:func:`write_history`), else the
    distinct ``competencia`` of the file."""
    import pyarrow.parquet as pq

    schema = schema if schema is not None else pq.read_schema(path)
    if schema.metadata and MONTHS_KEY in schema.metadata:
        return [pd.Timestamp(m) for m in json.loads(schema.metadata[MONTHS_KEY])]
    distinct = pq.read_table(path, columns=["competencia"]).column("competencia").unique()
    return cube_months(pd.DataFrame({"competencia": distinct.to_pandas()}))


def _month_value(arrow_type):
    """competência -> a value comparable with a column of ``arrow_type`` in a Parquet filter."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return lambda m: pd.Timestamp(m).to_pydatetime()
    return lambda m: pd.Timestamp(m).date()


def render_selected(selected: pd.DataFrame, result: MonthScores, cube: pd.DataFrame, target_names: dict[str, str],
                    registry: pd.DataFrame | None, out_dir: Path | str,
                    months: list[pd.Timestamp] | None = None, population: pd.DataFrame | None = None) -> list[Path]:
    """Write the sheets ``selected`` (rows of :func:`select_top`) to ``out_dir``; their paths.

    ``cube`` may be the whole cube or only the rows the sheets need (:func:`read_part_cube`), then with
    ``months``, the months of the whole cube. The large frames are filtered once per month for all its
    sheets (:class:`MonthData`, which takes ``population`` too).
    """
    out_dir = Path(out_dir)
    paths = []
    for competencia, chosen in selected.groupby("competencia", sort=True):
        data = MonthData(cube, result, competencia, registry, chosen["cnes"], months=months, population=population)
        for row in chosen.itertuples(index=False):
            html_text = render_sheet(data.sheet(row.cnes, row.alvo), target_names)
            paths.append(write(out_dir / file_name(row.competencia, row.cnes, row.alvo), html_text))
    return paths


def render_top(result: MonthScores, cube: pd.DataFrame, target_names: dict[str, str],
               registry: pd.DataFrame | None, out_dir: Path | str, top: int = 20,
               part: int = 0, parts: int = 1, population: pd.DataFrame | None = None) -> list[Path]:
    """Write the sheets chosen by :func:`select_top` to ``out_dir`` (one per establishment); their paths.

    With ``parts`` > 1, only part ``part`` of them (:func:`select_part`): parallel tasks each write
    one part. Each page is the same whichever part writes it.
    """
    return render_selected(select_part(result, top, part, parts), result, cube, target_names, registry, out_dir,
                           population=population)
