"""The glosa pipeline's steps on a real DuckDB source and both warehouses, including bad input."""

from datetime import date

import pandas as pd
import pytest

from vigia.connections import ConnectionSpec
from vigia.dq import DataQualityError
from vigia.glosa import pipeline as p
from vigia.sample_data import glosa as sample
from vigia.sample_data.__main__ import write_glosa
from vigia.sources import SourceSchemaError, read_query
from vigia.warehouse import DuckDBWarehouse

OCT = date(2026, 10, 1)


@pytest.fixture
def source(tmp_path):
    """A DuckDB source holding 20 segments of sample data for Sept and Oct 2026."""
    uri = f"duckdb:///{(tmp_path / 'glosa.duckdb').as_posix().lstrip('/')}"
    data = sample.generate([date(2026, 9, 1), OCT], n_segments=20, n_rows=3000, seed=5)
    write_glosa(data, uri)
    return ConnectionSpec.from_uri("glosa_source", uri), data


def run_all(run, src, warehouse):
    raw = read_query(src, p.extract_sql_name(src.kind), p.extract_params(run))
    return p.run_in_process(run, raw, warehouse)["publish"]


def counts(warehouse):
    return {t: int(warehouse.query(f"SELECT COUNT(*) AS n FROM {t}")["n"].iloc[0]) for t in p.TABLES}


def test_end_to_end_and_rerun_is_idempotent(source, warehouse):
    src, data = source
    first = run_all(p.GlosaRun("run_a", OCT, max_batches=4), src, warehouse)
    assert first["glosa_segment_runs"] == 20
    october = data.rows[data.rows["MES_RECEBIMENTO"] == OCT]
    assert first["glosa_clusters"] == len(october.drop_duplicates(
        ["HOSPITAL", "CONVENIO", "TIPO_GLOSA", "I_ITEM_CATEGORIA", "SETOR_N2", "TIPO_GRUPO", "TIPO_ATENDIMENTO"]))
    before = counts(warehouse)
    run_all(p.GlosaRun("run_b", OCT, max_batches=7), src, warehouse)
    assert counts(warehouse) == before
    runs = warehouse.query("SELECT DISTINCT run_id FROM glosa_clusters")
    assert runs["run_id"].tolist() == ["run_b"]
    # money is conserved from source to warehouse
    total = warehouse.query("SELECT SUM(glosa_atual) AS s FROM glosa_clusters")["s"].iloc[0]
    assert total == pytest.approx(october["VALOR_GLOSA"].sum(), rel=1e-9)
    prof = warehouse.query("SELECT SUM(total_glosa) AS s, MIN(rank_overall) AS r FROM glosa_cluster_profiles")
    clustered = warehouse.query("SELECT SUM(glosa_atual) AS s FROM glosa_clusters WHERE cluster IS NOT NULL")
    assert prof["s"].iloc[0] == pytest.approx(clustered["s"].iloc[0]) and prof["r"].iloc[0] == 1
    skipped = warehouse.query("SELECT reason FROM glosa_segment_runs WHERE status = 'skipped'")
    assert len(skipped) >= 1 and skipped["reason"].notna().all()


def test_hospital_filter_is_a_bind_variable(source, warehouse):
    src, data = source
    hospital = data.rows["HOSPITAL"].iloc[0]
    raw = read_query(src, "glosa/extract.sql", p.extract_params(p.GlosaRun("r", OCT, hospital=hospital)))
    assert set(raw["HOSPITAL"]) == {hospital}
    assert len(read_query(src, "glosa/extract.sql",
                          p.extract_params(p.GlosaRun("r", OCT, hospital="x' OR '1'='1")))) == 0


def _bad_source(tmp_path, mutate):
    data = sample.generate([OCT], n_segments=8, n_rows=600, seed=2)
    rows = mutate(data.rows.copy())
    uri = f"duckdb:///{(tmp_path / 'bad.duckdb').as_posix().lstrip('/')}"
    DuckDBWarehouse(ConnectionSpec.from_uri("glosa_source", uri)).replace_table(
        "glosa/sample_source.sql", "tasy.tb_glosa_apriori_recente", rows)
    return ConnectionSpec.from_uri("glosa_source", uri), rows


def test_missing_column_fails_with_its_name(tmp_path):
    import duckdb

    src, _ = _bad_source(tmp_path, lambda r: r)
    with duckdb.connect(src.path) as con:
        con.execute("ALTER TABLE tasy.tb_glosa_apriori_recente DROP COLUMN regional")
    with pytest.raises(SourceSchemaError, match="(?i)glosa_source.*REGIONAL"):
        read_query(src, "glosa/extract.sql", p.extract_params(p.GlosaRun("r", OCT)))


def test_negative_values_beyond_tolerance_stop_before_any_warehouse_write(tmp_path, warehouse):
    def negative(rows):
        rows.loc[rows.index[:40], "VALOR_GLOSA"] *= -1
        return rows
    src, _ = _bad_source(tmp_path, negative)
    run = p.GlosaRun("r", OCT, tolerance=0.01)
    p.land_raw(run, read_query(src, "glosa/extract.sql", p.extract_params(run)))
    with pytest.raises(DataQualityError) as err:
        p.gate_extract(run, warehouse)
    assert ("column VALOR_GLOSA: expect_column_values_to_be_between (mostly=0.99, min_value=0.0) "
            "failed for 40 row(s)") in str(err.value)
    assert "sample bad values: [-" in str(err.value)
    dq = warehouse.query("SELECT suite, success, failed_expectations FROM dq_results")
    assert dq["success"].tolist() == [False] and "VALOR_GLOSA" in dq["failed_expectations"].iloc[0]
    assert not warehouse.table_exists("glosa_clusters")


def test_null_keys_and_negatives_within_tolerance_are_quarantined_and_counted(tmp_path, warehouse):
    def few_bad(rows):
        rows.loc[rows.index[0], "HOSPITAL"] = None
        rows.loc[rows.index[1], "VALOR_COBRADO_GERAL"] = -10.0
        return rows
    src, rows = _bad_source(tmp_path, few_bad)
    run = p.GlosaRun("r", OCT, tolerance=0.05)
    raw = read_query(src, "glosa/extract.sql", p.extract_params(run))
    steps = p.run_in_process(run, raw, warehouse)
    assert steps["dq_extract"] == {"rows": len(raw) - 2, "quarantined": 2}
    assert steps["publish"]["dq_quarantine"] == 2
    q = warehouse.query("SELECT dq_reason, row_json FROM dq_quarantine ORDER BY dq_reason")
    assert "HOSPITAL: expect_column_values_to_not_be_null" in q["dq_reason"].iloc[0]
    assert "VALOR_COBRADO_GERAL: expect_column_values_to_be_between" in q["dq_reason"].iloc[1]
    assert '"VALOR_COBRADO_GERAL": -10.0' in q["row_json"].iloc[1]
    dq = warehouse.query("SELECT suite, rows_quarantined FROM dq_results WHERE suite = 'glosa_extract'")
    assert dq["rows_quarantined"].tolist() == [2]


def test_empty_source_fails_with_a_clear_reason(tmp_path, warehouse):
    src, _ = _bad_source(tmp_path, lambda r: r)
    run = p.GlosaRun("r", date(2020, 1, 1))
    p.land_raw(run, read_query(src, "glosa/extract.sql", p.extract_params(run)))
    with pytest.raises(DataQualityError, match=r"table: expect_table_row_count_to_be_between \(min_value=1.*observed 0"):
        p.gate_extract(run, warehouse)


def test_glosa_above_billed_beyond_tolerance_fails_the_features_gate(tmp_path, warehouse):
    def over(rows):
        rows["VALOR_GLOSA"] = rows["VALOR_COBRADO_GERAL"] * 2
        return rows
    src, _ = _bad_source(tmp_path, over)
    run = p.GlosaRun("r", OCT)
    p.land_raw(run, read_query(src, "glosa/extract.sql", p.extract_params(run)))
    p.gate_extract(run, warehouse)
    p.build_features_step(run)
    with pytest.raises(DataQualityError, match="column IND_GLOSA: expect_column_values_to_be_between"):
        p.gate_features(run, warehouse)


def test_csv_export_keeps_the_seed_columns(source, warehouse, data_dir):
    src, _ = source
    run_all(p.GlosaRun("run_a", OCT), src, warehouse)
    out = p.export_csv(warehouse)
    csv = pd.read_csv(out["path"])
    assert out["path"] == str(data_dir / "exports" / "base_cluster_por_hospital.csv")
    assert list(csv.columns[:10]) == ["MES_RECEBIMENTO", "HOSPITAL", "REGIONAL", "TIPO_DESPESA", "SETOR_N1",
                                      "SETOR_N2", "TIPO_GRUPO", "TIPO_ATENDIMENTO", "CONVENIO", "TIPO_GLOSA"]
    assert {"GLOSA_ATUAL", "IND_GLOSA", "SALTO_VALOR", "SALTO_INDICE", "CLUSTER"} <= set(csv.columns)
    assert len(csv) == out["rows"] > 0


def test_segment_runs_gate_requires_every_segment_clustered_or_skipped_with_a_reason():
    from vigia.dq import validate
    from vigia.glosa.quality import segment_runs_suite

    good = pd.DataFrame({
        "segment_id": [0, 1, 2], "status": ["clustered", "skipped", "clustered"],
        "reason": [None, "poucos registros", None], "k": pd.array([3, None, 2], dtype="Int64"),
        "silhouette": [0.6, None, 0.4], "n_rows": [10, 2, 8], "rows_labelled": [10, 0, 8],
    })
    assert validate(good, segment_runs_suite(3)).success
    bad = good.assign(reason=[None, None, None], rows_labelled=[10, 0, 7])
    report = validate(bad, segment_runs_suite(4))
    text = report.message()
    assert "column reason: expect_column_values_to_not_be_null" in text
    assert "column n_rows/rows_labelled: expect_column_pair_values_to_be_equal" in text
    assert "table: expect_table_row_count_to_equal (value=4" in text and "observed 3" in text
