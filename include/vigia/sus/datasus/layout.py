"""What DATASUS files look like: systems, file-name parts, source columns and normalised schemas.

Landing layout
--------------
The landing is a folder given as a local path or any fsspec URL (``s3://``,
``gs://``, ``memory://`` ...). It is opened with :class:`upath.UPath`, the
class Airflow's ``ObjectStoragePath`` builds on, so the same code reads a local
folder and a bucket. Files keep their DATASUS names::

    <landing>/SIA/PA<UF><AA><MM>[a|b|...].{dbc,parquet,csv}   produção ambulatorial
    <landing>/SIH/RD<UF><AA><MM>.{dbc,parquet,csv}             AIH reduzida
    <landing>/CNES/ST<UF><AA><MM>.{dbc,parquet,csv}            estabelecimentos
    <landing>/IBGE/populacao.csv                               municipio, ano, populacao

``AA MM`` is the *processing* month of the file. Two-digit years ``90``-``99``
are 199x, the others 20xx (DATASUS files start in 1992). Large states have
their SIA month split into lettered parts (``PASP2003a``, ``PASP2003b`` ...):
all parts are read.

Normalised schemas (lower-case names, codes as text)
----------------------------------------------------
See ``SCHEMAS``.
"""

from __future__ import annotations

SYSTEMS = ("SIA", "SIH", "CNES")
FORMATS = ("parquet", "csv", "dbc")  # order = preference when one file exists in several formats
UFS = frozenset(
    "AC AL AM AP BA CE DF ES GO MA MG MS MT PA PB PE PI PR RJ RN RO RR RS SC SE SP TO".split()
)
PREFIX = {"SIA": "PA", "SIH": "RD", "CNES": "ST"}
# SIA accepts production up to 3 competências late; SIH RD and CNES ST hold their own month.
MAX_DELAY_MONTHS = {"SIA": 3, "SIH": 0, "CNES": 0}
POPULATION_FILE = ("IBGE", "populacao.csv")

# Fixed-width code columns: a numeric source column (Parquet) is zero-padded back to this width.
CODE_WIDTHS = {
    "PA_CODUNI": 7, "PA_PROC_ID": 10, "PA_MUNPCN": 6, "PA_UFMUN": 6, "PA_CMP": 6, "PA_MVM": 6,
    "CNES": 7, "PROC_REA": 10, "MUNIC_RES": 6, "MUNIC_MOV": 6, "MES_CMPT": 2, "ANO_CMPT": 4,
    "CODUFMUN": 6, "TP_UNID": 2, "COD_IDADE": 1, "N_AIH": 13,
}

# Source columns per system: required ones raise DatasusFormatError when absent.
REQUIRED = {
    "SIA": ("PA_CODUNI", "PA_CMP", "PA_PROC_ID", "PA_MUNPCN", "PA_UFMUN", "PA_IDADE", "PA_QTDAPR", "PA_VALAPR"),
    "SIH": ("CNES", "ANO_CMPT", "MES_CMPT", "PROC_REA", "MUNIC_RES", "IDADE", "VAL_TOT", "N_AIH"),
    "CNES": ("CNES", "CODUFMUN", "TP_UNID"),
    "IBGE": ("MUNICIPIO", "ANO", "POPULACAO"),
}
OPTIONAL = {"SIA": ("PA_MVM",), "SIH": ("MUNIC_MOV", "COD_IDADE"), "CNES": (), "IBGE": ()}
DESCRIPTION = {
    "SIA": "SIA PA (produção ambulatorial)",
    "SIH": "SIH RD (AIH reduzida)",
    "CNES": "CNES ST (estabelecimentos)",
    "IBGE": "IBGE population (populacao.csv)",
}

# competencia (object): the first of the month as a date; missing: None; not a valid AAAAMM: the text
# as read (stripped), which code_problems flags and the quarantine message shows.
SCHEMAS: dict[str, dict[str, str]] = {
    "SIA": {
        "cnes": "str", "competencia": "object", "mes_processamento": "object", "procedimento": "str",
        "municipio_residencia": "str", "municipio_estabelecimento": "str", "idade": "Int64",
        "quantidade": "float64", "valor": "float64", "uf": "str", "arquivo": "str",
    },
    "SIH": {
        "cnes": "str", "competencia": "object", "mes_processamento": "object", "procedimento": "str",
        "municipio_residencia": "str", "municipio_estabelecimento": "str", "idade": "Int64",
        "valor": "float64", "n_aih": "str", "quantidade": "float64", "uf": "str", "arquivo": "str",
    },
    "CNES": {
        "cnes": "str", "municipio": "str", "tp_unid": "str", "uf": "str", "competencia": "object", "arquivo": "str",
    },
    "IBGE": {"municipio": "str", "ano": "Int64", "populacao": "Int64"},
}


class DatasusFormatError(ValueError):
    """A DATASUS file that cannot be normalised (a required column is missing, an ambiguous landing)."""
