"""The ``dq_results`` table: one row per validation, passed or failed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from vigia.dq.gate import Report
from vigia.warehouse import Warehouse


@dataclass(frozen=True)
class RunInfo:
    """Which run produced a result: the Airflow ids, or a label when run outside Airflow."""

    dag_id: str
    run_id: str
    task_id: str = ""
    partition_key: str = ""


def record(warehouse: Warehouse, report: Report, run: RunInfo, quarantined: int = 0) -> None:
    failures = [f.as_dict() for f in report.failures]
    flagged = [f.as_dict() for f in report.flagged]
    row = {
        "validated_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": run.task_id,
        "partition_key": run.partition_key,
        "suite": report.suite,
        "success": report.success,
        "rows_validated": report.rows,
        "expectations_evaluated": report.evaluated,
        "expectations_failed": len(report.failures),
        "rows_quarantined": quarantined,
        "failed_expectations": json.dumps(failures, ensure_ascii=False, default=str),
        "flagged_expectations": json.dumps(flagged, ensure_ascii=False, default=str),
    }
    warehouse.append("dq_results", pd.DataFrame([row]))
