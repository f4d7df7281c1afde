"""Data-quality suites of the glosa pipeline, in code.

Gates sit between extract -> features -> clusters -> publish:

* ``glosa_extract``: the contract's columns, at least one row, non-null
  segment keys and month, non-negative money. Row-level expectations carry a
  tolerance (``mostly = 1 - tolerance``): within it, the offending rows are
  quarantined and counted; beyond it the gate fails.
* ``glosa_features``: the feature columns, non-null keys and features,
  non-negative GLOSA_ATUAL, and 0 <= IND_GLOSA <= 1 with the same tolerance
  (a cell whose glosa exceeds what was billed is quarantined, not clustered).
* ``glosa_segment_runs``: every segment appears exactly once, as clustered or
  skipped; a skipped one has a reason; a clustered one has 2 <= k <= 14, a
  silhouette in [-1, 1] and a cluster id on every one of its rows.
"""

from __future__ import annotations

from vigia.dq import Suite
from vigia.glosa.clustering import CLUSTERED, K_MAX, K_MIN, SKIPPED
from vigia.glosa.contract import MONEY_COLUMNS, SEGMENT_KEYS, SOURCE_COLUMNS
from vigia.glosa.features import FEATURE_COLUMNS, FEATURES

DEFAULT_TOLERANCE = 0.01


def extract_suite(tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        mostly = 1.0 - tolerance
        out = [e.ExpectColumnToExist(column=c) for c in SOURCE_COLUMNS]
        out.append(e.ExpectTableRowCountToBeBetween(min_value=1))
        out += [e.ExpectColumnValuesToNotBeNull(column=c, mostly=mostly)
                for c in ["MES_RECEBIMENTO", *SEGMENT_KEYS]]
        out += [e.ExpectColumnValuesToBeBetween(column=c, min_value=0, mostly=mostly)
                for c in MONEY_COLUMNS + ["QTD_LINHAS_GLOSA"]]
        return out

    return Suite("glosa_extract", build, "raw extract: schema, keys, non-negative money")


def features_suite(tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        out = [e.ExpectColumnToExist(column=c) for c in FEATURE_COLUMNS]
        out += [e.ExpectColumnValuesToNotBeNull(column=c) for c in SEGMENT_KEYS + FEATURES]
        out.append(e.ExpectColumnValuesToBeBetween(column="GLOSA_ATUAL", min_value=0))
        out.append(e.ExpectColumnValuesToBeBetween(column="VALOR_COBRADO", min_value=0))
        out.append(e.ExpectColumnValuesToBeBetween(column="IND_GLOSA", min_value=0, max_value=1,
                                                   mostly=1.0 - tolerance))
        return out

    return Suite("glosa_features", build, "features: keys, 0 <= IND_GLOSA <= 1")


def segment_runs_suite(n_segments: int) -> Suite:
    def build():
        import great_expectations as gx
        from great_expectations.expectations.row_conditions import Column

        e = gx.expectations
        clustered = Column("status") == CLUSTERED
        return [
            e.ExpectTableRowCountToEqual(value=n_segments),
            e.ExpectColumnValuesToBeUnique(column="segment_id"),
            e.ExpectColumnValuesToBeInSet(column="status", value_set=[CLUSTERED, SKIPPED]),
            e.ExpectColumnValuesToNotBeNull(column="reason", row_condition=Column("status") == SKIPPED),
            e.ExpectColumnValuesToBeBetween(column="k", min_value=K_MIN, max_value=K_MAX,
                                            row_condition=clustered),
            e.ExpectColumnValuesToNotBeNull(column="k", row_condition=clustered),
            e.ExpectColumnValuesToBeBetween(column="silhouette", min_value=-1, max_value=1,
                                            row_condition=clustered),
            e.ExpectColumnPairValuesToBeEqual(column_A="n_rows", column_B="rows_labelled",
                                              row_condition=clustered),
        ]

    return Suite("glosa_segment_runs", build, "every segment clustered or skipped with a reason")
