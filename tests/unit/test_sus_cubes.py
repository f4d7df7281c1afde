"""The cube SQL: targets matched by SIGTAP prefix and age, the same result on DuckDB and PostgreSQL."""

from datetime import date

import pandas as pd

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
