"""Raw readers: a DATASUS file (.dbc, .parquet, .csv, or a local .dbf) as a frame of text columns.

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
  export carries. No DATASUS .dbc is available offline: the tests write real
  ones (a DBF of the fixture rows, its records PKWare-DCL compressed as
  DATASUS does, ``tests/unit/datasus_dbc.py``) and read them through
  ``pyreaddbc``; a cut or foreign file raises, naming it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from vigia.sus.datasus.layout import CODE_WIDTHS, DatasusFormatError

log = logging.getLogger(__name__)


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
    """The text form of a column (what a CSV export would hold), missing stays missing.

    Text stays as it is; integers as ``str(int(v))``; floats as ``repr(float(v))`` (``0.0``, ``456.8``),
    or, for a code column (``width``), ``str(int(v))`` when whole (``120020.0`` -> ``120020``); dates
    as AAAAMMDD. Vectorised: numpy's float-to-text conversion is Python's shortest round-trip ``repr``
    (the same digits and the same switch to scientific notation), so only mixed object columns and
    floats too large for int64 go value by value.
    """
    if isinstance(series.dtype, pd.StringDtype) or (
            series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")):
        out = series  # every value present is text already
    elif pd.api.types.is_bool_dtype(series):
        out = series.map({True: "T", False: "F"})
    elif pd.api.types.is_integer_dtype(series):
        out = series.astype(str)
    elif pd.api.types.is_float_dtype(series):
        out = pd.Series(_float_text(series.to_numpy(dtype="float64", na_value=np.nan), whole_as_int=bool(width)),
                        index=series.index)
    elif pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.strftime("%Y%m%d")
    else:
        out = series.map(lambda v: None if v is None or (np.isscalar(v) and pd.isna(v)) else str(v))
    out = out.astype(str).where(series.notna())
    if width:
        out = out.where(~out.str.fullmatch(r"\d+", na=False), out.str.zfill(width))
    return out


def _float_text(values: np.ndarray, whole_as_int: bool) -> np.ndarray:
    """``repr`` of each float (None for NaN); with ``whole_as_int``, ``str(int(v))`` for whole values."""
    out = np.full(len(values), None, dtype=object)
    present = ~np.isnan(values)
    whole = present & np.isfinite(values) & (values == np.floor(values)) if whole_as_int else np.zeros_like(present)
    fits = whole & (np.abs(values) < 2.0**63)
    out[present & ~whole] = values[present & ~whole].astype(str)
    out[fits] = values[fits].astype(np.int64).astype(str)
    out[whole & ~fits] = [str(int(v)) for v in values[whole & ~fits]]
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


DBC = "DATASUS .dbc (a DBF whose records are PKWare-DCL compressed)"


def _read_dbf(path: str | Path, columns: Iterable[str] | None = None, name: str | None = None,
              what: str = "DBF (dBase) table") -> pd.DataFrame:
    """A local .dbf, every field as its stripped ISO-8859-1 text (DATASUS's encoding); blank = missing.

    A file shorter than its header announces (records count x record length) raises
    :class:`DatasusFormatError` naming it (``name``: the landed file's, e.g. its .dbc) instead of giving
    the records that happen to be there: an interrupted download would otherwise pass as a small month.
    ``what`` the file should have been, for the message on a header that is not a DBF's."""
    from dbfread import DBF

    name = name or Path(path).name
    wanted = _wanted(columns)
    try:
        table = DBF(str(path), encoding="iso-8859-1", raw=True, load=False, recfactory=None)
    except Exception as exc:  # dbfread raises struct.error, ValueError... on a header that is not a DBF's
        raise DatasusFormatError(f"{name}: not a readable {what}: {type(exc).__name__}: {exc}") from exc
    header = table.header
    expected = header.headerlen + header.numrecords * header.recordlen
    size = Path(path).stat().st_size
    if size < expected:
        complete = max(size - header.headerlen, 0) // max(header.recordlen, 1)
        raise DatasusFormatError(
            f"{name}: truncated: its header announces {header.numrecords:,} record(s) of {header.recordlen} "
            f"bytes ({expected:,} bytes of table), the file holds {size:,} bytes ({complete:,} complete "
            "record(s)); land the whole file again (an interrupted download?)")
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

    A file pyreaddbc cannot decompress, or whose decompressed table is shorter than its header says
    (pyreaddbc stops quietly at the end of a cut stream), raises :class:`DatasusFormatError` naming it.
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
        try:
            pyreaddbc.dbc2dbf(str(local), str(dbf))
        except Exception as exc:  # struct.error, OSError... on a file that is not a .dbc
            raise DatasusFormatError(f"{path.name}: not a readable {DBC}: {type(exc).__name__}: {exc}") from exc
        if not dbf.exists():
            raise DatasusFormatError(f"{path.name}: not a readable {DBC}: nothing was decompressed")
        return _read_dbf(dbf, columns, name=path.name, what=DBC)


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
