"""Normalisation: raw text frames to the long schemas of ``SCHEMAS`` (SIA, SIH, CNES, IBGE population).

Nothing is dropped here: bad codes are kept as read for :func:`vigia.sus.datasus.problems.code_problems`.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from vigia.sus.datasus.files import DatasusFile
from vigia.sus.datasus.layout import (
    DESCRIPTION,
    OPTIONAL,
    POPULATION_FILE,
    REQUIRED,
    SCHEMAS,
    DatasusFormatError,
)
from vigia.sus.datasus.months import AAAAMM, _map_unique
from vigia.sus.datasus.readers import _upper_columns, read_raw

log = logging.getLogger(__name__)


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


def _month_of(text: pd.Series, keep_invalid: bool = False) -> pd.Series:
    """AAAAMM text -> date (first of month); missing -> None; anything else -> None, or with
    ``keep_invalid`` its stripped text, so that the quarantine message can show what the file held."""
    t = text.astype(str).str.strip().where(text.notna())
    ok = t.str.fullmatch(AAAAMM, na=False)
    months = _map_unique(t.where(ok), lambda v: date(int(v[:4]), int(v[4:]), 1) if isinstance(v, str) else None)
    bad = ~ok & t.notna()
    return months.mask(bad, t) if keep_invalid and bad.any() else months


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
            "competencia": _month_of(raw["PA_CMP"], keep_invalid=True),
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
            "competencia": _month_of(_code(raw["ANO_CMPT"]) + mes, keep_invalid=True),
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
