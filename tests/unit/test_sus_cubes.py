"""The cube SQL: targets matched by SIGTAP prefix and age, the same result on DuckDB and PostgreSQL."""

from datetime import date

import pandas as pd
import pytest

from vigia import sql as sqlfiles
from vigia.sus import cubes
from vigia.sus import targets as targets_mod

JUN = date(2016, 6, 1)


def production():
    rows = [
        # competencia, sistema, cnes, procedimento, municipio, idade, quantidade, valor, n_aih
        (JUN, "SIA", "7334710", "0204030188", "120020", 45, 3.0, 135.0, None),   # SIA-020403
        (JUN, "SIA", "7334710", "0204030030", "120020", 52, 2.0, 90.0, None),    # same cell
        (JUN, "SIA", "7334710", "0204030030", "120040", 52, 1.0, 45.0, None),    # other municipality
        (JUN, "SIA", "2002043", "0304020010", "120020", 12, 5.0, 500.0, None),   # SIA-030402 needs 18+
        (JUN, "SIA", "2002043", "0304020010", "120020", 30, 4.0, 400.0, None),   # matched
        (JUN, "SIA", "2002043", "0101010010", "120020", 30, 9.0, 9.0, None),     # no target
        (JUN, "SIH", "2000865", "0303030038", "120050", 82, 1.0, 456.8, "1216100246230"),
        (JUN, "SIH", "2000865", "0303030038", "120050", 70, 1.0, 300.0, "1216100246231"),
        (date(2016, 5, 1), "SIA", "7334710", "0204030188", "120020", 45, 7.0, 1.0, None),  # other month
    ]
    return pd.DataFrame(rows, columns=cubes.PRODUCTION_COLUMNS)


EXPECTED = [
    # alvo, cnes, municipio, quantidade, valor, n_aih
    ("SIA-020403", "7334710", "120020", 5.0, 225.0, 0),
    ("SIA-020403", "7334710", "120040", 1.0, 45.0, 0),
    ("SIA-030402", "2002043", "120020", 4.0, 400.0, 0),
    ("SIH-030303", "2000865", "120050", 2.0, 756.8, 2),
]


def as_tuples(cube):
    return [(r.alvo, r.cnes, r.municipio, r.quantidade, round(r.valor, 2), int(r.n_aih))
            for r in cube.itertuples()]


def test_cube_on_duckdb_over_parquet(tmp_path):
    path = tmp_path / "producao.parquet"
    production().to_parquet(path, index=False)
    cube = cubes.build_cube([path], JUN, targets_mod.load())
    assert as_tuples(cube) == EXPECTED
    assert set(cube["uf"]) == {"AC"} and set(cube["alvo_versao"]) == {1}
    est = cubes.by_establishment(cube)
    assert est.loc[est["cnes"] == "7334710", "quantidade"].item() == 6.0
    mun = cubes.by_municipality(cube)
    assert mun.loc[(mun["municipio"] == "120020") & (mun["alvo"] == "SIA-020403"), "valor"].item() == 225.0


def test_the_same_sql_runs_on_postgresql(pg_uri):
    import psycopg2

    from vigia.connections import ConnectionSpec

    s = ConnectionSpec.from_uri("pg", pg_uri)
    con = psycopg2.connect(host=s.host, port=s.port, user=s.login, dbname=s.database)
    try:
        with con.cursor() as cur:
            cur.execute("CREATE TEMP TABLE producao (competencia DATE, sistema VARCHAR, cnes VARCHAR, "
                        "procedimento VARCHAR, municipio_residencia VARCHAR, idade INTEGER, "
                        "quantidade DOUBLE PRECISION, valor DOUBLE PRECISION, n_aih VARCHAR)")
            cur.executemany("INSERT INTO producao VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                            [tuple(None if pd.isna(v) else v for v in r)
                             for r in production().itertuples(index=False)])
            cur.execute("CREATE TEMP TABLE alvos_codigos (alvo VARCHAR, versao INTEGER, sistema VARCHAR, "
                        "prefixo VARCHAR, comprimento INTEGER, idade_min INTEGER, idade_max INTEGER)")
            codes = targets_mod.expand_codes(targets_mod.load())
            cur.executemany("INSERT INTO alvos_codigos VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            [tuple(None if pd.isna(v) else getattr(v, "item", lambda: v)() for v in r)
                             for r in codes.itertuples(index=False)])
            cur.execute(sqlfiles.to_driver(sqlfiles.load(cubes.CUBE_SQL), "postgres"), {"competencia": JUN})
            names = [d[0] for d in cur.description]
            cube = pd.DataFrame(cur.fetchall(), columns=names)
    finally:
        con.close()
    assert as_tuples(cube) == EXPECTED


def test_write_cube_writes_the_coarse_cubes_as_sums_of_the_finest(tmp_path):
    path = tmp_path / "producao.parquet"
    production().to_parquet(path, index=False)
    out = cubes.write_cube([path], JUN, targets_mod.load(), tmp_path / "cube.parquet",
                           coarse={name: tmp_path / f"{name}.parquet" for name in cubes.COARSE_SQL})
    assert out == {"cells": 4, "targets": 3, "by_establishment": 3, "by_municipality": 4}
    cube = pd.read_parquet(tmp_path / "cube.parquet")
    assert as_tuples(cube) == EXPECTED
    est = pd.read_parquet(tmp_path / "by_establishment.parquet")
    assert list(est.columns) == ["competencia", "cnes", "alvo", "alvo_versao", "sistema", "quantidade", "valor",
                                 "n_aih"]
    assert [(r.alvo, r.cnes, r.quantidade, round(r.valor, 2), r.n_aih) for r in est.itertuples()] == [
        ("SIA-020403", "7334710", 6.0, 270.0, 0), ("SIA-030402", "2002043", 4.0, 400.0, 0),
        ("SIH-030303", "2000865", 2.0, 756.8, 2)]
    mun = pd.read_parquet(tmp_path / "by_municipality.parquet")
    assert [(r.alvo, r.municipio, r.uf, r.quantidade) for r in mun.itertuples()] == [
        ("SIA-020403", "120020", "AC", 5.0), ("SIA-020403", "120040", "AC", 1.0),
        ("SIA-030402", "120020", "AC", 4.0), ("SIH-030303", "120050", "AC", 2.0)]
    # the pandas sums of the same cube agree, and coarse_cubes (for cubes drawn in pandas) gives the same
    keys = ["cnes", "alvo"]
    pd.testing.assert_frame_equal(
        est[keys + ["quantidade", "valor"]].sort_values(keys).reset_index(drop=True),
        cubes.by_establishment(cube)[keys + ["quantidade", "valor"]].sort_values(keys).reset_index(drop=True),
        check_dtype=False)
    again = cubes.coarse_cubes(cube, JUN)
    pd.testing.assert_frame_equal(again["by_municipality"][["municipio", "uf", "alvo", "quantidade", "n_aih"]],
                                  mun[["municipio", "uf", "alvo", "quantidade", "n_aih"]], check_dtype=False)


def test_write_cube_refuses_an_unknown_coarse_cube(tmp_path):
    with pytest.raises(ValueError, match=r"unknown coarse cube\(s\) \['by_uf'\]; expected some of "
                                         r"\['by_establishment', 'by_municipality'\]"):
        cubes.write_cube([], JUN, targets_mod.load(), tmp_path / "cube.parquet", coarse={"by_uf": tmp_path / "x"})


def test_ensure_coarse_cubes_derives_missing_and_stale_months_only(warehouse, tmp_path, caplog):
    """A finest cube published alone (an earlier version's warehouse) gets its coarse cubes summed in the
    warehouse; republished by another run, they are summed again; otherwise nothing is written."""
    from vigia.warehouse import PartitionWrite

    path = tmp_path / "producao.parquet"
    production().to_parquet(path, index=False)
    cube = cubes.build_cube([path], JUN, targets_mod.load())

    def publish_finest(run_id, factor=1.0):
        warehouse.replace_partitions([PartitionWrite(cubes.CUBE_TABLE, {"competencia": JUN}, cube.drop(
            columns="competencia").assign(quantidade=cube["quantidade"] * factor, run_id=run_id))])

    def coarse(table):
        return warehouse.query(f"SELECT * FROM {table} ORDER BY alvo, 2")  # table: a constant name

    publish_finest("first")
    assert cubes.ensure_coarse_cubes(warehouse, date(2016, 1, 1), JUN) == [JUN]
    est = coarse("sus_production_by_establishment")
    assert list(est["quantidade"]) == [6.0, 4.0, 2.0] and set(est["run_id"]) == {"first"}
    assert list(coarse("sus_production_by_municipality")["quantidade"]) == [5.0, 1.0, 4.0, 2.0]

    caplog.clear()
    assert cubes.ensure_coarse_cubes(warehouse, date(2016, 1, 1), JUN) == [JUN]
    assert "deriving" not in caplog.text  # up to date: nothing written

    publish_finest("second", factor=10.0)  # the finest cube alone again, by another run
    assert cubes.ensure_coarse_cubes(warehouse, date(2016, 1, 1), JUN) == [JUN]
    est = coarse("sus_production_by_establishment")
    assert list(est["quantidade"]) == [60.0, 40.0, 20.0] and set(est["run_id"]) == {"second"}
    assert len(coarse("sus_production_by_municipality")) == 4  # replaced, not appended
    assert cubes.ensure_coarse_cubes(warehouse, date(2017, 1, 1), date(2017, 6, 1)) == []  # no cube there
