"""Reading DATASUS monthly files (SIA PA, SIH RD, CNES ST) and IBGE population.

No Airflow here: the DAG hands a landing folder (local path or object-storage
URL) to these functions and gets pandas frames back.

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

Reading
-------
Every source column is read **as text** whatever the format, so codes keep
their leading zeros (``0604460058``) and the normalisers decide what becomes a
number:

* CSV: ``dtype=str``; only an empty field is missing (``"NA"`` stays text);
  UTF-8, falling back to ISO-8859-1 (TabWin exports).
* Parquet: pandas/pyarrow; non-text columns are turned into their text form.
  A fixed-width code column that a producer stored as a number has lost its
  leading zeros, which the fixed width restores exactly (``CODE_WIDTHS``).
* ``.dbc`` (DATASUS's compressed DBF): ``pyreaddbc.dbc2dbf`` into a temporary
  ``.dbf``, then ``dbfread.DBF(..., encoding="iso-8859-1", raw=True)``: the
  raw bytes of every field decoded and stripped, i.e. the same text a CSV
  export carries. **The .dbc step was not exercised on a real .dbc file in
  this project** (none is available offline); the tests cover the DBF reader
  on a DBF they write themselves, and the .dbc plumbing with ``dbc2dbf``
  replaced by a stub.

Normalised schemas (lower-case names, codes as text)
----------------------------------------------------
See ``SCHEMAS``. SIA is keyed on ``PA_CMP`` (the competência of the service),
not on the file's processing month: SIA accepts records up to
``MAX_DELAY_MONTHS["SIA"]`` = 3 months late, so ``PAAC1606`` may hold
``PA_CMP`` 201603..201606. :func:`read_competencia` therefore reads the
processing months ``competencia .. competencia + 3``.

Validity
--------
Nothing is dropped here. Bad codes are kept as read; :func:`code_problems`
describes, row by row, what is wrong, and the caller quarantines. A row whose
competência cannot be reached by any :func:`read_competencia` call (missing,
unparsable, or outside the file's delay window) is returned by the call for
its file's processing month, flagged by :func:`code_problems`, instead of
being lost.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from upath import UPath

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class DatasusFile:
    """One landed DATASUS file, parsed from its name."""

    system: str  # SIA, SIH, CNES
    uf: str  # AC .. TO
    year: int  # processing year (from the name)
    month: int  # processing month (from the name)
    part: str | None  # SIA split files: "a", "b", ...; None when unsplit
    format: str  # dbc, parquet, csv
    path: UPath

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def processing_month(self) -> date:
        return date(self.year, self.month, 1)

    def sort_key(self) -> tuple:
        return (self.system, self.uf, self.year, self.month, self.part or "", self.format, self.name)


class Discovery(NamedTuple):
    files: list[DatasusFile]
    unrecognised: list[UPath]


_NAME = re.compile(
    r"^(?P<prefix>[A-Za-z]{2})(?P<uf>[A-Za-z]{2})(?P<aa>\d{2})(?P<mm>\d{2})(?P<part>[A-Za-z]?)"
    r"\.(?P<ext>dbc|parquet|csv)$",
    re.IGNORECASE,
)


def _check_system(system: str) -> str:
    s = str(system).upper()
    if s not in SYSTEMS:
        raise ValueError(f"unknown DATASUS system {system!r}; expected one of {', '.join(SYSTEMS)}")
    return s


def parse_name(path: UPath | str, system: str) -> DatasusFile | None:
    """The descriptor of a file in ``<landing>/<system>/``, or None when its name is not a DATASUS name."""
    system = _check_system(system)
    path = UPath(path)
    m = _NAME.match(path.name)
    if not m or m["prefix"].upper() != PREFIX[system]:
        return None
    uf, mm, part = m["uf"].upper(), int(m["mm"]), m["part"].lower() or None
    if uf not in UFS or not 1 <= mm <= 12 or (part and system != "SIA"):
        return None
    aa = int(m["aa"])
    year = 1900 + aa if aa >= 90 else 2000 + aa
    return DatasusFile(system, uf, year, mm, part, m["ext"].lower(), path)


def discover(landing: str | Path | UPath, system: str) -> Discovery:
    """Every file of ``system`` in the landing, sorted; names that do not parse go to ``unrecognised``."""
    system = _check_system(system)
    folder = UPath(landing) / system
    files: list[DatasusFile] = []
    unrecognised: list[UPath] = []
    if not folder.exists():
        log.warning("landing %s has no %s folder", landing, system)
        return Discovery(files, unrecognised)
    for path in folder.iterdir():
        if path.is_dir():
            continue
        parsed = parse_name(path, system)
        if parsed is None:
            unrecognised.append(path)
        else:
            files.append(parsed)
    files.sort(key=DatasusFile.sort_key)
    unrecognised.sort(key=lambda p: p.name)
    if unrecognised:
        log.warning(
            "%d file(s) in %s do not follow the DATASUS name %s<UF><AA><MM>%s.{dbc,parquet,csv} and are ignored: %s",
            len(unrecognised), folder, PREFIX[system], "[a|b|...]" if system == "SIA" else "",
            ", ".join(p.name for p in unrecognised),
        )
    return Discovery(files, unrecognised)


# ----------------------------------------------------------------------------- raw readers (all text)


def _upper_columns(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip().upper() for c in df.columns]
    return df


def _wanted(columns: Iterable[str] | None):
    return None if columns is None else {c.upper() for c in columns}


def _read_csv(path: UPath, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A CSV with every column as text; only an empty field is missing."""
    wanted = _wanted(columns)
    usecols = None if wanted is None else (lambda c: str(c).strip().upper() in wanted)
    for encoding in ("utf-8-sig", "iso-8859-1"):
        try:
            with path.open("rb") as fh:
                df = pd.read_csv(
                    fh, dtype=str, keep_default_na=False, na_values=[""], usecols=usecols, encoding=encoding
                )
            break
        except UnicodeDecodeError:
            log.info("%s is not UTF-8, reading it as ISO-8859-1", path.name)
    return _upper_columns(df)


def _text(series: pd.Series, width: int | None = None) -> pd.Series:
    """The text form of a column (what a CSV export would hold), missing stays missing."""
    if pd.api.types.is_string_dtype(series) or series.dtype == object:
        out = series.map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
        return out.astype(str).where(series.notna())
    if pd.api.types.is_bool_dtype(series):
        out = series.map({True: "T", False: "F"})
    elif pd.api.types.is_integer_dtype(series):
        out = series.map(lambda v: None if pd.isna(v) else str(int(v)))
    elif pd.api.types.is_float_dtype(series) and width:  # a code stored as a float: 120020.0 -> "120020"
        out = series.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v))))
    elif pd.api.types.is_float_dtype(series):  # what a CSV export writes: 0.0, 456.8
        out = series.map(lambda v: None if pd.isna(v) else repr(float(v)))
    elif pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.strftime("%Y%m%d")
    else:
        out = series.map(lambda v: None if v is None or (np.isscalar(v) and pd.isna(v)) else str(v))
    out = out.astype(str).where(out.notna())
    if width:
        out = out.where(~out.str.fullmatch(r"\d+", na=False), out.str.zfill(width))
    return out


def _read_parquet(path: UPath, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A Parquet file with every column turned into text (numeric fixed-width codes zero-padded back)."""
    import pyarrow.parquet as pq

    wanted = _wanted(columns)
    with path.open("rb") as fh:
        names = pq.ParquetFile(fh).schema_arrow.names
        fh.seek(0)
        keep = [c for c in names if wanted is None or str(c).strip().upper() in wanted]
        df = pd.read_parquet(fh, columns=keep)
    df = _upper_columns(df)
    padded = []
    for col in df.columns:
        numeric = not (pd.api.types.is_string_dtype(df[col]) or df[col].dtype == object)
        width = CODE_WIDTHS.get(col) if numeric else None
        if width:
            padded.append(col)
        df[col] = _text(df[col], width)
    if padded:
        log.warning("%s: numeric code column(s) %s zero-padded to their fixed width", path.name, ", ".join(padded))
    return df


def _read_dbf(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A local .dbf, every field as its stripped ISO-8859-1 text (DATASUS's encoding); blank = missing."""
    from dbfread import DBF

    wanted = _wanted(columns)
    table = DBF(str(path), encoding="iso-8859-1", raw=True, load=False, recfactory=None)
    names = [f.name.upper() for f in table.fields]
    keep = [i for i, n in enumerate(names) if wanted is None or n in wanted]
    data: list[list[str | None]] = [[] for _ in keep]
    for record in table:
        for slot, i in enumerate(keep):
            raw = record[i][1]
            text = raw.decode("iso-8859-1").strip().strip("\x00") if isinstance(raw, bytes) else raw
            data[slot].append(text if text not in ("", None) else None)
    return pd.DataFrame({names[i]: pd.Series(data[slot], dtype=str) for slot, i in enumerate(keep)})


def _read_dbc(path: UPath, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A .dbc: decompressed by pyreaddbc into a temporary .dbf, then read as DBF.

    NOT exercised on a real .dbc file in this project (see the module docstring).
    A remote file is first copied to the temporary folder: pyreaddbc reads local files only.
    """
    import pyreaddbc

    with tempfile.TemporaryDirectory(prefix="vigia-dbc-") as tmp:
        tmpdir = Path(tmp)
        if path.protocol in ("", "file", "local"):
            local = Path(path.path)
        else:
            local = tmpdir / path.name
            with path.open("rb") as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        dbf = tmpdir / (Path(path.name).stem + ".dbf")
        pyreaddbc.dbc2dbf(str(local), str(dbf))
        return _read_dbf(dbf, columns)


_READERS = {"csv": _read_csv, "parquet": _read_parquet, "dbc": _read_dbc}


def read_raw(path: str | Path | UPath, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A DATASUS file (by extension) as text columns with upper-case names; ``columns`` restricts the read."""
    path = UPath(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "dbf":
        return _read_dbf(path.path, columns)
    if fmt not in _READERS:
        raise DatasusFormatError(f"{path.name}: unsupported format {fmt!r}; expected .dbc, .parquet or .csv")
    return _READERS[fmt](path, columns)


# ----------------------------------------------------------------------------- normalisation


def _require(raw: pd.DataFrame, system: str, filename: str) -> None:
    missing = [c for c in REQUIRED[system] if c not in raw.columns]
    if missing:
        raise DatasusFormatError(
            f"{filename}: missing required column(s) {', '.join(missing)}; expected a {DESCRIPTION[system]} "
            f"file with columns {', '.join(REQUIRED[system])}"
            + (f" (optional: {', '.join(OPTIONAL[system])})" if OPTIONAL[system] else "")
            + f"; found {len(raw.columns)} column(s): {', '.join(map(str, raw.columns[:20]))}"
            + (" ..." if len(raw.columns) > 20 else "")
        )


def _code(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().where(s.notna())


def _month_of(text: pd.Series) -> pd.Series:
    """AAAAMM text -> date (first of month); anything else -> None."""
    t = text.astype(str).str.strip().where(text.notna())
    ok = t.str.fullmatch(r"(19[0-9]{2}|20[0-9]{2})(0[1-9]|1[0-2])", na=False)
    return _map_unique(t.where(ok), lambda v: date(int(v[:4]), int(v[4:]), 1) if isinstance(v, str) else None)


def _number(s: pd.Series) -> pd.Series:
    # DATASUS numbers use a dot; tolerate a decimal comma from spreadsheet exports.
    t = s.astype(str).str.strip().str.replace(",", ".", regex=False).where(s.notna())
    return pd.to_numeric(t, errors="coerce").astype("float64")


def _integer(s: pd.Series) -> pd.Series:
    f = _number(s)
    return f.where(f == np.floor(f)).astype("Int64")


def _const(value, n: int, index, dtype="str") -> pd.Series:
    return pd.Series([value] * n, index=index, dtype=dtype)


def _empty(system: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in SCHEMAS[system].items()})


def normalise(raw: pd.DataFrame, file: DatasusFile) -> pd.DataFrame:
    """The standard long schema of ``file.system`` (``SCHEMAS``) from a raw text frame of that file."""
    system = file.system
    raw = _upper_columns(raw.copy())
    _require(raw, system, file.name)
    n, idx = len(raw), raw.index
    file_month = _const(file.processing_month, n, idx, dtype=object)
    if system == "SIA":
        mvm = _month_of(raw["PA_MVM"]) if "PA_MVM" in raw.columns else file_month
        out = pd.DataFrame({
            "cnes": _code(raw["PA_CODUNI"]),
            "competencia": _month_of(raw["PA_CMP"]),
            "mes_processamento": mvm.where(mvm.notna(), file_month),
            "procedimento": _code(raw["PA_PROC_ID"]),
            "municipio_residencia": _code(raw["PA_MUNPCN"]),
            "municipio_estabelecimento": _code(raw["PA_UFMUN"]),
            "idade": _integer(raw["PA_IDADE"]),
            "quantidade": _number(raw["PA_QTDAPR"]),
            "valor": _number(raw["PA_VALAPR"]),
        })
    elif system == "SIH":
        mes = _code(raw["MES_CMPT"])
        mes = mes.where(~mes.str.fullmatch(r"\d", na=False), mes.str.zfill(2))
        idade = _integer(raw["IDADE"])
        if "COD_IDADE" in raw.columns:
            # IDADE is in the unit of COD_IDADE: 1 hours, 2 days, 3 months, 4 years, 5 years over 100.
            unit = _code(raw["COD_IDADE"])
            value = idade.to_numpy(dtype="float64", na_value=np.nan)
            idade = pd.Series(
                np.select(
                    [unit.isin(["1", "2", "3"]).to_numpy(), (unit == "4").to_numpy(), (unit == "5").to_numpy()],
                    [0, value, 100 + value],
                    np.nan,
                ),
                index=idx,
            )
            idade = idade.where(idade == np.floor(idade)).astype("Int64")
        out = pd.DataFrame({
            "cnes": _code(raw["CNES"]),
            "competencia": _month_of(_code(raw["ANO_CMPT"]) + mes),
            "mes_processamento": file_month,
            "procedimento": _code(raw["PROC_REA"]),
            "municipio_residencia": _code(raw["MUNIC_RES"]),
            "municipio_estabelecimento": (
                _code(raw["MUNIC_MOV"]) if "MUNIC_MOV" in raw.columns else _const(None, n, idx)
            ),
            "idade": idade,
            "valor": _number(raw["VAL_TOT"]),
            "n_aih": _code(raw["N_AIH"]),
            "quantidade": pd.Series(1.0, index=idx, dtype="float64"),
        })
    elif system == "CNES":
        out = pd.DataFrame({
            "cnes": _code(raw["CNES"]),
            "municipio": _code(raw["CODUFMUN"]),
            "tp_unid": _code(raw["TP_UNID"]),
        })
        out["competencia"] = file_month
    else:  # pragma: no cover - DatasusFile.system is checked by parse_name
        raise ValueError(f"unknown system {system!r}")
    out["uf"] = _const(file.uf, n, idx)
    out["arquivo"] = _const(file.name, n, idx)
    out = out[list(SCHEMAS[system])].reset_index(drop=True)
    for col, dtype in SCHEMAS[system].items():
        if dtype == "str":
            out[col] = out[col].astype(str).where(out[col].notna())
    return out


def read_file(file: DatasusFile) -> pd.DataFrame:
    """One landed file, normalised to its system's schema."""
    wanted = REQUIRED[file.system] + OPTIONAL[file.system]
    raw = read_raw(file.path, columns=wanted)
    out = normalise(raw, file)
    log.info("%s: %d row(s) read", file.name, len(out))
    return out


def read_population(landing: str | Path | UPath) -> pd.DataFrame:
    """``<landing>/IBGE/populacao.csv`` as municipio (6-digit text), ano (int), populacao (int).

    A 7-digit IBGE code is cut to the 6 digits DATASUS uses (the 7th is a check digit).
    Comma or semicolon separated. Bad values are kept (missing numbers as <NA>) for code_problems.
    """
    path = UPath(landing).joinpath(*POPULATION_FILE)
    with path.open("rb") as fh:
        head = fh.readline().decode("utf-8", errors="replace")
    sep = ";" if head.count(";") > head.count(",") else ","
    for encoding in ("utf-8-sig", "iso-8859-1"):
        try:
            with path.open("rb") as fh:
                raw = pd.read_csv(fh, dtype=str, keep_default_na=False, na_values=[""], sep=sep, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
    raw = _upper_columns(raw)
    _require(raw, "IBGE", path.name)
    mun = _code(raw["MUNICIPIO"])
    seven = mun.str.fullmatch(r"\d{7}", na=False)
    if seven.any():
        log.info("%s: %d 7-digit municipality code(s) cut to 6 digits", path.name, int(seven.sum()))
    out = pd.DataFrame({
        "municipio": mun.where(~seven, mun.str[:6]),
        "ano": _integer(raw["ANO"]),
        "populacao": _integer(raw["POPULACAO"]),
    })
    out["municipio"] = out["municipio"].astype(str).where(out["municipio"].notna())
    return out


# ----------------------------------------------------------------------------- validity


def _add_months(d: date, k: int) -> date:
    m = d.year * 12 + d.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


def _as_month(value) -> date | None:
    """A date, datetime or 'AAAAMM' / 'AAAA-MM[-DD]' text as the first of its month; None otherwise."""
    if isinstance(value, (datetime, date)) and not pd.isna(value):
        return date(value.year, value.month, 1)
    if isinstance(value, str):
        m = re.fullmatch(r"(19\d{2}|20\d{2})-?(0[1-9]|1[0-2])(-\d{2})?", value.strip())
        if m:
            return date(int(m[1]), int(m[2]), 1)
    return None


def _map_unique(s: pd.Series, func) -> pd.Series:
    """``s.map(func)`` computed once per distinct value (months repeat over millions of rows)."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:-1] = [func(v) for v in uniques]
    values[-1] = func(None)  # code -1: missing
    return pd.Series(values[codes], index=s.index, dtype=object)


def _show(s: pd.Series) -> pd.Series:
    """Values as display text for messages ('' for missing)."""
    return s.astype(object).map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


class _Problems:
    """Row messages built sparsely: text is formatted for flagged rows only."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.messages: list[pd.Series] = []

    def flag(self, mask: pd.Series, text) -> None:
        mask = pd.Series(mask, index=self.index).fillna(False).astype(bool)
        if mask.any():
            msg = text(mask) if callable(text) else pd.Series(text, index=self.index[mask.to_numpy()])
            self.messages.append(msg.astype(object))

    def digits(self, df: pd.DataFrame, col: str, n: int, allow_missing: bool = False) -> None:
        s = df[col]
        bad = ~s.astype(str).str.fullmatch(rf"\d{{{n}}}", na=False)
        if allow_missing:
            bad &= s.notna()
        self.flag(bad, lambda m: col + " '" + _show(s[m]) + f"' is not {n} digits")

    def result(self) -> pd.Series:
        out = pd.Series("", index=self.index, dtype=object)
        for msg in self.messages:
            at = msg.index
            out.loc[at] = np.where(out.loc[at] == "", msg, out.loc[at] + "; " + msg)
        return out.astype(str)


def code_problems(df: pd.DataFrame, system: str, max_delay_months: int | None = None) -> pd.Series:
    """What is wrong with each row of a normalised frame ('' when nothing); the caller quarantines.

    SIA/SIH: 7-digit cnes, 10-digit procedimento, 6-digit municipalities (SIH's optional
    municipio_estabelecimento may be missing), competência present and valid (a date, or AAAAMM text),
    within ``max_delay_months`` (default ``MAX_DELAY_MONTHS``) before mes_processamento, which must
    match the month in the file name (``arquivo``), quantidade and valor numeric and >= 0, SIH n_aih
    present. CNES: cnes, municipio, 2-digit tp_unid, competência. IBGE: municipio, ano, populacao > 0.
    Messages of one row are joined with '; '.
    """
    system = str(system).upper()
    if system not in SCHEMAS:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SCHEMAS)}")
    if not df.index.is_unique:
        df = df.reset_index(drop=True)  # messages are placed by index label
    p = _Problems(df.index)
    if system in ("SIA", "SIH", "CNES"):
        p.digits(df, "cnes", 7)
        months = _map_unique(df["competencia"], _as_month)
        p.flag(
            months.isna(),
            lambda m: "competencia '" + _show(df["competencia"][m]) + "' is not a valid AAAAMM month",
        )
    if system in ("SIA", "SIH"):
        p.digits(df, "procedimento", 10)
        p.digits(df, "municipio_residencia", 6)
        p.digits(df, "municipio_estabelecimento", 6, allow_missing=system == "SIH")
        for col in ("quantidade", "valor"):
            v = pd.to_numeric(df[col], errors="coerce")
            p.flag(v.isna(), f"{col} missing or not numeric")
            p.flag(v < 0, lambda m, col=col, v=v: col + " is negative (" + _show(v[m]) + ")")
        if "mes_processamento" in df.columns:
            delay = MAX_DELAY_MONTHS[system] if max_delay_months is None else max_delay_months
            proc = _map_unique(df["mes_processamento"], _as_month)
            both = months.notna() & proc.notna()
            lag = pd.Series(np.nan, index=df.index)
            if both.any():
                lag[both] = [
                    (b.year * 12 + b.month) - (a.year * 12 + a.month) for a, b in zip(months[both], proc[both])
                ]
            p.flag(
                both & ((lag < 0) | (lag > delay)),
                lambda m: "competencia outside the processing window (" + _show(lag[m].astype("Int64"))
                + f" month(s) before mes_processamento; allowed 0..{delay})",
            )
            if "arquivo" in df.columns:
                # PA_MVM must agree with the file name: read_competencia finds rows by the file's month
                def named_month(name):
                    parsed = parse_name(str(name), system) if isinstance(name, str) else None
                    return parsed.processing_month if parsed else None

                named = _map_unique(df["arquivo"], named_month)
                p.flag(
                    named.notna() & proc.notna() & (named != proc),
                    lambda m: "mes_processamento " + _show(proc[m])
                    + " differs from the month in the file name " + _show(df["arquivo"][m]),
                )
        if system == "SIH":
            p.flag(df["n_aih"].isna() | (df["n_aih"].astype(str).str.strip() == ""), "n_aih missing")
    if system == "CNES":
        p.digits(df, "municipio", 6)
        p.digits(df, "tp_unid", 2)
    if system == "IBGE":
        p.digits(df, "municipio", 6)
        p.flag(pd.to_numeric(df["ano"], errors="coerce").isna(), "ano missing or not an integer")
        pop = pd.to_numeric(df["populacao"], errors="coerce")
        p.flag(pop.isna() | (pop <= 0), "populacao missing, not an integer or not positive")
    return p.result()


# ----------------------------------------------------------------------------- one competência


def select_files(files: Iterable[DatasusFile]) -> list[DatasusFile]:
    """One format per (system, uf, month, part), preferring ``FORMATS`` order; unsplit + parts is an error."""
    chosen: dict[tuple, DatasusFile] = {}
    for f in files:
        key = (f.system, f.uf, f.year, f.month, f.part)
        other = chosen.get(key)
        if other is None or FORMATS.index(f.format) < FORMATS.index(other.format):
            if other is not None:
                log.warning("%s and %s hold the same file: reading %s only", other.name, f.name, f.name)
            chosen[key] = f
        else:
            log.warning("%s and %s hold the same file: reading %s only", other.name, f.name, other.name)
    groups: dict[tuple, list[DatasusFile]] = {}
    for f in chosen.values():
        groups.setdefault((f.system, f.uf, f.year, f.month), []).append(f)
    for key, group in groups.items():
        if len(group) > 1 and any(f.part is None for f in group):
            raise DatasusFormatError(
                f"{', '.join(sorted(f.name for f in group))}: an unsplit file and lettered parts for the same "
                f"UF and month; expected either {PREFIX[key[0]]}{key[1]}{key[2] % 100:02d}{key[3]:02d} alone or "
                "its parts a, b, ... only (reading both would count the month twice)"
            )
    return sorted(chosen.values(), key=DatasusFile.sort_key)


def read_competencia(
    landing: str | Path | UPath,
    system: str,
    competencia: date | datetime | str,
    ufs: Iterable[str] | None = None,
    max_delay_months: int | None = None,
) -> pd.DataFrame:
    """Every row of ``system`` for one competência, from every file that can hold it.

    SIA: processing months ``competencia .. competencia + 3`` (rows keyed on PA_CMP); SIH, CNES: the
    same month. Rows of other competências are left for their own call, except rows no call could
    reach (competência missing/invalid or outside the file's delay window): those come with the call
    for their file's processing month so that code_problems flags them. A pure read, hence idempotent.
    ``ufs`` restricts the states read; ``max_delay_months`` overrides ``MAX_DELAY_MONTHS[system]``
    (pass the same value to code_problems).
    """
    system = _check_system(system)
    target = _as_month(competencia)
    if target is None:
        raise ValueError(f"competencia {competencia!r} is not a month (expected a date or AAAAMM)")
    delay = MAX_DELAY_MONTHS[system] if max_delay_months is None else max_delay_months
    months = {_add_months(target, k) for k in range(delay + 1)}
    wanted_ufs = None if ufs is None else {u.upper() for u in ufs}
    found = discover(landing, system).files
    files = select_files(
        f for f in found if f.processing_month in months and (wanted_ufs is None or f.uf in wanted_ufs)
    )
    if not files:
        log.warning("no %s file in %s for competência %s", system, landing, target.strftime("%Y-%m"))
        return _empty(system)
    frames = []
    for f in files:
        df = read_file(f)
        comp = df["competencia"]
        lo, hi = _add_months(f.processing_month, -delay), f.processing_month
        unreachable = _map_unique(comp, lambda c: not isinstance(c, date) or not (lo <= c <= hi)).astype(bool)
        keep = (comp == target) | (unreachable & (f.processing_month == target))
        if unreachable.any() and f.processing_month == target:
            log.warning(
                "%s: %d row(s) with a competência outside %s..%s kept for quarantine",
                f.name, int(unreachable.sum()), lo.strftime("%Y%m"), hi.strftime("%Y%m"),
            )
        frames.append(df[keep.to_numpy(dtype=bool)])
    out = pd.concat(frames, ignore_index=True)
    log.info(
        "%s competência %s: %d row(s) from %d file(s)", system, target.strftime("%Y-%m"), len(out), len(files)
    )
    return out
