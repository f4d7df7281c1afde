"""Reading DATASUS monthly files (SIA PA, SIH RD, CNES ST) and IBGE population.

No Airflow here: the DAG hands a landing folder (local path or object-storage
URL) to these functions and gets pandas frames back.

The package re-exports its API here (``from vigia.sus import datasus``; ``datasus.read_competencia``).
Its modules, in the order a read goes through them:

* :mod:`~vigia.sus.datasus.layout`: the landing layout, systems, source columns, ``SCHEMAS``.
* :mod:`~vigia.sus.datasus.files`: file names (:func:`parse_name`), :func:`discover` in a local or
  object-storage landing, :func:`select_files` (one format per file, multi-part months).
* :mod:`~vigia.sus.datasus.readers`: :func:`read_raw` of .dbc/.parquet/.csv, every column as text.
* :mod:`~vigia.sus.datasus.normalisation`: :func:`normalise` to ``SCHEMAS``, :func:`read_file`,
  :func:`read_population`.
* :mod:`~vigia.sus.datasus.problems`: :func:`code_problems`, row by row (nothing is dropped).
* :mod:`~vigia.sus.datasus.competencia`: :func:`read_competencia`, one competência across the files
  (and delay window) that can hold it.
* :mod:`~vigia.sus.datasus.registry`: :func:`read_registry`, the CNES registry of a competência per UF
  (its month's file, else the latest earlier one).
* :mod:`~vigia.sus.datasus.months`: month parsing and arithmetic shared by the above.
"""

from vigia.sus.datasus.competencia import read_competencia
from vigia.sus.datasus.files import DatasusFile, Discovery, discover, parse_name, select_files
from vigia.sus.datasus.layout import (
    CODE_WIDTHS,
    DESCRIPTION,
    FORMATS,
    MAX_DELAY_MONTHS,
    OPTIONAL,
    POPULATION_FILE,
    PREFIX,
    REQUIRED,
    SCHEMAS,
    SYSTEMS,
    UFS,
    DatasusFormatError,
)
from vigia.sus.datasus.months import _add_months, _as_month
from vigia.sus.datasus.normalisation import _number, normalise, read_file, read_population
from vigia.sus.datasus.problems import code_problems
from vigia.sus.datasus.readers import _read_dbf, read_raw
from vigia.sus.datasus.registry import read_registry

__all__ = [
    "CODE_WIDTHS",
    "DESCRIPTION",
    "FORMATS",
    "MAX_DELAY_MONTHS",
    "OPTIONAL",
    "POPULATION_FILE",
    "PREFIX",
    "REQUIRED",
    "SCHEMAS",
    "SYSTEMS",
    "UFS",
    "DatasusFile",
    "DatasusFormatError",
    "Discovery",
    "code_problems",
    "discover",
    "normalise",
    "parse_name",
    "read_competencia",
    "read_registry",
    "read_file",
    "read_population",
    "read_raw",
    "select_files",
    # private helpers that callers in the repo reach as ``datasus.<name>``
    "_add_months",
    "_as_month",
    "_number",
    "_read_dbf",
]
