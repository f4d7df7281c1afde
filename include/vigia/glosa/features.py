"""Features, exactly as the seed computes them.

1. Nulls in the numeric columns become 0.
2. Rows are grouped by MES_RECEBIMENTO, HOSPITAL, REGIONAL, I_ITEM_CATEGORIA
   (renamed TIPO_DESPESA), SETOR_N1, SETOR_N2, TIPO_GRUPO (trimmed, with
   'Não identificado-Não identificado' replaced by 'N/A-N/A'), TIPO_ATENDIMENTO,
   CONVENIO and TIPO_GLOSA. Null dimension values form their own group, as in
   the seed's Oracle GROUP BY.
3. Per group (sums rounded to cents, as Oracle's exact NUMBER sums would be):

   * GLOSA_ATUAL   = sum(VALOR_GLOSA)
   * IND_GLOSA     = GLOSA_ATUAL / sum(VALOR_COBRADO_GERAL), or 0 when nothing was billed
   * SALTO_VALOR   = GLOSA_ATUAL - sum(GLOSA_ANTERIOR)            (previous month's glosa)
   * SALTO_INDICE  = IND_GLOSA - sum(GLOSA_ANTERIOR) / sum(COBRADO_ANTERIOR)  (0 when nothing billed)

One feature row is one cell; a segment is HOSPITAL x CONVENIO x TIPO_GLOSA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigia.glosa.contract import NUMERIC_COLUMNS, SEGMENT_KEYS

NAO_IDENTIFICADO = "Não identificado-Não identificado"
NAO_IDENTIFICADO_CURTO = "N/A-N/A"

CELL_KEYS = [
    "MES_RECEBIMENTO",
    "HOSPITAL",
    "REGIONAL",
    "TIPO_DESPESA",
    "SETOR_N1",
    "SETOR_N2",
    "TIPO_GRUPO",
    "TIPO_ATENDIMENTO",
    "CONVENIO",
    "TIPO_GLOSA",
]
FEATURES = ["GLOSA_ATUAL", "IND_GLOSA", "SALTO_VALOR", "SALTO_INDICE"]
FEATURE_COLUMNS = CELL_KEYS + [
    "VALOR_COBRADO",
    "GLOSA_ATUAL",
    "COBRADO_ANTERIOR",
    "GLOSA_ANTERIOR",
    "QTD_LINHAS_GLOSA",
    "IND_GLOSA",
    "IND_GLOSA_ANTERIOR",
    "SALTO_VALOR",
    "SALTO_INDICE",
]


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, or 0 where den is 0."""
    out = np.divide(num.to_numpy(float), den.to_numpy(float),
                    out=np.zeros(len(num)), where=den.to_numpy(float) != 0)
    return pd.Series(out, index=num.index)


def build_features(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per cell with the seed's four clustering features, sorted by the cell keys."""
    df = rows.rename(columns={"I_ITEM_CATEGORIA": "TIPO_DESPESA"}).copy()
    for col in NUMERIC_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="raise").fillna(0).astype(float)
    df["TIPO_GRUPO"] = df["TIPO_GRUPO"].astype("object").where(df["TIPO_GRUPO"].notna(), None)
    df["TIPO_GRUPO"] = df["TIPO_GRUPO"].map(lambda v: v.strip() if isinstance(v, str) else v)
    df["TIPO_GRUPO"] = df["TIPO_GRUPO"].replace(NAO_IDENTIFICADO, NAO_IDENTIFICADO_CURTO)

    cells = (
        df.groupby(CELL_KEYS, dropna=False, sort=True)
        .agg(
            VALOR_COBRADO=("VALOR_COBRADO_GERAL", "sum"),
            GLOSA_ATUAL=("VALOR_GLOSA", "sum"),
            COBRADO_ANTERIOR=("COBRADO_ANTERIOR", "sum"),
            GLOSA_ANTERIOR=("GLOSA_ANTERIOR", "sum"),
            QTD_LINHAS_GLOSA=("QTD_LINHAS_GLOSA", "sum"),
        )
        .reset_index()
    )
    # Oracle sums NUMBER columns exactly; float sums drift by an ulp. Money is in cents, so round
    # the sums to cents: identical cells stay identical (the seed's degenerate case).
    money = ["VALOR_COBRADO", "GLOSA_ATUAL", "COBRADO_ANTERIOR", "GLOSA_ANTERIOR", "QTD_LINHAS_GLOSA"]
    cells[money] = cells[money].round(2)
    cells["IND_GLOSA"] = _ratio(cells["GLOSA_ATUAL"], cells["VALOR_COBRADO"])
    cells["IND_GLOSA_ANTERIOR"] = _ratio(cells["GLOSA_ANTERIOR"], cells["COBRADO_ANTERIOR"])
    cells["SALTO_VALOR"] = cells["GLOSA_ATUAL"] - cells["GLOSA_ANTERIOR"]
    cells["SALTO_INDICE"] = cells["IND_GLOSA"] - cells["IND_GLOSA_ANTERIOR"]
    return cells[FEATURE_COLUMNS]


def segments(features: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: segment_id (0..n-1, in key order), the keys and its number of cells."""
    seg = (
        features.groupby(SEGMENT_KEYS, dropna=False, sort=True)
        .size()
        .rename("rows")
        .reset_index()
    )
    seg.insert(0, "segment_id", np.arange(len(seg), dtype="int64"))
    return seg


def with_segment_ids(features: pd.DataFrame, segs: pd.DataFrame) -> pd.DataFrame:
    """Features with the segment_id of their segment."""
    return features.merge(segs[["segment_id", *SEGMENT_KEYS]], on=SEGMENT_KEYS, how="left", validate="m:1")
