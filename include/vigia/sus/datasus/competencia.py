"""Reading one competência of a system from every landed file that can hold it.

SIA is keyed on ``PA_CMP`` (the competência of the service), not on the
file's processing month: SIA accepts records up to ``MAX_DELAY_MONTHS["SIA"]``
= 3 months late, so ``PAAC1606`` may hold ``PA_CMP`` 201603..201606.
:func:`read_competencia` therefore reads the processing months
``competencia .. competencia + 3``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from vigia.sus.datasus.files import _check_system, discover, select_files
from vigia.sus.datasus.layout import MAX_DELAY_MONTHS
from vigia.sus.datasus.months import _add_months, _as_month, _map_unique
from vigia.sus.datasus.normalisation import _empty, read_file

log = logging.getLogger(__name__)


def read_competencia(
    landing: str | Path | UPath,
    system: str,
    competencia: date | datetime | str,
    ufs: Iterable[str] | None = None,
    max_delay_months: int | None = None,
) -> pd.DataFrame:
    """Every row of ``system`` for one competência, from every file that can hold it.

    SIA: processing months ``competencia .. competencia + 3`` (rows keyed on PA_CMP); SIH, CNES: the
    same month. Rows of other competências are left for their own call, except rows no call could
    reach (competência missing/invalid or outside the file's delay window): those come with the call
    for their file's processing month so that code_problems flags them. A pure read, hence idempotent.
    ``ufs`` restricts the states read; ``max_delay_months`` overrides ``MAX_DELAY_MONTHS[system]``
    (pass the same value to code_problems). Each row carries ``linha``, its number among its file's data
    rows (1 = the first): the quarantine locates a bad row by ``arquivo`` and ``linha``.
    """
    system = _check_system(system)
    target = _as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    delay = MAX_DELAY_MONTHS[system] if max_delay_months is None else max_delay_months
    months = {_add_months(target, k) for k in range(delay + 1)}
    wanted_ufs = None if ufs is None else {u.upper() for u in ufs}
    found = discover(landing, system).files
    files = select_files(
        f for f in found if f.processing_month in months and (wanted_ufs is None or f.uf in wanted_ufs)
    )
    if not files:
        log.warning("no %s file in %s for competência %s", system, landing, target.strftime("%Y-%m"))
        return _empty(system)
    frames = []
    for f in files:
        df = read_file(f)
        # the row's number among the file's data rows, 1 = the first (a CSV's text line is linha + 1, for
        # its header), kept through the filter: the quarantine locates a bad row by file and linha
        df.insert(len(df.columns), "linha", np.arange(1, len(df) + 1, dtype=np.int64))
        comp = df["competencia"]
        lo, hi = _add_months(f.processing_month, -delay), f.processing_month
        unreachable = _map_unique(comp, lambda c: not isinstance(c, date) or not (lo <= c <= hi)).astype(bool)
        keep = (comp == target) | (unreachable & (f.processing_month == target))
        if unreachable.any() and f.processing_month == target:
            log.warning(
                "%s: %d row(s) with a competência outside %s..%s kept for quarantine",
                f.name, int(unreachable.sum()), lo.strftime("%Y%m"), hi.strftime("%Y%m"),
            )
        frames.append(df[keep.to_numpy(dtype=bool)])
    out = pd.concat(frames, ignore_index=True)
    log.info(
        "%s competência %s: %d row(s) from %d file(s)", system, target.strftime("%Y-%m"), len(out), len(files)
    )
    return out
