"""SIH RD staging in DuckDB: every distinct value checked once, every row joined to its checks where it is read.

The SIH month (a few million AIH) is staged one row per AIH (the cube counts them), but its codes,
competências and ages are normalised and checked per distinct value, in the dictionaries of
:mod:`vigia.sus.dictionaries` (``include/sql/sus/dicionario_codigo.sql``,
``sih_dicionario_competencia.sql``, ``sih_dicionario_idade.sql``); ``stage_sih.sql`` joins every row
to them, with ``problema`` in the words of ``datasus.code_problems`` (NULL for a good row). N_AIH (one
per row) is stripped row by row.

Nothing is summed, so nothing is worth keeping in a table: when the files are one group (the same
stored types, the usual case) the view ``passagem`` is ``stage_sih.sql`` itself
(:func:`vigia.sus.dictionaries.stage_view`), and :func:`ingest_sql.ingest_competencia` streams the good
rows from the files to ``producao_SIH.parquet``, then reads them again for the bad rows and the
per-file counts (a national SP month, ~670k AIH: ~0.7 s, against ~0.95 s through a table that holds
every row, N_AIH included, before it is written). Files of several groups (each with its own
dictionaries) are joined group by group into the table ``passagem_linhas`` behind the view.
"""

from __future__ import annotations

from datetime import date

from vigia import sql as sqlfiles
from vigia.sus import datasus
from vigia.sus.dictionaries import (create_passagem, number_of, register_bruto, register_codes, register_dictionary,
                                    stage_view, text_of)
from vigia.sus.parquet_sources import file_groups, register_arquivos

STAGE_SQL = "sus/stage_sih.sql"
# dictionary table, source column, its name in messages, digits
CODES = (
    ("dic_cnes", "CNES", "cnes", 7),
    ("dic_procedimento", "PROC_REA", "procedimento", 10),
    ("dic_municipio_residencia", "MUNIC_RES", "municipio_residencia", 6),
    ("dic_municipio_estabelecimento", "MUNIC_MOV", "municipio_estabelecimento", 6),
)
RAW = {"CNES": "cnes_bruto", "ANO_CMPT": "ano_bruto", "MES_CMPT": "mes_bruto", "PROC_REA": "proc_bruto",
       "MUNIC_RES": "munres_bruto", "MUNIC_MOV": "munest_bruto", "IDADE": "idade_bruto",
       "COD_IDADE": "cod_idade_bruto"}
NUMBERS = {"VAL_TOT": "valor"}
TEXTS = {"N_AIH": "n_aih"}


def stage(con, files: list[datasus.DatasusFile], competencia: date) -> None:
    """``passagem``: the SIH ``files``' rows of ``competencia``, one per AIH (see the module doc)."""
    register_arquivos(con, files)
    create_passagem(con)
    stage_sql = sqlfiles.to_driver(sqlfiles.load(STAGE_SQL), "duckdb")
    groups = file_groups(con, "SIH", files)
    for key, paths in groups.items():
        types = register_bruto(con, key, paths, RAW, NUMBERS, TEXTS)
        register_codes(con, types, CODES)
        has_cod_idade = dict((c, n) for c, n, _ in key)["COD_IDADE"] is not None
        register_dictionary(con, "dic_idade", ["idade_bruto", "cod_idade_bruto"],
                            {"numero": number_of(types, "IDADE"), "cod": text_of(types, "COD_IDADE")},
                            "sus/sih_dicionario_idade.sql", {"tem_cod_idade": has_cod_idade})
        register_dictionary(con, "dic_competencia", ["arquivo_id", "ano_bruto", "mes_bruto"],
                            {"ano": text_of(types, "ANO_CMPT"), "mes": text_of(types, "MES_CMPT")},
                            "sus/sih_dicionario_competencia.sql",
                            {"competencia": competencia, "atraso": datasus.MAX_DELAY_MONTHS["SIH"]})
        if len(groups) == 1:
            stage_view(con, stage_sql)
        else:
            con.execute(f"INSERT INTO passagem_linhas BY NAME {stage_sql}")


__all__ = ["CODES", "RAW", "STAGE_SQL", "stage"]
