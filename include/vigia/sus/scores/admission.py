"""Value per hospital admission (AIH): robust z-score of the mean value, on the log scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._common import _MES, _month_dates, _require, _with_month

MAD_TO_SIGMA = 1.4826  # 1 / Φ⁻¹(3/4): makes the MAD a consistent estimator of σ for normal data


def value_per_admission(sih: pd.DataFrame, min_aih: int = 5, q: float = 0.99) -> pd.DataFrame:
    """Robust z-score of the mean value per admission (AIH), on the log scale.

    ``sih``: cnes, alvo, competencia, valor (sum of VAL_TOT), n_aih. For each
    establishment x alvo x month::

        valor_medio_aih = valor / n_aih
        x_e             = log(valor_medio_aih)

    Against the national distribution of that alvo x month, over the ELIGIBLE
    establishments (n_aih >= min_aih and valor_medio_aih > 0)::

        med             = median(x_e)
        MAD             = median(|x_e − med|)
        z_robusto       = (x_e − med) / (1.4826 × MAD)
        mediana_nacional = exp(med)     (R$ per AIH; the median mean value when
                                         the count is odd, the geometric mean of
                                         the two middle ones when even)

    Excess value, with the same 99% criterion as the per-capita excess (the
    log means are taken as normal with centre med and scale 1.4826 x MAD)::

        corte_valor_aih = exp(med + Φ⁻¹(q) × 1.4826 × MAD)       (R$ per AIH, q = 0.99)
        excesso_valor   = n_aih × max(0, valor_medio_aih − corte_valor_aih)

    Establishments with n_aih < min_aih, or a non-positive mean value, get
    z_robusto NaN and a reason (they are also left out of med and MAD); when
    MAD = 0 every establishment of that alvo x month gets NaN and a reason.

    Returns cnes, alvo, competencia, n_aih, valor_medio_aih, mediana_nacional,
    z_robusto, corte_valor_aih, excesso_valor (0 where not computable), reason,
    sorted by alvo, competencia, cnes.
    """
    _require(sih, ["cnes", "alvo", "competencia", "valor", "n_aih"], "sih")
    out_cols = ["cnes", "alvo", "competencia", "n_aih", "valor_medio_aih", "mediana_nacional", "z_robusto",
                "corte_valor_aih", "excesso_valor", "reason"]
    if sih.empty:
        return pd.DataFrame(columns=out_cols)
    d = _with_month(sih[["cnes", "alvo", "competencia", "valor", "n_aih"]]).reset_index(drop=True)
    n = d["n_aih"].astype(float).to_numpy()
    v = d["valor"].astype(float).to_numpy()
    mean = np.divide(v, n, out=np.full(len(n), np.nan), where=n > 0)
    few = ~(n >= min_aih)
    nonpos = ~few & ~(mean > 0)
    eligible = ~few & ~nonpos
    logm = np.full(len(n), np.nan)
    logm[eligible] = np.log(mean[eligible])
    d["valor_medio_aih"] = mean
    d["_log"] = logm
    grp = d.groupby(["alvo", _MES], sort=False, dropna=False)
    med = grp["_log"].transform("median").to_numpy(float)
    d["_dev"] = np.abs(logm - med)
    mad = d.groupby(["alvo", _MES], sort=False, dropna=False)["_dev"].transform("median").to_numpy(float)
    n_elig = grp["_log"].transform("count").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(eligible & (mad > 0), (logm - med) / (MAD_TO_SIGMA * mad), np.nan)
    reason = np.full(len(n), None, dtype=object)
    for i in np.flatnonzero(few):
        reason[i] = f"menos de {min_aih} AIH no mês ({int(n[i]) if not np.isnan(n[i]) else 0})"
    for i in np.flatnonzero(nonpos):
        reason[i] = "valor médio por AIH não positivo: log indefinido"
    for i in np.flatnonzero(eligible & ~(mad > 0)):
        reason[i] = (f"MAD nula: sem dispersão entre os {int(n_elig[i])} estabelecimento(s) elegíveis "
                     f"deste alvo e competência")
    d["mediana_nacional"] = np.exp(med)
    d["z_robusto"] = z
    with np.errstate(invalid="ignore"):
        cut = np.where(eligible & (mad > 0), np.exp(med + norm.ppf(q) * MAD_TO_SIGMA * mad), np.nan)
    d["corte_valor_aih"] = cut
    d["excesso_valor"] = np.where(np.isfinite(cut), n * np.maximum(0.0, mean - cut), 0.0)
    d["reason"] = reason
    d = d.sort_values(["alvo", _MES, "cnes"], kind="stable")
    d["competencia"] = _month_dates(d[_MES].to_numpy())
    return d[out_cols].reset_index(drop=True)
