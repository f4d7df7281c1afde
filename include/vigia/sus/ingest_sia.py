"""SIA PA staging in DuckDB: every distinct value checked once, every row read once.

A national SIA month is ~50M rows, but its code columns hold few distinct values (thousands of
CNES, 5,570 municipalities, a few hundred procedures, ~100 ages, a handful of competências). So the
checks and the normalisation of ``datasus.code_problems`` run on the distinct values of each column
(the dictionaries of :mod:`vigia.sus.dictionaries`: ``include/sql/sus/dicionario_codigo.sql``,
``sia_dicionario_idade.sql``, ``sia_dicionario_competencia.sql``), and the one pass over the rows
(``stage_sia.sql``) only joins each row to its dictionaries and sums it into its group:

* a good row is summed to the grain the cube needs (file and competência, CNES, procedure cut to the
  longest target prefix, municipality of residence, age band: :func:`ingest_sql.prefix_length`,
  :func:`ingest_sql.age_bands`), which leaves the cube unchanged;
* a bad row (a code that fails its dictionary's check, a missing or negative quantity or value, a
  competência outside the processing window) stays one row with its row number and the message of
  ``datasus.code_problems``; with ``linha_a_linha`` every row does (the row-level view the tests
  compare with the pandas reader).

The result is the temporary table ``passagem_linhas`` behind the view ``passagem``
(:data:`vigia.sus.dictionaries.PASSAGEM`, the same the SIH staging gives), from which
:func:`ingest_sql.ingest_competencia` writes the staged production, the quarantine and the per-file
counts. Unlike SIH's, this result is kept in a table: it is the work of the pass (the sums), and far
smaller than the landed rows.
"""

from __future__ import annotations

from datetime import date

from vigia import sql as sqlfiles
from vigia.sus import datasus
from vigia.sus.dictionaries import (create_passagem, number_of, register_bruto, register_codes, register_dictionary,
                                    text_of)
from vigia.sus.parquet_sources import file_groups, register_arquivos

STAGE_SQL = "sus/stage_sia.sql"
# dictionary table, source column, its name in messages, digits
CODES = (
    ("dic_cnes", "PA_CODUNI", "cnes", 7),
    ("dic_procedimento", "PA_PROC_ID", "procedimento", 10),
    ("dic_municipio_residencia", "PA_MUNPCN", "municipio_residencia", 6),
    ("dic_municipio_estabelecimento", "PA_UFMUN", "municipio_estabelecimento", 6),
)
RAW = {"PA_CODUNI": "cnes_bruto", "PA_CMP": "cmp_bruto", "PA_MVM": "mvm_bruto", "PA_PROC_ID": "proc_bruto",
       "PA_MUNPCN": "munres_bruto", "PA_UFMUN": "munest_bruto", "PA_IDADE": "idade_bruto"}
NUMBERS = {"PA_QTDAPR": "quantidade", "PA_VALAPR": "valor"}


def register_age_bands(con, bands: list[tuple[int, int]]) -> None:
    """The ``faixas_idade`` table (idade, faixa) of :func:`ingest_sql.age_bands`."""
    con.execute("CREATE OR REPLACE TEMP TABLE faixas_idade AS "
                "SELECT unnest(?::INTEGER[]) AS idade, unnest(?::INTEGER[]) AS faixa",
                [[int(a) for a, _ in bands], [int(f) for _, f in bands]])  # one statement: executemany took ~50 ms


def _register_dictionaries(con, types: dict, competencia: date, prefix: int) -> None:
    """The dictionaries of one group's ``bruto``: one small DISTINCT per column, checked once."""
    register_codes(con, types, CODES, chave={"dic_procedimento": prefix})
    register_dictionary(con, "dic_idade", ["idade_bruto"], {"numero": number_of(types, "PA_IDADE")},
                        "sus/sia_dicionario_idade.sql")
    register_dictionary(con, "dic_competencia", ["arquivo_id", "cmp_bruto", "mvm_bruto"],
                        {"cmp": text_of(types, "PA_CMP"), "mvm": text_of(types, "PA_MVM")},
                        "sus/sia_dicionario_competencia.sql",
                        {"competencia": competencia, "atraso": datasus.MAX_DELAY_MONTHS["SIA"]})


def stage(con, files: list[datasus.DatasusFile], competencia: date, prefix: int, bands: list[tuple[int, int]],
          linha_a_linha: bool = False) -> None:
    """Fill ``passagem`` (table ``passagem_linhas``) with the SIA ``files``' rows of ``competencia`` (see module doc).

    ``prefix``: digits of the procedure the good rows keep; ``bands``: (idade, faixa) of the age bands.
    """
    register_age_bands(con, bands)
    register_arquivos(con, files)
    create_passagem(con)
    stage_sql = sqlfiles.to_driver(sqlfiles.load(STAGE_SQL), "duckdb")
    for key, paths in file_groups(con, "SIA", files).items():
        types = register_bruto(con, key, paths, RAW, NUMBERS)
        _register_dictionaries(con, types, competencia, prefix)
        con.execute(f"INSERT INTO passagem_linhas BY NAME {stage_sql}", {"linha_a_linha": bool(linha_a_linha)})


__all__ = ["CODES", "RAW", "STAGE_SQL", "register_age_bands", "stage"]
