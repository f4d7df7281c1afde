"""Landed DATASUS files: parsing their names, discovering them in a landing, choosing which to read.

File names and the landing layout are described in :mod:`vigia.sus.datasus.layout`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from upath import UPath

from vigia.sus.datasus.layout import FORMATS, PREFIX, SYSTEMS, UFS, DatasusFormatError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasusFile:
    """One landed DATASUS file, parsed from its name."""

    system: str  # SIA, SIH, CNES
    uf: str  # AC .. TO
    year: int  # processing year (from the name)
    month: int  # processing month (from the name)
    part: str | None  # SIA split files: "a", "b", ...; None when unsplit
    format: str  # dbc, parquet, csv
    path: UPath

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def processing_month(self) -> date:
        return date(self.year, self.month, 1)

    def sort_key(self) -> tuple:
        return (self.system, self.uf, self.year, self.month, self.part or "", self.format, self.name)


class Discovery(NamedTuple):
    files: list[DatasusFile]
    unrecognised: list[UPath]


_NAME = re.compile(
    r"^(?P<prefix>[A-Za-z]{2})(?P<uf>[A-Za-z]{2})(?P<aa>\d{2})(?P<mm>\d{2})(?P<part>[A-Za-z]?)"
    r"\.(?P<ext>dbc|parquet|csv)$",
    re.IGNORECASE,
)


def _check_system(system: str) -> str:
    s = str(system).upper()
    if s not in SYSTEMS:
        raise ValueError(f"unknown DATASUS system {system!r}; expected one of {', '.join(SYSTEMS)}")
    return s


def parse_name(path: UPath | str, system: str) -> DatasusFile | None:
    """The descriptor of a file in ``<landing>/<system>/``, or None when its name is not a DATASUS name."""
    system = _check_system(system)
    path = UPath(path)
    m = _NAME.match(path.name)
    if not m or m["prefix"].upper() != PREFIX[system]:
        return None
    uf, mm, part = m["uf"].upper(), int(m["mm"]), m["part"].lower() or None
    if uf not in UFS or not 1 <= mm <= 12 or (part and system != "SIA"):
        return None
    aa = int(m["aa"])
    year = 1900 + aa if aa >= 90 else 2000 + aa
    return DatasusFile(system, uf, year, mm, part, m["ext"].lower(), path)


def discover(landing: str | Path | UPath, system: str) -> Discovery:
    """Every file of ``system`` in the landing, sorted; names that do not parse go to ``unrecognised``."""
    system = _check_system(system)
    folder = UPath(landing) / system
    files: list[DatasusFile] = []
    unrecognised: list[UPath] = []
    if not folder.exists():
        log.warning("landing %s has no %s folder", landing, system)
        return Discovery(files, unrecognised)
    for path in folder.iterdir():
        if path.is_dir():
            continue
        parsed = parse_name(path, system)
        if parsed is None:
            unrecognised.append(path)
        else:
            files.append(parsed)
    files.sort(key=DatasusFile.sort_key)
    unrecognised.sort(key=lambda p: p.name)
    if unrecognised:
        log.warning(
            "%d file(s) in %s do not follow the DATASUS name %s<UF><AA><MM>%s.{dbc,parquet,csv} and are ignored: %s",
            len(unrecognised), folder, PREFIX[system], "[a|b|...]" if system == "SIA" else "",
            ", ".join(p.name for p in unrecognised),
        )
    return Discovery(files, unrecognised)


def select_files(files: Iterable[DatasusFile]) -> list[DatasusFile]:
    """One format per (system, uf, month, part), preferring ``FORMATS`` order; unsplit + parts is an error."""
    chosen: dict[tuple, DatasusFile] = {}
    for f in files:
        key = (f.system, f.uf, f.year, f.month, f.part)
        other = chosen.get(key)
        if other is None or FORMATS.index(f.format) < FORMATS.index(other.format):
            if other is not None:
                log.warning("%s and %s hold the same file: reading %s only", other.name, f.name, f.name)
            chosen[key] = f
        else:
            log.warning("%s and %s hold the same file: reading %s only", other.name, f.name, other.name)
    groups: dict[tuple, list[DatasusFile]] = {}
    for f in chosen.values():
        groups.setdefault((f.system, f.uf, f.year, f.month), []).append(f)
    for key, group in groups.items():
        if len(group) > 1 and any(f.part is None for f in group):
            raise DatasusFormatError(
                f"{', '.join(sorted(f.name for f in group))}: an unsplit file and lettered parts for the same "
                f"UF and month; expected either {PREFIX[key[0]]}{key[1]}{key[2] % 100:02d}{key[3]:02d} alone or "
                "its parts a, b, ... only (reading both would count the month twice)"
            )
    return sorted(chosen.values(), key=DatasusFile.sort_key)
