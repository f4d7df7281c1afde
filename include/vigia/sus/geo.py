"""Brazilian states (UF) by their IBGE code: the first two digits of a municipality code."""

from __future__ import annotations

UF_BY_CODE = {
    "11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO",
    "21": "MA", "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL", "28": "SE", "29": "BA",
    "31": "MG", "32": "ES", "33": "RJ", "35": "SP",
    "41": "PR", "42": "SC", "43": "RS",
    "50": "MS", "51": "MT", "52": "GO", "53": "DF",
}
UF_CODE = {sigla: code for code, sigla in UF_BY_CODE.items()}  # SP -> 35


def uf_of(municipio: str) -> str | None:
    """The UF (sigla) of a 6-digit IBGE municipality code, or None when the prefix is unknown."""
    return UF_BY_CODE.get(str(municipio)[:2])


def ufs_of(municipios) -> "pd.Series":
    """:func:`uf_of` for a pandas Series of municipality codes, vectorised (None where unknown)."""
    import pandas as pd

    codes = pd.Series(municipios)
    out = codes.astype(str).str[:2].map(UF_BY_CODE)
    return out.astype(object).where(out.notna(), None)
