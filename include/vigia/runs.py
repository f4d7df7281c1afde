"""Months, run folders and partition keys shared by every pipeline."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from vigia import paths


def month_start(value: date | datetime | str) -> date:
    """First day of the month of ``value`` ('2026-10', '2026-10-15', a date or a datetime)."""
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", text)
        if not match:
            raise ValueError(f"month '{value}' is not a month: expected YYYY-MM (for example 2026-10)")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"month '{value}': month {month} is not between 01 and 12")
        return date(year, month, 1)
    return date(value.year, value.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + (month.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def previous_month(moment: date | datetime) -> date:
    """The month before the one ``moment`` falls in (the default month analysed)."""
    return add_months(month_start(moment), -1)


def safe_name(text: str) -> str:
    """A file-system-safe version of an id such as an Airflow run_id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"


def run_dir(dag_id: str, run_id: str) -> Path:
    """Staging folder of one run; tasks of the run hand files to each other here."""
    path = paths.staging_dir() / safe_name(dag_id) / safe_name(run_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


class MonthRun:
    """What every pipeline run of one competência shares: its staging folder, partition key and ids.

    Mixed into each pipeline's frozen dataclass, which defines ``run_id``, ``competencia`` and ``dag_id``.
    """

    run_id: str
    competencia: date
    dag_id: str

    @property
    def dir(self) -> Path:
        return run_dir(self.dag_id, self.run_id)

    @property
    def partition_key(self) -> str:
        return self.competencia.isoformat()

    def info(self, task_id: str):
        """Which run and task a data-quality result belongs to."""
        from vigia.dq.results import RunInfo

        return RunInfo(self.dag_id, self.run_id, task_id, self.partition_key)

    def file(self, name: str) -> Path:
        return self.dir / name
