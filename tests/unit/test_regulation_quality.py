"""The regulation DQ gates: bad input is quarantined and counted, or stops the run with a clear message."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.regulation_sample import duckdb_uri, hand_tables, write_tables
from vigia import pseudonym
from vigia.connections import ConnectionSpec
from vigia.dq import DataQualityError
from vigia.dq.results import RunInfo
from vigia.regulation import quality
from vigia.regulation.features import build_features
from vigia.sample_data import regulation as sample

END = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 8, 0)
START = END - timedelta(days=300)
CUTOFF = END - timedelta(days=5)  # labels decided after it are left out of training


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch):
    monkeypatch.setenv(pseudonym.KEY_ENV, "regulation-test-key-0123456789")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("regulation") / "regulation.duckdb"
    sample.generate(out, beneficiaries=300, requests=3_000, end=END, seed=9)
    with duckdb.connect(str(out), read_only=True) as con:
        tables = {t: con.execute(f"SELECT * FROM {t}").df() for t in sample.TABLES}
    for col in ("periodicidade_dias", "idade_minima", "idade_maxima"):
        tables["procedimentos"][col] = tables["procedimentos"][col].astype("Int64")
    return out, tables


def _spec(path) -> ConnectionSpec:
    return ConnectionSpec.from_uri("regulation_source", duckdb_uri(path))


@pytest.fixture
def batch(generated):
    return build_features(_spec(generated[0]), START, CUTOFF)


# --- training batch ------------------------------------------------------------------------------
def test_a_clean_batch_passes_and_is_recorded(batch, warehouse):
    result = quality.gate_training(batch, CUTOFF, now=NOW)
    assert result.success, result.message()
    assert [r.suite for r in result.reports] == ["regulation_training", "regulation_training_balance"]
    # guias decided on or after the cutoff (requested just before it) are quarantined: label unknown then
    late = int((batch["data_decisao"] >= pd.Timestamp(CUTOFF)).sum())
    assert late > 0 and len(result.quarantined) == late and len(result.clean) == len(batch) - late
    assert list(result.clean.columns) == list(batch.columns)
    result.record(warehouse, RunInfo("regulation_model_retraining", "run_1", "dq_training", CUTOFF.isoformat()))
    rows = warehouse.query("SELECT suite, success, rows_quarantined FROM dq_results ORDER BY suite")
    assert rows.values.tolist() == [["regulation_training", True, late], ["regulation_training_balance", True, 0]]


def test_missing_labels_are_quarantined_within_tolerance(batch):
    bad = batch.copy()
    bad.loc[[3, 7], ["decisao", "autorizado"]] = [None, np.nan]
    result = quality.gate_training(bad, END, now=NOW)
    assert result.success
    assert sorted(result.quarantined["id_guia"]) == sorted(batch.loc[[3, 7], "id_guia"])
    assert result.quarantined.loc[0, "dq_reason"].startswith("decisao: expect_column_values_to_not_be_null")
    assert result.summary()["quarantined"] == 2


def test_missing_labels_beyond_tolerance_stop_the_run_with_the_column_named(batch):
    bad = batch.head(200).copy()
    bad.loc[:9, "decisao"] = None
    bad.loc[10:12, "decisao"] = "pendente"
    result = quality.gate_training(bad, END, now=NOW)
    with pytest.raises(DataQualityError) as err:
        result.raise_for_failure()
    lines = str(err.value).splitlines()
    assert lines[0] == "DQ gate 'regulation_training' failed: 2 of 48 expectations on 200 rows"
    assert "  - column decisao: expect_column_values_to_not_be_null (mostly=0.99) failed for 10 row(s) (5.00%); sample bad values: [None, None, None, None, None]" in lines
    assert ("  - column decisao: expect_column_values_to_be_in_set (mostly=0.99, value_set=['autorizado', 'negado']) "
            "failed for 3 row(s) (1.58%); sample bad values: ['pendente', 'pendente', 'pendente']") in lines


def test_unknown_procedure_codes_in_the_batch_are_named(batch):
    bad = batch.head(100).copy()
    bad.loc[:4, "codigo_procedimento"] = "99999999"
    bad.loc[:4, ["grupo", "nivel_complexidade"]] = [None, np.nan]
    message = quality.gate_training(bad, END, now=NOW).message()
    assert ("column codigo_procedimento_fora_do_catalogo: expect_column_values_to_be_null (mostly=0.99) failed "
            "for 5 row(s) (5.00%); sample bad values: ['99999999', '99999999', '99999999', '99999999', "
            "'99999999']") in message


def test_decision_before_request_and_dates_after_the_cutoff(batch):
    bad = batch.head(100).copy()
    bad.loc[[0, 4], "data_decisao"] = bad.loc[[0, 4], "data_solicitacao"] - pd.Timedelta(hours=1)
    bad.loc[1:3, "data_solicitacao"] = pd.Timestamp("2031-01-01 10:00")
    bad.loc[1:3, "data_decisao"] = pd.Timestamp("2031-01-01 11:00")
    message = quality.gate_training(bad, END, now=NOW).message()
    assert "column data_decisao/data_solicitacao: expect_column_pair_values_a_to_be_greater_than_b " \
           "(mostly=0.99, or_equal=True, ignore_row_if='either_value_is_missing') failed for 2 row(s) (2.00%)" in message
    assert "column data_solicitacao: expect_column_values_to_be_between (mostly=0.99, max_value=datetime.datetime" \
           "(2026, 11, 21, 0, 0), strict_max=True) failed for 3 row(s) (3.00%); sample bad values: " \
           "['2031-01-01 10:00:00', '2031-01-01 10:00:00', '2031-01-01 10:00:00']" in message


def test_class_balance_outside_the_bounds_fails(batch):
    clean = batch[batch["data_decisao"] < pd.Timestamp(CUTOFF)]
    lopsided = pd.concat([clean[clean["autorizado"] == 1]] * 3 + [clean[clean["autorizado"] == 0].head(40)],
                         ignore_index=True)
    lopsided["id_guia"] = np.arange(len(lopsided))
    result = quality.gate_training(lopsided, CUTOFF, now=NOW)
    assert result.reports[0].success and not result.success
    message = result.message()
    assert message.startswith("DQ gate 'regulation_training_balance' failed: 2 of 3 expectations on 2 rows")
    assert "column linhas: expect_column_values_to_be_between (min_value=100.0) failed for 1 row(s) (50.00%); " \
           "sample bad values: [40]" in message
    share = (len(lopsided) - 40) / len(lopsided)
    assert f"column share_autorizado: expect_column_values_to_be_between (min_value=0.5, max_value=0.97) " \
           f"failed for 2 row(s) (100.00%); sample bad values: [{share}, {share}]" in message


def test_a_single_class_batch_reports_zero_rows_for_the_other(batch):
    only = batch[batch["autorizado"] == 1].head(300)
    result = quality.gate_training(only, END, now=NOW)
    summary = quality.class_summary(result.clean)
    assert summary[["decisao", "linhas"]].values.tolist() == [["autorizado", 300], ["negado", 0]]
    assert not result.success


# --- source -------------------------------------------------------------------------------------
def test_the_generated_source_passes(generated):
    result = quality.gate_source(_spec(generated[0]), START, END, now=NOW)
    assert result.success, result.message()
    assert result.quarantined.empty and len(result.clean) > 2_000
    assert [r.suite for r in result.reports] == ["regulation_source_guias", "regulation_source_eventos",
                                                "regulation_source_beneficiarios", "regulation_source_procedimentos"]


def _with(tmp_path, tables, **changes) -> ConnectionSpec:
    return write_tables(duckdb_uri(tmp_path / "bad.duckdb"), {**tables, **changes})


def test_unknown_procedure_codes_are_quarantined_and_counted(generated, tmp_path):
    _, tables = generated
    g = tables["guias"].copy()
    recent = g.index[g["data_solicitacao"] >= pd.Timestamp(START)][:5]
    g.loc[recent, "codigo_procedimento"] = "99999999"
    result = quality.gate_source(_with(tmp_path, tables, guias=g), START, END, now=NOW)
    assert result.success
    assert sorted(result.quarantined_ids) == sorted(g.loc[recent, "id_guia"])
    assert set(result.quarantined["dq_reason"]) == {
        "codigo_procedimento_fora_do_catalogo: expect_column_values_to_be_null (mostly=0.99)"}
    rows = result.quarantine_rows("run_1")
    assert len(rows) == 5 and set(rows["suite"]) == {"regulation_source_guias"}
    raw_ids = set(g.loc[recent, "id_beneficiario"])
    assert not any(r in row for r in raw_ids for row in rows["row_json"])  # pseudonymised before the warehouse
    assert json.loads(rows.loc[0, "row_json"])["codigo_procedimento"] == "99999999"


def test_many_unknown_codes_stop_the_run_naming_table_column_and_codes(tmp_path):
    tables = hand_tables()
    tables["guias"].loc[0, "codigo_procedimento"] = "12345678"
    spec = _with(tmp_path, tables)
    result = quality.gate_source(spec, date(2025, 1, 1), date(2026, 3, 12), now=NOW)
    with pytest.raises(DataQualityError) as err:
        result.raise_for_failure()
    assert str(err.value) == (
        "DQ gate 'regulation_source_guias' failed: 1 of 8 expectations on 9 rows\n"
        "  - column codigo_procedimento_fora_do_catalogo: expect_column_values_to_be_null (mostly=0.99) failed "
        "for 1 row(s) (11.11%); sample bad values: ['12345678']\n"
        f"  table guias of source 'regulation_source' (duckdb file {spec.path}), requested since 2025-01-01")


def test_dates_in_the_future_are_refused(tmp_path):
    tables = hand_tables()
    ev = pd.concat([tables["eventos"], pd.DataFrame([("X", "40301630", date(2027, 1, 5), 8.0)],
                                                    columns=tables["eventos"].columns)], ignore_index=True)
    tables["beneficiarios"].loc[1, "data_nascimento"] = date(2030, 1, 1)
    tables["beneficiarios"].loc[1, "data_adesao"] = date(2030, 1, 1)
    tables["guias"].loc[8, ["data_solicitacao", "data_decisao"]] = [pd.Timestamp("2027-02-01 10:00"),
                                                                    pd.Timestamp("2027-02-01 11:00")]
    spec = _with(tmp_path, tables, eventos=ev)
    result = quality.gate_source(spec, date(2025, 1, 1), date(2026, 3, 12), now=NOW,
                                 eventos_after_cutoff="warn")
    message = result.message()
    assert ("column data_solicitacao: expect_column_values_to_be_between (mostly=0.99, "
            "max_value=datetime.datetime(2026, 11, 21, 8, 0)) failed for 1 row(s) (11.11%); "
            "sample bad values: ['2027-02-01 10:00:00']") in message
    assert ("column eventos_no_futuro: expect_column_values_to_be_between (max_value=0.0) failed for 1 row(s) "
            "(100.00%); sample bad values: [1]") in message
    assert "eventos_no_futuro: 1 evento(s), e.g. ['40301630@2027-01-05']" in message
    assert ("column data_nascimento: expect_column_values_to_be_between (mostly=0.99, "
            "max_value=datetime.datetime(2026, 11, 21, 0, 0)) failed for 1 row(s) (50.00%)") in message
    # the hand case's own events after the cutoff (2026-03-12) were only reported ('warn')
    assert "eventos_apos_corte: 1 evento(s)" in message and "column eventos_apos_corte" not in message


def test_events_after_the_cutoff_fail_by_default(generated):
    result = quality.gate_source(_spec(generated[0]), START, END - timedelta(days=30), now=NOW)
    failed = [f for r in result.reports for f in r.failures]
    assert [(f.column, f.expectation) for f in failed] == [("eventos_apos_corte", "expect_column_values_to_be_between")]
    eventos = pd.to_datetime(generated[1]["eventos"]["data_realizacao"])
    assert failed[0].examples == [int((eventos >= pd.Timestamp(END - timedelta(days=30))).sum())]


def test_catalogue_and_beneficiary_rules(tmp_path):
    tables = hand_tables()
    tables["procedimentos"].loc[1, ["idade_minima", "idade_maxima"]] = [60, 18]
    tables["procedimentos"] = pd.concat([tables["procedimentos"], tables["procedimentos"].head(1)], ignore_index=True)
    tables["beneficiarios"].loc[0, "sexo"] = "X"
    message = quality.gate_source(_with(tmp_path, tables), date(2025, 1, 1), date(2026, 3, 12), now=NOW,
                                  eventos_after_cutoff="warn").message()
    assert "column codigo_procedimento: expect_column_values_to_be_unique (no arguments) failed for 2 row(s) (50.00%); " \
           "sample bad values: ['40301630', '40301630']" in message
    assert "column idade_maxima/idade_minima: expect_column_pair_values_a_to_be_greater_than_b" in message
    assert "column sexo: expect_column_values_to_be_in_set (mostly=0.99, value_set=['M', 'F']) failed for " \
           "1 row(s) (50.00%); sample bad values: ['X']" in message


def test_the_source_gate_runs_on_postgres_with_the_same_findings(tmp_path, pg_uri):
    tables = hand_tables()
    tables["guias"].loc[0, "codigo_procedimento"] = "12345678"
    findings = {}
    for kind, uri in (("duckdb", duckdb_uri(tmp_path / "bad.duckdb")), ("postgres", pg_uri)):
        result = quality.gate_source(write_tables(uri, tables), date(2025, 1, 1), date(2026, 3, 12), now=NOW)
        findings[kind] = [(r.suite, f.column, f.unexpected_count, f.examples) for r in result.reports
                          for f in r.failures]
    assert findings["duckdb"] == findings["postgres"] == [
        ("regulation_source_guias", "codigo_procedimento_fora_do_catalogo", 1, ["12345678"]),
    ]
    # and the event counts (one event of the hand case falls after a cutoff of 2026-03-11)
    counts = {}
    for kind, uri in (("duckdb", duckdb_uri(tmp_path / "bad.duckdb")), ("postgres", pg_uri)):
        result = quality.gate_source(ConnectionSpec.from_uri("regulation_source", uri), date(2025, 1, 1),
                                     date(2026, 3, 11), now=NOW)
        counts[kind] = [(f.column, f.examples) for f in result.reports[1].failures]
    assert counts["duckdb"] == counts["postgres"] == [("eventos_apos_corte", [1])]


# --- the SQL-evaluated row-level rules give what great-expectations gave on the full rows ---------
def _row_level(spec, start, now, tolerance=quality.DEFAULT_TOLERANCE):
    """The former implementation: GX on the whole guias / beneficiarios extracts."""
    from vigia.dq import validate
    from vigia.regulation.features import naive_timestamps, pseudonymise_ids
    from vigia.sources import read_query

    guias = read_query(spec, "regulation/quality_guias.sql", {"inicio": start})
    guias.columns = [c.lower() for c in guias.columns]
    bens = read_query(spec, "regulation/quality_beneficiarios.sql", {})
    bens.columns = [c.lower() for c in bens.columns]
    bens = bens.sort_values("id_beneficiario", ignore_index=True)  # the SQL sample lists by id
    for frame, cols in ((guias, ["data_solicitacao", "data_decisao"]), (bens, ["data_nascimento", "data_adesao"])):
        for c in cols:
            frame[c] = naive_timestamps(frame[c])
    for col in ("id_beneficiario", "id_beneficiario_fora_do_cadastro"):
        guias[col] = pseudonymise_ids(guias[col]).where(guias[col].notna(), None)
    bens["id_beneficiario"] = pseudonymise_ids(bens["id_beneficiario"])
    return (guias, validate(guias, quality.guias_suite(now, now, tolerance)),
            validate(bens, quality.beneficiarios_suite(now.date(), tolerance)))


def _findings(report):
    def key(f):
        return (f.column, f.expectation, f.detail, f.unexpected_count,
                None if f.unexpected_percent is None else round(f.unexpected_percent, 9), [str(v) for v in f.examples])
    return (report.success, report.rows, report.evaluated,
            sorted(key(f) for f in report.failures), sorted(key(f) + (sorted(f.row_index),) for f in report.flagged))


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_sql_rules_match_great_expectations_on_the_rows_when_they_fail(kind, tmp_path, request):
    tables = hand_tables()
    g, b = tables["guias"], tables["beneficiarios"]
    g.loc[0, "codigo_procedimento"] = "12345678"
    g.loc[1, "id_beneficiario"] = "Z"                                  # not in the cadastro
    g.loc[2, "id_guia"] = 4                                            # id 4 twice
    g.loc[3, "decisao"] = "talvez"
    g.loc[4, "tipo_guia"] = "domiciliar"
    g.loc[5, "data_decisao"] = pd.Timestamp("2025-03-01 08:00")        # decided before requested
    g.loc[8, ["data_solicitacao", "data_decisao"]] = [pd.Timestamp("2027-02-01 10:00"), pd.Timestamp("2027-02-02")]
    b = pd.concat([b, b.iloc[[0]].assign(sexo="X", tipo_beneficiario="socio", data_nascimento=date(2030, 1, 1),
                                         data_adesao=date(2029, 1, 1))], ignore_index=True)  # X twice
    uri = duckdb_uri(tmp_path / "bad.duckdb") if kind == "duckdb" else request.getfixturevalue("pg_uri")
    spec = write_tables(uri, {**tables, "guias": g, "beneficiarios": b})
    result = quality.gate_source(spec, date(2025, 1, 1), date(2026, 3, 12), now=NOW, eventos_after_cutoff="warn")
    _, guias_rows, bens_rows = _row_level(spec, date(2025, 1, 1), NOW)
    g_report, _, b_report, _ = result.reports
    assert _findings(g_report) == _findings(guias_rows)
    assert _findings(b_report) == _findings(bens_rows)
    assert len(g_report.failures) == 8 and len(b_report.failures) == 6  # every rule broken
    assert {f.sentence() for f in g_report.failures} == {f.sentence() for f in guias_rows.failures}
    dup = next(f for f in g_report.failures if f.column == "id_guia")
    assert (dup.unexpected_count, dup.examples) == (2, [4, 4])


def test_sql_rules_quarantine_the_same_rows_as_great_expectations(generated, tmp_path):
    _, tables = generated
    g = tables["guias"].copy()
    recent = g.index[g["data_solicitacao"] >= pd.Timestamp(START)]
    g.loc[recent[3], "tipo_guia"] = "domiciliar"
    g.loc[recent[10], "decisao"] = "talvez"
    g.loc[recent[11], "id_beneficiario"] = "NINGUEM"
    g.loc[recent[12], "id_guia"] = g.loc[recent[20], "id_guia"]
    g.loc[recent[30], "data_decisao"] = g.loc[recent[30], "data_solicitacao"] - pd.Timedelta(hours=1)
    spec = _with(tmp_path, tables, guias=g)
    result = quality.gate_source(spec, START, END, now=NOW)
    extract, guias_rows, _ = _row_level(spec, START, NOW)
    assert result.success and guias_rows.success
    assert _findings(result.reports[0]) == _findings(guias_rows)
    clean, bad = quarantine_split(extract, guias_rows)
    pd.testing.assert_frame_equal(result.quarantined, bad)
    pd.testing.assert_frame_equal(result.clean, clean)
    assert len(result.quarantined) == 6  # both copies of the repeated id


def quarantine_split(frame, report):
    from vigia.dq import quarantine

    return quarantine.split(frame, report)


def test_sql_rule_value_sets_mirror_the_python_constants():
    from vigia.paths import SQL_DIR

    for name in ("quality_guias_regras", "quality_guias_violacoes"):
        text = (SQL_DIR / "regulation" / f"{name}.sql").read_text()
        assert "('autorizado', 'negado')" in text and "('consulta', 'sadt', 'internacao', 'odontologia')" in text
    assert quality.DECISOES == ("autorizado", "negado")
    assert quality.TIPOS_GUIA == ("consulta", "sadt", "internacao", "odontologia")
    for name in ("quality_beneficiarios_regras", "quality_beneficiarios_violacoes"):
        text = (SQL_DIR / "regulation" / f"{name}.sql").read_text()
        assert "('titular', 'dependente', 'agregado')" in text and "('M', 'F')" in text
    assert quality.TIPOS_BENEFICIARIO == ("titular", "dependente", "agregado")


def test_a_failed_source_gate_is_recorded_with_its_sql_findings(tmp_path, warehouse):
    tables = hand_tables()
    tables["guias"].loc[5, "data_decisao"] = pd.Timestamp("2025-03-01 08:00")  # decided before requested
    result = quality.gate_source(_with(tmp_path, tables), date(2025, 1, 1), date(2026, 3, 12), now=NOW,
                                 eventos_after_cutoff="warn")
    assert not result.success and result.quarantined.empty  # a failed suite quarantines nothing
    result.record(warehouse, RunInfo("regulation_model_retraining", "run_1", "dq_gates", "2026-03-12"))
    rows = warehouse.query("SELECT suite, success, rows_validated, expectations_failed FROM dq_results "
                           "WHERE suite = 'regulation_source_guias'")
    assert rows.values.tolist() == [["regulation_source_guias", False, 9, 1]]
    failure = result.reports[0].failures[0]
    assert (failure.column, failure.unexpected_count, round(failure.unexpected_percent, 2)) == \
        ("data_decisao/data_solicitacao", 1, 12.5)  # 8 rows have both dates (guia 7 is pending)
    assert failure.examples == [(np.datetime64("2025-03-01T08:00:00.000000"), np.datetime64("2025-03-09T23:00:00.000000"))]
