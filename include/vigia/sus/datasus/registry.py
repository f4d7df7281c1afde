"""The CNES ST registry a competência is scored with: per UF, its file of that month, or the latest before it.

The registry gives each establishment its type of unit (``tp_unid``: the mobile-unit flag), its UF (the
regional-spike flag) and its municipality (the ranking). CNES ST is a monthly snapshot of the
establishments, published per UF like SIA and SIH, and a UF's file of the month may land later than its
production. Scoring without it would switch the benign flags off for that UF without a word, so each UF
gets its file of the competência or else its latest earlier file, and :func:`read_registry` says which
(and which UF has none at all); the ``dq_ingest`` gate then checks that the registry covers the
establishments with production (:func:`vigia.sus.pipeline.registry_coverage`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from upath import UPath

from vigia.sus.datasus.files import discover, select_files
from vigia.sus.datasus.months import _as_month
from vigia.sus.datasus.normalisation import _empty, read_file

log = logging.getLogger(__name__)


def read_registry(landing: str | Path | UPath, competencia: date | datetime | str,
                  ufs: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """(registry, notes): the CNES rows of each UF of ``ufs`` (None: every UF with a CNES file) from its
    ST file(s) of ``competencia``, or, when it has none, from those of the latest earlier month. ``notes``
    names each UF read from an earlier month (and the files) and each UF with no file at all."""
    target = _as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    found = [f for f in discover(landing, "CNES").files if f.processing_month <= target]
    wanted = sorted({f.uf for f in found} if ufs is None else {str(u).upper() for u in ufs})
    frames, notes = [], []
    for uf in wanted:
        mine = [f for f in found if f.uf == uf]
        if not mine:
            notes.append(f"CNES: no ST file of {uf} for competência {target:%Y-%m} or earlier in "
                         f"{UPath(landing) / 'CNES'}: its establishments have no type of unit, UF or "
                         f"municipality (mobile-unit and regional-spike flags off); expected ST{uf}AAMM")
            continue
        month = max(f.processing_month for f in mine)
        chosen = select_files(f for f in mine if f.processing_month == month)
        if month != target:
            notes.append(f"CNES: no ST file of {uf} for competência {target:%Y-%m}; its registry is "
                         f"{', '.join(f.name for f in chosen)} ({month:%Y-%m}), the latest before it")
        frames += [read_file(f) for f in chosen]
    for note in notes:
        log.warning(note)
    registry = pd.concat(frames, ignore_index=True) if frames else _empty("CNES")
    return registry, notes


__all__ = ["read_registry"]
