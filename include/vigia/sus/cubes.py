"""Monthly production cubes, computed in SQL.

The heavy work (scanning tens of millions of SIA rows) runs in DuckDB over the
staged Parquet files of one competência, through ``include/sql/sus/cube_production.sql``.
The result is the finest cube, establishment x municipality of residence x
target x month; the two coarser cubes the issue names (establishment x target x
month, municipality x target x month) are its sums (``include/sql/sus/cube_by_*.sql``;
in pandas :func:`by_establishment`, :func:`by_municipality`), written next to it by
:func:`write_cube` and published with it, so that the score step reads 13 months of
them instead of grouping 13 months of the finest cube. pandas only ever sees
aggregated cubes.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.sus import targets as targets_mod
from vigia.sus.geo import UF_BY_CODE, ufs_of
from vigia.warehouse import PartitionWrite

log = logging.getLogger(__name__)

CUBE_SQL = "sus/cube_production.sql"
CUBE_TABLE = "sus_production_monthly"  # the finest cube in the warehouse
# the coarser cubes: their warehouse tables, and the SQL that sums each from the finest one (a table or
# view named sus_production_monthly)
COARSE_TABLES = {"by_establishment": "sus_production_by_establishment",
                 "by_municipality": "sus_production_by_municipality"}
COARSE_SQL = {"by_establishment": "sus/cube_by_establishment.sql",
              "by_municipality": "sus/cube_by_municipality.sql"}
PRODUCTION_COLUMNS = ["competencia", "sistema", "cnes", "procedimento", "municipio_residencia", "idade",
                      "quantidade", "valor", "n_aih"]


def _open(production_files: list[Path | str], targets: pd.DataFrame, memory_limit: str, threads: int | None):
    """An in-memory DuckDB with the views the cube SQL reads: producao, alvos_codigos and ufs."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, **({"threads": threads} if threads else {})})
    files = [str(f) for f in production_files]
    con.read_parquet(files, union_by_name=True).project(", ".join(PRODUCTION_COLUMNS)).create_view("producao")
    con.register("alvos_codigos", targets_mod.expand_codes(targets))
    con.register("ufs", pd.DataFrame(sorted(UF_BY_CODE.items()), columns=["codigo", "uf"]))
    return con


def build_cube(production_files: list[Path | str], competencia: date, targets: pd.DataFrame,
               memory_limit: str = "4GB", threads: int | None = None) -> pd.DataFrame:
    """Run the cube SQL over Parquet files of normalised production in an in-memory DuckDB."""
    con = _open(production_files, targets, memory_limit, threads)
    try:
        sql = sqlfiles.to_driver(sqlfiles.load(CUBE_SQL), "duckdb")
        cube = con.execute(sql, {"competencia": competencia}).df()
    finally:
        con.close()
    return with_uf(cube)


def write_cube(production_files: list[Path | str], competencia: date, targets: pd.DataFrame, path: Path | str,
               memory_limit: str = "4GB", threads: int | None = None,
               coarse: dict[str, Path | str] | None = None) -> dict:
    """:func:`build_cube` written by DuckDB straight to the Parquet file ``path`` (same columns and rows,
    ``uf`` from the municipality's first two digits): the cube never goes through pandas.

    ``coarse``: ``{"by_establishment": path, "by_municipality": path}`` (either or both) also writes
    the coarser cubes of :data:`COARSE_SQL`, summed from the finest one in the same DuckDB.

    Returns ``{"cells", "targets"}`` and, per coarse cube written, its rows (e.g. ``"by_establishment"``).
    """
    unknown = sorted(set(coarse or {}) - set(COARSE_SQL))
    if unknown:
        raise ValueError(f"unknown coarse cube(s) {unknown}; expected some of {sorted(COARSE_SQL)}")
    con = _open(production_files, targets, memory_limit, threads)
    try:
        sql = sqlfiles.to_driver(sqlfiles.load(CUBE_SQL), "duckdb")
        # the finest cube, materialised once under the warehouse table's name (the coarse SQL reads it)
        con.execute(f"CREATE TEMP TABLE sus_production_monthly AS SELECT c.*, u.uf FROM ({sql}) c "
                    "LEFT JOIN ufs u ON u.codigo = substr(c.municipio, 1, 2)", {"competencia": competencia})
        con.sql("SELECT * FROM sus_production_monthly ORDER BY alvo, cnes, municipio").write_parquet(str(path))
        cells, n_targets = con.execute("SELECT count(*), count(DISTINCT alvo) FROM sus_production_monthly").fetchone()
        out = {"cells": int(cells), "targets": int(n_targets)}
        for name, target in (coarse or {}).items():
            con.execute(f"CREATE TEMP TABLE {name} AS {_coarse_sql(name)}", {"competencia": competencia})
            con.table(name).write_parquet(str(target))
            out[name] = int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
    finally:
        con.close()
    return out


def _coarse_sql(name: str) -> str:
    return sqlfiles.to_driver(sqlfiles.load(COARSE_SQL[name]), "duckdb")


def coarse_cubes(cube: pd.DataFrame, competencia: date) -> dict[str, pd.DataFrame]:
    """The coarser cubes of one competência's finest ``cube`` (the columns of ``sus_production_monthly``
    without run_id), by the same SQL as :func:`write_cube`, in an in-memory DuckDB: for cubes drawn in
    pandas (the sample generator's prior months)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("sus_production_monthly", cube)
        return {name: con.sql(_coarse_sql(name), params={"competencia": competencia}).df()
                for name in COARSE_SQL}
    finally:
        con.close()


def with_uf(cube: pd.DataFrame) -> pd.DataFrame:
    cube = cube.copy()
    cube["uf"] = ufs_of(cube["municipio"]).to_numpy()
    cube["competencia"] = pd.to_datetime(cube["competencia"]).dt.date
    cube["n_aih"] = cube["n_aih"].astype("int64")
    return cube


def by_establishment(cube: pd.DataFrame) -> pd.DataFrame:
    """establishment x target x month."""
    return (cube.groupby(["competencia", "cnes", "alvo", "sistema"], as_index=False)
            [["quantidade", "valor", "n_aih"]].sum())


def by_municipality(cube: pd.DataFrame) -> pd.DataFrame:
    """municipality of residence x target x month."""
    return (cube.groupby(["competencia", "municipio", "uf", "alvo", "sistema"], as_index=False)
            [["quantidade", "valor", "n_aih"]].sum())


def ensure_coarse_cubes(warehouse, inicio: date, fim: date) -> list[date]:
    """The competências from ``inicio`` to ``fim`` with a finest cube; on the way, derives the coarser
    cubes of those that lack them, or whose coarse cubes are of another run than their finest one (a
    warehouse written by an earlier version, or a finest cube published alone): each month is summed
    in the warehouse (``include/sql/sus/cube_by_*.sql``) and written with the finest cube's run id, one
    transaction per month. The score step reads the coarse cubes, so they must match the finest one."""
    with warehouse.session():  # one connection for the checks (~35 ms each to open on a large DuckDB file)
        have = all(warehouse.table_exists(t) for t in COARSE_TABLES.values())
        got = warehouse.query_file("sus/cube_coverage.sql" if have else "sus/cube_runs.sql",
                                   {"inicio": inicio, "fim": fim})
    months = []
    for row in got.itertuples(index=False):
        month = pd.Timestamp(row.competencia).date()
        months.append(month)
        if have and row.run_id_estabelecimento == row.run_id and row.run_id_municipio == row.run_id:
            continue
        log.warning("competência %s: deriving its coarse cubes from the finest one (run %s)", month, row.run_id)
        warehouse.replace_partitions([
            PartitionWrite(table, {"competencia": month},
                           warehouse.query_file(COARSE_SQL[name], {"competencia": month})
                           .drop(columns="competencia").assign(run_id=row.run_id))
            for name, table in COARSE_TABLES.items()])
    return months
