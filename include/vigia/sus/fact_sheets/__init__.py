"""Fact sheets (folhas de fatos): one self-contained HTML page per establishment x target x month.

An auditor opening a sheet sees, for one CNES, one mining target and one
competência, the numbers behind every score the month produced
(:mod:`vigia.sus.scoring`) and its charts (:mod:`.charts`):
municipal rates, the production series and, for SIH targets, the value per
admission. The page carries no external resource, escapes every text value,
formats numbers the Brazilian way (``R$ 1.234,56``) and says, prominently,
that a statistical anomaly is not proof of fraud.

Modules: :mod:`.formatting` (escaping, Brazilian numbers), :mod:`.texts` (fixed
texts, CSS), :mod:`.data` (the month's frames filtered once, each sheet's rows),
:mod:`.charts` (matplotlib SVG), :mod:`.page` (HTML), :mod:`.top` (files and the
top of the ranking).

:func:`render` builds one page, :func:`write` saves it atomically,
:func:`select_top` / :func:`render_top` choose and write the sheets of the
top-ranked establishments; a mapped task renders one part of them
(:func:`select_part`) from only the cube rows its sheets need
(:func:`read_part_cube`, :func:`render_selected`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from vigia.sus.fact_sheets.data import MonthData
from vigia.sus.fact_sheets.formatting import fmt_brl, fmt_month, fmt_num, fmt_pct, fmt_qty
from vigia.sus.fact_sheets.page import render_sheet
from vigia.sus.fact_sheets.top import (file_name, read_part_cube, render_selected, render_top, select_part,
                                        select_top, write)
from vigia.sus.scoring import MonthScores

__all__ = ["render", "write", "file_name", "select_top", "select_part", "read_part_cube", "render_selected",
           "render_top",
           "fmt_num", "fmt_brl", "fmt_pct", "fmt_qty", "fmt_month"]


def render(cnes: str, alvo: str, competencia: date, cube: pd.DataFrame, result: MonthScores,
           target_names: dict[str, str], registry: pd.DataFrame | None = None,
           months: list[pd.Timestamp] | None = None, population: pd.DataFrame | None = None) -> str:
    """The fact sheet of ``cnes`` x ``alvo`` x ``competencia`` as one self-contained HTML page.

    ``cube``: the finest cube (competencia, cnes, municipio, uf, alvo, sistema,
    quantidade, valor, n_aih) of the month, and the months before it at least per
    establishment (:func:`vigia.sus.scoring.fact_sheet_cube`); ``result``: that month's :class:`MonthScores`;
    ``target_names``: alvo -> nome; ``registry``: CNES registry (cnes,
    municipio, tp_unid, uf[, competencia]) for the establishment's own
    municipality and unit type; ``months``: the x axis of the series when ``cube`` holds the earlier
    months of this establishment only (default: the months of ``cube``); ``population``: the IBGE population
    (municipio, ano, populacao), the state rates' denominators (:class:`MonthData`). For many sheets of a month,
    :func:`render_top` filters the frames once for all of them.
    """
    data = MonthData(cube, result, competencia, registry, [cnes], months=months, population=population)
    return render_sheet(data.sheet(cnes, alvo), target_names)
