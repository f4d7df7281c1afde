"""The DuckDB warehouse reads results through Arrow (vigia.warehouse.arrow_frame) with the dtypes of .df()."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from vigia.connections import ConnectionSpec
from vigia.warehouse import arrow_frame, open_warehouse

EVERY_TYPE = """
SELECT 1::INTEGER AS i, NULL::INTEGER AS i_null, CASE WHEN range % 2 = 0 THEN range::INTEGER END AS i_some_null,
       2::BIGINT AS b, sum(range)::HUGEINT AS h, sum(range::BIGINT) AS sum_bigint, 1.5::DOUBLE AS d,
       CASE WHEN range % 2 = 0 THEN 1.5::DOUBLE END AS d_some_null, NULL::DOUBLE AS d_null, 1.5::FLOAT AS f,
       DATE '2026-01-01' AS dt, CASE WHEN range % 2 = 0 THEN DATE '2026-01-01' END AS dt_some_null,
       NULL::DATE AS dt_null, TIMESTAMP '2026-01-01 10:00' AS ts, TIMESTAMPTZ '2026-01-01 10:00+00' AS tstz,
       'x' AS s, CASE WHEN range % 2 = 0 THEN 'y' END AS s_some_null, NULL::VARCHAR AS s_null,
       true AS bo, CASE WHEN range % 2 = 0 THEN true END AS bo_some_null, NULL::BOOLEAN AS bo_null,
       1.25::DECIMAL(10, 2) AS dec, count(*) AS n, range::UTINYINT AS u8,
       CASE WHEN range % 2 = 0 THEN range::SMALLINT END AS s16_some_null, NULL AS untyped_null
FROM range({rows}) GROUP BY range ORDER BY range
"""


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_arrow_frame_has_the_values_and_dtypes_of_df(rows):
    con = duckdb.connect()
    sql = EVERY_TYPE.format(rows=rows)
    expected = con.sql(sql).df()
    got = arrow_frame(con.sql(sql).to_arrow_table())
    assert [str(t) for t in got.dtypes] == [str(t) for t in expected.dtypes]
    pd.testing.assert_frame_equal(got, expected)


def test_types_it_does_not_convert_fall_back_to_df(tmp_path):
    con = duckdb.connect()
    assert arrow_frame(con.sql("SELECT [1, 2] AS lista").to_arrow_table()) is None
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"))
    got = wh.query("SELECT [1, 2] AS lista, :x AS x", {"x": 7})
    assert list(got["lista"].iloc[0]) == [1, 2] and int(got["x"].iloc[0]) == 7
