"""The regulation source contract: a mismatching database is reported by table and column."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from tests.regulation_sample import duckdb_uri, hand_tables, write_tables
from vigia.connections import ConnectionSpec
from vigia.regulation import source
from vigia.regulation.features import build_features
from vigia.sources import SourceError


def test_the_source_ddl_matches_the_contract(tmp_path):
    spec = write_tables(duckdb_uri(tmp_path / "s.duckdb"), hand_tables())
    source.check(spec)  # does not raise
    cols = source.read_columns(spec)
    assert source.has_column(cols, "guias", "cid")
    assert sorted(cols["table_name"].unique()) == ["beneficiarios", "eventos", "guias", "procedimentos"]


def test_the_contract_holds_on_postgres_too(pg_uri):
    spec = write_tables(pg_uri, hand_tables())
    source.check(spec)
    assert source.problems(source.read_columns(spec)) == []


def _mutated(tmp_path, sql: str) -> ConnectionSpec:
    spec = write_tables(duckdb_uri(tmp_path / "s.duckdb"), hand_tables())
    with duckdb.connect(spec.path) as con:
        con.execute(sql)
    return spec


def test_a_missing_column_is_named_with_its_table(tmp_path):
    spec = _mutated(tmp_path, "ALTER TABLE procedimentos DROP COLUMN carencia_dias")
    with pytest.raises(source.RegulationContractError) as err:
        source.check(spec)
    assert str(err.value) == (
        f"source 'regulation_source' (duckdb file {spec.path}) does not match the regulation contract:\n"
        "  - table procedimentos: missing column(s) carencia_dias\n"
        "(see docs/regulation_source.md; a plan can map its tables with views of these names)")


def test_a_mistyped_column_and_a_missing_table_are_named(tmp_path):
    spec = _mutated(tmp_path, "DROP TABLE eventos; ALTER TABLE guias DROP COLUMN data_solicitacao; "
                              "ALTER TABLE guias ADD COLUMN data_solicitacao VARCHAR")
    with pytest.raises(source.RegulationContractError) as err:
        source.check(spec)
    lines = str(err.value).splitlines()
    assert "  - table eventos is missing; expected columns id_beneficiario, codigo_procedimento, " \
           "data_realizacao, valor" in lines
    assert "  - table guias: column data_solicitacao has type VARCHAR; expected timestamp" in lines


def test_views_with_the_contract_names_are_accepted(tmp_path):
    """A plan maps its own tables with views: the check reads views like tables."""
    spec = write_tables(duckdb_uri(tmp_path / "s.duckdb"), hand_tables())
    with duckdb.connect(spec.path) as con:
        con.execute("ALTER TABLE eventos RENAME TO historico_plano")
        con.execute("CREATE VIEW eventos AS SELECT id_beneficiario, codigo_procedimento, data_realizacao, "
                    "CAST(valor AS DECIMAL(12, 2)) AS valor FROM historico_plano")
    source.check(spec)


def test_build_features_reports_the_contract_before_querying(tmp_path):
    spec = _mutated(tmp_path, "ALTER TABLE beneficiarios DROP COLUMN data_adesao")
    with pytest.raises(source.RegulationContractError, match="table beneficiarios: missing column\\(s\\) data_adesao"):
        build_features(spec, "2026-03-01", "2026-03-12")


def test_a_missing_duckdb_file_says_how_to_create_it(tmp_path):
    spec = ConnectionSpec.from_uri("regulation_source", duckdb_uri(tmp_path / "none.duckdb"))
    with pytest.raises(SourceError, match="python -m vigia.sample_data regulation"):
        source.check(spec)


def test_type_families_accept_postgres_names_and_refuse_others():
    pg_names = {"identifier": "character varying", "text": "text", "integer": "bigint",
                "number": "numeric", "date": "date", "timestamp": "timestamp without time zone",
                "boolean": "boolean"}
    rows = [(t, c.name, pg_names[c.family]) for t, cols in source.CONTRACT.items() for c in cols]
    frame = pd.DataFrame(rows, columns=["table_name", "column_name", "data_type"])
    assert source.problems(frame) == []
    frame.loc[frame["column_name"] == "especial", "data_type"] = "integer"
    frame = frame[frame["column_name"] != "cid"]  # optional: its absence is fine
    assert source.problems(frame) == ["table procedimentos: column especial has type INTEGER; expected boolean"]
