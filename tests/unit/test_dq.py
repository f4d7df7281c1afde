"""The data-quality layer: messages that name column, expectation and bad values; quarantine; dq_results."""

import json

import pandas as pd
import pytest

from vigia.dq import DataQualityError, Suite, validate
from vigia.dq import quarantine
from vigia.dq.results import RunInfo, record


def suite(mostly=1.0):
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [e.ExpectColumnToExist(column="valor"),
                e.ExpectColumnValuesToBeBetween(column="valor", min_value=0, mostly=mostly),
                e.ExpectColumnValuesToNotBeNull(column="hospital", mostly=mostly)]
    return Suite("test_suite", build)


def test_failure_names_column_expectation_and_sample_bad_values():
    df = pd.DataFrame({"valor": [10.0, -5.0, 3.0, -7.5], "hospital": ["A", "B", "C", "D"]})
    report = validate(df, suite())
    assert not report.success
    with pytest.raises(DataQualityError) as err:
        report.raise_for_failure()
    msg = str(err.value)
    assert "DQ gate 'test_suite' failed" in msg
    assert "column valor: expect_column_values_to_be_between (min_value=0" in msg
    assert "failed for 2 row(s) (50.00%)" in msg
    assert "sample bad values: [-5.0, -7.5]" in msg


def test_missing_column_is_named():
    report = validate(pd.DataFrame({"hospital": ["A"]}), suite())
    assert not report.success
    assert "column valor: expect_column_to_exist" in report.message()


def test_rows_flagged_within_tolerance_are_quarantined_with_their_reason():
    df = pd.DataFrame({"valor": [1.0] * 98 + [-1.0, 2.0], "hospital": ["A"] * 99 + [None]})
    report = validate(df, suite(mostly=0.98))
    assert report.success
    clean, bad = quarantine.split(df, report)
    assert len(clean) == 98 and len(bad) == 2
    assert bad["valor"].tolist() == [-1.0, 2.0]
    assert "valor: expect_column_values_to_be_between" in bad.loc[0, "dq_reason"]
    assert "hospital: expect_column_values_to_not_be_null" in bad.loc[1, "dq_reason"]


def test_every_validation_is_recorded_in_dq_results(warehouse):
    df = pd.DataFrame({"valor": [-1.0, 2.0], "hospital": ["A", "B"]})
    record(warehouse, validate(df, suite()), RunInfo("dag", "run_1", "task", "2026-10-01"))
    record(warehouse, validate(df.assign(valor=df["valor"].abs()), suite()), RunInfo("dag", "run_1", "task", "2026-10-01"))
    rows = warehouse.query("SELECT * FROM dq_results ORDER BY validated_at")
    assert rows["success"].tolist() == [False, True]
    assert rows["suite"].tolist() == ["test_suite", "test_suite"]
    failed = json.loads(rows.loc[0, "failed_expectations"])
    assert failed == [{"expectation": "expect_column_values_to_be_between", "column": "valor",
                       "detail": "min_value=0.0", "unexpected_count": 1, "unexpected_percent": 50.0,
                       "examples": [-1.0]}]
    assert json.loads(rows.loc[1, "failed_expectations"]) == []
