"""Monthly production cubes, computed in SQL.

The heavy work (scanning tens of millions of SIA rows) runs in DuckDB over the
staged Parquet files of one competência, through ``include/sql/sus/cube_production.sql``.
The result is the finest cube, establishment x municipality of residence x
target x month; the two coarser cubes the issue names (establishment x target x
month, municipality x target x month) are plain GROUP BYs of it
(:func:`by_establishment`, :func:`by_municipality`). pandas only ever sees
aggregated cubes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from vigia import sql as sqlfiles
from vigia.sus import targets as targets_mod
from vigia.sus.geo import UF_BY_CODE, ufs_of

CUBE_SQL = "sus/cube_production.sql"
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
               memory_limit: str = "4GB", threads: int | None = None) -> dict:
    """:func:`build_cube` written by DuckDB straight to the Parquet file ``path`` (same columns and rows,
    ``uf`` from the municipality's first two digits): the cube never goes through pandas.

    Returns ``{"cells", "targets"}``.
    """
    con = _open(production_files, targets, memory_limit, threads)
    try:
        sql = sqlfiles.to_driver(sqlfiles.load(CUBE_SQL), "duckdb")
        con.execute(f"CREATE TEMP TABLE cubo AS {sql}", {"competencia": competencia})
        con.sql("SELECT c.*, u.uf FROM cubo c LEFT JOIN ufs u ON u.codigo = substr(c.municipio, 1, 2) "
                "ORDER BY c.alvo, c.cnes, c.municipio").write_parquet(str(path))
        cells, n_targets = con.execute("SELECT count(*), count(DISTINCT alvo) FROM cubo").fetchone()
    finally:
        con.close()
    return {"cells": int(cells), "targets": int(n_targets)}


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
