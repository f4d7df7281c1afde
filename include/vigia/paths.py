"""Where things live on disk. Every location can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "include" / "sql"


def data_dir() -> Path:
    """Root of local data: sample sources, raw extracts, staging, exports (``VIGIA_DATA_DIR``)."""
    return Path(os.environ.get("VIGIA_DATA_DIR", PROJECT_ROOT / "data")).resolve()


def raw_dir() -> Path:
    """Raw extracts, kept as received, one file per run."""
    return data_dir() / "raw"


def quarantine_dir() -> Path:
    """Rows refused by a data-quality gate, with the reason on every row."""
    return data_dir() / "quarantine"


def staging_dir() -> Path:
    """Intermediate files handed between tasks (XCom carries their paths, never the data)."""
    return Path(os.environ.get("VIGIA_STAGING_DIR", data_dir() / "staging")).resolve()


def exports_dir() -> Path:
    """Files for tools that cannot read the warehouse (the Power BI CSV)."""
    return data_dir() / "exports"
