"""The source contract: the seed's table ``TASY.TB_GLOSA_APRIORI_RECENTE`` (Philips Tasy)."""

from __future__ import annotations

SOURCE_TABLE = "TASY.TB_GLOSA_APRIORI_RECENTE"

SOURCE_COLUMNS = [
    "MES_RECEBIMENTO",
    "HOSPITAL",
    "REGIONAL",
    "I_ITEM_CATEGORIA",
    "SETOR_N1",
    "SETOR_N2",
    "TIPO_GRUPO",
    "TIPO_ATENDIMENTO",
    "CONVENIO",
    "TIPO_GLOSA",
    "VALOR_COBRADO_GERAL",
    "VALOR_GLOSA",
    "COBRADO_ANTERIOR",
    "GLOSA_ANTERIOR",
    "QTD_LINHAS_GLOSA",
]

# one clustering per segment
SEGMENT_KEYS = ["HOSPITAL", "CONVENIO", "TIPO_GLOSA"]

MONEY_COLUMNS = ["VALOR_COBRADO_GERAL", "VALOR_GLOSA", "COBRADO_ANTERIOR", "GLOSA_ANTERIOR"]
NUMERIC_COLUMNS = MONEY_COLUMNS + ["QTD_LINHAS_GLOSA"]
TEXT_COLUMNS = [c for c in SOURCE_COLUMNS if c not in NUMERIC_COLUMNS and c != "MES_RECEBIMENTO"]


class SourceContractError(ValueError):
    """The source does not match the contract; the message names the column and what was expected."""


def check_columns(columns, where: str) -> None:
    """Raise naming every missing contract column (extra columns are allowed and kept in the raw file)."""
    present = {str(c).upper() for c in columns}
    missing = [c for c in SOURCE_COLUMNS if c not in present]
    if missing:
        raise SourceContractError(
            f"{where}: missing column(s) {', '.join(missing)}; the glosa source must provide "
            f"{SOURCE_TABLE} with columns {', '.join(SOURCE_COLUMNS)}"
        )
