"""SIA PA staging in DuckDB: every distinct value checked once, every row read once.

A national SIA month is ~50M rows, but its code columns hold few distinct values (thousands of
CNES, 5,570 municipalities, a few hundred procedures, ~100 ages, a handful of competências). So the
checks and the normalisation of ``datasus.code_problems`` run on the distinct values of each column
(the dictionaries, ``include/sql/sus/dicionario_codigo.sql``, ``sia_dicionario_idade.sql``,
``sia_dicionario_competencia.sql``), and the one pass over the rows (``stage_sia.sql``) only joins
each row to its dictionaries and sums it into its group:

* a good row is summed to the grain the cube needs (file and competência, CNES, procedure cut to the
  longest target prefix, municipality of residence, age band: :func:`ingest_sql.prefix_length`,
  :func:`ingest_sql.age_bands`), which leaves the cube unchanged;
* a bad row (a code that fails its dictionary's check, a missing or negative quantity or value, a
  competência outside the processing window) stays one row with its row number and the message of
  ``datasus.code_problems``; with ``linha_a_linha`` every row does (the row-level view the tests
  compare with the pandas reader).

The result is the temporary table ``passagem`` with the columns of ``PASSAGEM`` (the same the SIH
staging produces with ``stage_sih.sql``), from which :func:`ingest_sql.ingest_competencia`
writes the staged production, the quarantine and the per-file counts.
"""

from __future__ import annotations

from datetime import date

from vigia import sql as sqlfiles
from vigia.sus import datasus
from vigia.sus.parquet_sources import _q, file_groups, number_expr, read_group, register_arquivos, text_expr

STAGE_SQL = "sus/stage_sia.sql"
# dictionary table, alias of the raw column in `bruto`, source column, its name in messages, digits
CODES = (
    ("dic_cnes", "cnes_bruto", "PA_CODUNI", "cnes", 7),
    ("dic_procedimento", "proc_bruto", "PA_PROC_ID", "procedimento", 10),
    ("dic_municipio_residencia", "munres_bruto", "PA_MUNPCN", "municipio_residencia", 6),
    ("dic_municipio_estabelecimento", "munest_bruto", "PA_UFMUN", "municipio_estabelecimento", 6),
)
RAW = {"PA_CODUNI": "cnes_bruto", "PA_CMP": "cmp_bruto", "PA_MVM": "mvm_bruto", "PA_PROC_ID": "proc_bruto",
       "PA_MUNPCN": "munres_bruto", "PA_UFMUN": "munest_bruto", "PA_IDADE": "idade_bruto"}
NUMBERS = {"PA_QTDAPR": "quantidade", "PA_VALAPR": "valor"}
# the staging table, shared with the SIH staging (stage_sih.sql)
PASSAGEM = ("arquivo VARCHAR, uf VARCHAR, competencia DATE, sistema VARCHAR, cnes VARCHAR, procedimento VARCHAR, "
            "municipio_residencia VARCHAR, idade INTEGER, linha BIGINT, problema VARCHAR, linhas BIGINT, "
            "quantidade DOUBLE, valor DOUBLE, n_aih VARCHAR, municipio_estabelecimento VARCHAR, "
            "mes_processamento DATE")


def register_age_bands(con, bands: list[tuple[int, int]]) -> None:
    """The ``faixas_idade`` table (idade, faixa) of :func:`ingest_sql.age_bands`."""
    con.execute("CREATE OR REPLACE TEMP TABLE faixas_idade (idade INTEGER, faixa INTEGER)")
    con.executemany("INSERT INTO faixas_idade VALUES (?, ?)", [list(b) for b in bands])


def _register_bruto(con, key: tuple, paths: list[str]) -> dict[str, tuple[str, str]]:
    """The ``bruto`` view of one group of files: arquivo_id (DuckDB's file_index: an integer is a cheaper
    key than the file name), filename, linha, the raw columns as stored, renamed to RAW's aliases, and
    quantidade/valor as DOUBLE. Returns source column -> (alias, DuckDB type as stored)."""
    exprs, types = ["file_index AS arquivo_id", "filename", "file_row_number AS linha"], {}
    for column, name, dtype in key:
        if column in RAW:
            alias = RAW[column]
            exprs.append(f"CAST(NULL AS VARCHAR) AS {alias}" if name is None else f"{_q(name)} AS {alias}")
            types[column] = (alias, "VARCHAR" if name is None else dtype)
        elif column in NUMBERS:
            exprs.append(f"{number_expr(name, dtype)} AS {NUMBERS[column]}")
    read_group(con, paths).project(", ".join(exprs)).create_view("bruto", replace=True)
    return types


def _text(types: dict, column: str) -> str:
    alias, dtype = types[column]
    return text_expr(alias, dtype, datasus.CODE_WIDTHS.get(column))


def _register_dictionaries(con, types: dict, competencia: date, prefix: int) -> None:
    """The dictionaries of one group's ``bruto``: one small DISTINCT per column, checked once."""
    code_sql = sqlfiles.to_driver(sqlfiles.load("sus/dicionario_codigo.sql"), "duckdb")
    for table, alias, column, label, digits in CODES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE valores AS SELECT {alias} AS bruto, "
                    f"{_text(types, column)} AS texto FROM (SELECT DISTINCT {alias} FROM bruto)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {code_sql}",
                    {"coluna": label, "digitos": digits,
                     "comprimento": prefix if table == "dic_procedimento" else digits})
    alias, dtype = types["PA_IDADE"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE valores AS SELECT {alias} AS bruto, "
                f"{number_expr(alias, dtype)} AS numero FROM (SELECT DISTINCT {alias} FROM bruto)")
    con.execute("CREATE OR REPLACE TEMP TABLE dic_idade AS "
                + sqlfiles.to_driver(sqlfiles.load("sus/sia_dicionario_idade.sql"), "duckdb"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE valores AS SELECT arquivo_id, filename, cmp_bruto, mvm_bruto, "
                f"{_text(types, 'PA_CMP')} AS cmp, {_text(types, 'PA_MVM')} AS mvm FROM ("
                f"SELECT arquivo_id, any_value(filename) AS filename, cmp_bruto, mvm_bruto FROM bruto GROUP BY ALL)")
    con.execute("CREATE OR REPLACE TEMP TABLE dic_competencia AS "
                + sqlfiles.to_driver(sqlfiles.load("sus/sia_dicionario_competencia.sql"), "duckdb"),
                {"competencia": competencia, "atraso": datasus.MAX_DELAY_MONTHS["SIA"]})
    con.execute("DROP TABLE valores")


def stage(con, files: list[datasus.DatasusFile], competencia: date, prefix: int, bands: list[tuple[int, int]],
          linha_a_linha: bool = False) -> None:
    """Fill the temporary table ``passagem`` with the SIA ``files``' rows of ``competencia`` (see module doc).

    ``prefix``: digits of the procedure the good rows keep; ``bands``: (idade, faixa) of the age bands.
    """
    register_age_bands(con, bands)
    register_arquivos(con, files)
    con.execute(f"CREATE OR REPLACE TEMP TABLE passagem ({PASSAGEM})")
    stage_sql = sqlfiles.to_driver(sqlfiles.load(STAGE_SQL), "duckdb")
    for key, paths in file_groups(con, "SIA", files).items():
        types = _register_bruto(con, key, paths)
        _register_dictionaries(con, types, competencia, prefix)
        con.execute(f"INSERT INTO passagem BY NAME {stage_sql}", {"linha_a_linha": bool(linha_a_linha)})


__all__ = ["CODES", "PASSAGEM", "RAW", "STAGE_SQL", "register_age_bands", "stage"]
