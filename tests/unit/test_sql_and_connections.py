"""SQL files: bind variables, the Oracle dialect parses, both extract versions agree. Connection URIs."""

import re

import pytest
import sqlglot
from sqlglot import exp

from vigia import sql as sqlfiles
from vigia.connections import ConnectionConfigError, ConnectionSpec, default_uri
from vigia.glosa.contract import SOURCE_COLUMNS


def test_oracle_extract_parses_as_oracle_sql():
    text = sqlfiles.load("glosa/extract.oracle.sql")
    tree = sqlglot.parse_one(text, read="oracle")
    assert isinstance(tree, exp.Select)
    assert [t.sql(dialect="oracle") for t in tree.find_all(exp.Table)] == ["TASY.TB_GLOSA_APRIORI_RECENTE"]
    placeholders = {p.name for p in tree.find_all(exp.Placeholder)}
    assert placeholders == {"mes_inicio", "mes_fim", "hospital"}


def test_both_extract_versions_select_the_contract_columns_with_the_same_binds():
    for name, dialect in [("glosa/extract.oracle.sql", "oracle"), ("glosa/extract.sql", "duckdb")]:
        text = sqlfiles.load(name)
        tree = sqlglot.parse_one(text, read=dialect)
        assert [s.alias_or_name.upper() for s in tree.selects] == SOURCE_COLUMNS, name
        assert sqlfiles.bind_names(text) == ["mes_inicio", "mes_fim", "hospital"], name
    # values never reach the text: no string formatting slots
    assert not re.search(r"\{[a-z_]*\}", sqlfiles.load("glosa/extract.sql"))


def test_bind_variables_are_rewritten_per_driver_not_the_values():
    text = "SELECT x::int, '50%' AS p, ':not_a_bind' FROM t WHERE a = :a AND b = :b -- :comment\n AND c = :a"
    assert sqlfiles.to_driver(text, "duckdb") == (
        "SELECT x::int, '50%' AS p, ':not_a_bind' FROM t WHERE a = $a AND b = $b -- :comment\n AND c = $a")
    assert sqlfiles.to_driver(text, "postgres") == (
        "SELECT x::int, '50%%' AS p, ':not_a_bind' FROM t WHERE a = %(a)s AND b = %(b)s -- :comment\n AND c = %(a)s")
    assert sqlfiles.to_driver(text, "oracle") == text
    assert sqlfiles.bind_names(text) == ["a", "b"]
    with pytest.raises(KeyError, match="q.sql: bind variable.*b"):
        sqlfiles.check_params(text, {"a": 1}, "q.sql")


def test_connection_uris():
    d = ConnectionSpec.from_uri("warehouse", "duckdb:///srv/vigia/warehouse.duckdb")
    assert (d.kind, d.path) == ("duckdb", "/srv/vigia/warehouse.duckdb")
    # as `airflow connections export --serialization-format uri` writes it: the path quoted
    q = ConnectionSpec.from_uri("warehouse", "duckdb:///%2Fsrv%2Fvigia%2Fwarehouse.duckdb")
    assert q.path == "/srv/vigia/warehouse.duckdb"
    p = ConnectionSpec.from_uri("warehouse", "postgresql://bi:s%40cret@db.local:5433/dw?connect_timeout=3")
    assert (p.kind, p.host, p.port, p.login, p.password, p.database) == (
        "postgres", "db.local", 5433, "bi", "s@cret", "dw")
    assert "s@cret" not in repr(p) and "s@cret" not in p.describe()
    # the fields of an Airflow Connection parsed from duckdb:///abs/path keep the absolute path
    f = ConnectionSpec.from_fields("w", "duckdb", host="", schema="srv/vigia/warehouse.duckdb")
    assert f.path == "/srv/vigia/warehouse.duckdb"
    with pytest.raises(ConnectionConfigError, match="scheme 'mysql' is not supported"):
        ConnectionSpec.from_uri("warehouse", "mysql://x@y/z")
    with pytest.raises(ConnectionConfigError, match="needs a file"):
        ConnectionSpec.from_uri("warehouse", "duckdb://")


def test_embedded_defaults_live_in_the_data_folder(data_dir):
    assert default_uri("warehouse") == f"duckdb:///{(data_dir / 'warehouse.duckdb').as_posix().lstrip('/')}"
    assert ConnectionSpec.from_uri("glosa_source", default_uri("glosa_source")).path == str(
        data_dir / "sources" / "glosa.duckdb")
    assert default_uri("unknown") is None
