"""Audit ranking of establishments per month, and concentration of the excess."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ._common import _MES, _month_dates, _require, _with_month


def provider_ranking(
    excess_by_cnes: pd.DataFrame,
    scores_long: pd.DataFrame,
    top: Sequence[int] = (5, 100),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Audit ranking of establishments per month, and concentration of the excess.

    ``excess_by_cnes``: cnes, alvo, competencia, excesso_valor (e.g. the output
    of ``share_excess``; extra columns such as municipio are summed over).
    ``scores_long``: cnes, alvo, competencia, score, value (long outputs of
    ``oscillation``, ``attribute_to_establishments``...; for every score a
    HIGHER value is MORE suspicious; NaN values are ignored, and so are values
    that carry a ``reason`` when that column is present: an oscillation
    without an established production line, see ``oscillation``).

    Per cnes x competencia::

        excesso_valor     = Σ over alvos (and municipalities) of excesso_valor   (NaN counted as 0)
        v_s(e)            = max over alvos of the establishment's value of score s
        p_s(e)            = percentile rank of v_s(e) among all establishments
                            having score s that month (pandas rank pct=True,
                            ties averaged; in (0, 1], 1 = most extreme)
        escore_combinado  = mean of p_s(e) over the scores s available for e
        escore_maximo     = max of p_s(e): one extreme score is enough for a look
        n_escores         = number of those scores

    rank: 1 = highest excesso_valor; ties broken by the higher
    escore_combinado (NaN last), then by cnes for a deterministic order.
    rank_escore: 1 = highest escore_maximo, ties broken by excesso_valor, then
    cnes: it surfaces anomalies that carry no excess estimate (a sudden jump). The
    universe is the establishments of ``excess_by_cnes`` and those with a ranked
    score (excesso_valor 0 when absent from ``excess_by_cnes``).

    Concentration per competencia::

        excesso_total           = Σ_e excesso_valor
        n_com_excesso           = #{e : excesso_valor > 0}
        participacao_top{N}     = Σ excesso_valor of ranks 1..N / excesso_total   (NaN if total = 0)

    Returns (ranking: cnes, competencia, excesso_valor, escore_combinado,
    n_escores, rank — sorted by competencia, rank;
    concentration: competencia, excesso_total, n_com_excesso, participacao_top5, ...).
    """
    _require(excess_by_cnes, ["cnes", "competencia", "excesso_valor"], "excess_by_cnes")
    _require(scores_long, ["cnes", "competencia", "score", "value"], "scores_long")
    top = [int(n) for n in top]
    rank_cols = ["cnes", "competencia", "excesso_valor", "escore_combinado", "escore_maximo", "n_escores",
                 "rank", "rank_escore"]
    conc_cols = ["competencia", "excesso_total", "n_com_excesso", *[f"participacao_top{n}" for n in top]]

    ex = _with_month(excess_by_cnes[["cnes", "competencia", "excesso_valor"]])
    ex["excesso_valor"] = ex["excesso_valor"].astype(float)
    tot = ex.groupby(["cnes", _MES], as_index=False, sort=False)["excesso_valor"].sum()

    sc = _with_month(scores_long[["cnes", "competencia", "score", "value"]])
    ranked = scores_long["value"].notna()
    if "reason" in scores_long.columns:
        ranked &= scores_long["reason"].isna()
    sc = sc[ranked.to_numpy()]
    sc = sc.assign(value=sc["value"].astype(float))
    best = sc.groupby(["cnes", _MES, "score"], as_index=False, sort=False)["value"].max()
    best["pct"] = best.groupby([_MES, "score"], sort=False)["value"].rank(method="average", pct=True)
    comb = best.groupby(["cnes", _MES], as_index=False, sort=False).agg(
        escore_combinado=("pct", "mean"), escore_maximo=("pct", "max"), n_escores=("pct", "size")
    )

    r = tot.merge(comb, on=["cnes", _MES], how="outer")
    if r.empty:
        return pd.DataFrame(columns=rank_cols), pd.DataFrame(columns=conc_cols)
    r["excesso_valor"] = r["excesso_valor"].fillna(0.0)
    r["n_escores"] = r["n_escores"].fillna(0).astype(int)
    r = r.sort_values(
        [_MES, "excesso_valor", "escore_combinado", "cnes"],
        ascending=[True, False, False, True], na_position="last", kind="stable",
    ).reset_index(drop=True)
    r["rank"] = r.groupby(_MES, sort=False).cumcount() + 1
    by_score = r.sort_values([_MES, "escore_maximo", "excesso_valor", "cnes"],
                             ascending=[True, False, False, True], na_position="last", kind="stable")
    r.loc[by_score.index, "rank_escore"] = by_score.groupby(_MES, sort=False).cumcount().to_numpy() + 1
    r["rank_escore"] = r["rank_escore"].astype(int)
    r["competencia"] = _month_dates(r[_MES].to_numpy())

    rows = []
    for mes, g in r.groupby(_MES, sort=True):
        total = g["excesso_valor"].sum()
        row = {_MES: mes, "excesso_total": total, "n_com_excesso": int((g["excesso_valor"] > 0).sum())}
        for n in top:
            row[f"participacao_top{n}"] = (
                g.loc[g["rank"] <= n, "excesso_valor"].sum() / total if total > 0 else float("nan")
            )
        rows.append(row)
    conc = pd.DataFrame(rows)
    conc["competencia"] = _month_dates(conc[_MES].to_numpy())
    return r[rank_cols], conc[conc_cols]
