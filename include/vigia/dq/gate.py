"""Run a great-expectations suite on a DataFrame and explain the outcome."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5


class DataQualityError(RuntimeError):
    """A data-quality gate failed. The message says which column, which expectation, which values."""

    def __init__(self, report: "Report"):
        self.report = report
        super().__init__(report.message())


@dataclass
class Suite:
    """A named suite, defined in code. ``build`` returns great-expectations Expectation objects.

    ``build`` is called only when the suite runs, so importing a suite module
    never imports great-expectations.
    """

    name: str
    build: Callable[[], list]
    description: str = ""


@dataclass
class Failure:
    expectation: str
    column: str | None
    detail: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list = field(default_factory=list)
    row_index: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "detail": self.detail,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "examples": [_plain(v) for v in self.examples],
        }

    def sentence(self) -> str:
        where = f"column {self.column}" if self.column else "table"
        text = f"{where}: {self.expectation} ({self.detail})"
        if self.unexpected_count is not None:
            text += f" failed for {self.unexpected_count} row(s) ({self.unexpected_percent:.2f}%)"
        if self.examples:
            text += f"; sample bad values: {[_plain(v) for v in self.examples]}"
        return text


@dataclass
class Report:
    suite: str
    success: bool
    evaluated: int
    rows: int
    failures: list[Failure]
    flagged: list[Failure]  # row-level expectations that passed within their tolerance but flagged rows
    notes: list[str] = field(default_factory=list)  # context the pipeline adds (e.g. which files)

    def message(self) -> str:
        if self.success:
            return f"DQ gate '{self.suite}' passed: {self.evaluated} expectations on {self.rows} rows"
        lines = [f"DQ gate '{self.suite}' failed: {len(self.failures)} of {self.evaluated} expectations "
                 f"on {self.rows} rows"]
        lines += [f"  - {f.sentence()}" for f in self.failures]
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        if not self.success:
            raise DataQualityError(self)

    def bad_rows(self) -> dict:
        """Row index -> reasons, for every row a row-level expectation flagged."""
        reasons: dict = {}
        for f in self.flagged + self.failures:
            for idx in f.row_index:
                reasons.setdefault(idx, []).append(f"{f.column}: {f.expectation} ({f.detail})")
        return reasons


def _plain(value):
    """JSON-friendly version of a value GX reports."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _detail(kwargs: dict) -> str:
    hidden = ("batch_id", "column", "column_A", "column_B", "result_format", "condition_parser")
    shown = {k: v for k, v in kwargs.items() if k not in hidden}
    if isinstance(shown.get("row_condition"), dict):
        shown["row_condition"] = shown["row_condition"].get("pass_through_filter", shown["row_condition"])
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "no arguments"


def _exception(info) -> tuple[bool, str]:
    """(raised, message) from GX's exception_info, flat or keyed by metric."""
    if not isinstance(info, dict):
        return False, ""
    if "raised_exception" in info:
        return bool(info.get("raised_exception")), str(info.get("exception_message") or "")
    for value in info.values():
        raised, message = _exception(value)
        if raised:
            return raised, message
    return False, ""


_CONTEXT = None


def _context():
    """One ephemeral GX context per process (creating one costs about a second)."""
    global _CONTEXT
    if _CONTEXT is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx

        _CONTEXT = gx.get_context(mode="ephemeral")
        try:
            _CONTEXT.variables.progress_bars = {"globally": False, "metric_calculations": False}
        except Exception:  # progress bars are cosmetic
            pass
    return _CONTEXT


def validate(df: pd.DataFrame, suite: Suite) -> Report:
    """Validate ``df`` against ``suite``; never raises for bad data, only reports it."""
    import great_expectations as gx

    context = _context()
    name = f"vigia_{suite.name}"
    try:
        source = context.data_sources.get(name)
    except Exception:
        source = context.data_sources.add_pandas(name)
    try:
        asset = source.get_asset("frame")
    except Exception:
        asset = source.add_dataframe_asset(name="frame")
    try:
        batch_definition = asset.get_batch_definition("whole")
    except Exception:
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")

    gx_suite = gx.ExpectationSuite(name=suite.name)
    for expectation in suite.build():
        gx_suite.add_expectation(expectation)

    frame = df.reset_index(drop=True)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(gx_suite, result_format={"result_format": "COMPLETE",
                                                     "partial_unexpected_count": MAX_EXAMPLES})
    failures, flagged = [], []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        res = r.result or {}
        raised, exc_message = _exception(r.exception_info)
        column = kwargs.get("column")
        if column is None and "column_A" in kwargs:
            column = f"{kwargs['column_A']}/{kwargs['column_B']}"
        item = Failure(
            expectation=cfg.type,
            column=column,
            detail=_detail(kwargs),
            unexpected_count=res.get("unexpected_count"),
            unexpected_percent=res.get("unexpected_percent"),
            examples=list(res.get("partial_unexpected_list") or [])[:MAX_EXAMPLES],
            row_index=list(res.get("unexpected_index_list") or []),
        )
        if raised:
            item.detail += f"; could not be evaluated: {exc_message[:200]}"
        if "observed_value" in res and not item.examples and not r.success:
            item.detail += f"; observed {_plain(res['observed_value'])!r}"
        if not r.success or raised:
            failures.append(item)
        elif item.row_index:
            flagged.append(item)
    success = not failures
    report = Report(suite.name, success, len(result.results), len(frame), failures, flagged)
    (log.info if success else log.error)(report.message())
    return report
