"""Benign explanations shown next to an anomaly: mobile unit, regional spike, small municipality."""

from __future__ import annotations

import pandas as pd

from ._common import _MES, _month_dates, _require, _with_month

MOBILE_UNIT_TYPES = {
    "32": "unidade móvel fluvial",
    "40": "unidade móvel terrestre",
    "42": "unidade móvel de nível pré-hospitalar na área de urgência",
}


def benign_flags(
    estabelecimentos: pd.DataFrame | None = None,
    oscilacao: pd.DataFrame | None = None,
    mun_excess: pd.DataFrame | None = None,
    excess_shares: pd.DataFrame | None = None,
    *,
    limiar_pico: float = 2.0,
    populacao_minima: int = 5000,
    minimo_estabelecimentos: int = 3,
) -> pd.DataFrame:
    """Benign explanations to show next to an anomaly (never removes it).

    Inputs (each optional; a flag is computed only when its inputs are given):

    * ``estabelecimentos``: CNES registry, cnes, uf, tp_unid (TP_UNID), and
      optionally competencia (then matched month by month; otherwise one row
      per cnes).
    * ``oscilacao``: long output of ``oscillation`` (cnes, alvo, competencia,
      score, value); its rows are the establishments WITH production.
    * ``mun_excess``: output of ``municipal_excess`` (municipio, alvo,
      competencia, populacao, excesso_quantidade).
    * ``excess_shares``: output of ``share_excess``.

    Flags:

    * ``unidade_movel``: TP_UNID in {"32" fluvial, "40" terrestre, "42"
      pré-hospitalar de urgência} (codes compared zero-padded to 2 digits).
      Emitted for every cnes x alvo x competencia of the establishment found in
      ``oscilacao`` or ``excess_shares``.
    * ``pico_regional``: within uf x alvo x competencia, with n establishments
      with production (rows with score oscilacao_quantidade_m12, NaN
      included) and k of them with oscilacao_quantidade_m12 >= limiar_pico:
      if k > n / 2 and n >= minimo_estabelecimentos, every one of the n gets
      the flag (campaign or epidemic). The caller decides which establishments
      count (the pipeline passes only those with a meaningful volume, since a
      producer of 1 unit after a zero median always "doubles").
      Needs ``estabelecimentos`` for the uf.
    * ``municipio_pequeno``: populacao < populacao_minima, on the municipal
      excess rows with excesso_quantidade > 0 (cnes missing, municipio set)
      and on the establishments receiving a positive excess from such a
      municipality in ``excess_shares`` (cnes and municipio set).

    Returns a long table cnes, municipio, alvo, competencia, flag, detail
    (Portuguese). ``municipio`` is only set for municipio_pequeno.
    """
    cols = ["cnes", "municipio", "alvo", "competencia", "flag", "detail"]
    parts: list[pd.DataFrame] = []

    est = None
    if estabelecimentos is not None:
        _require(estabelecimentos, ["cnes", "uf", "tp_unid"], "estabelecimentos")
        est = estabelecimentos.copy()
        est["tp_unid"] = est["tp_unid"].astype(str).str.strip().str.zfill(2)
        est_keys = ["cnes"]
        if "competencia" in est.columns:
            est = _with_month(est)
            est_keys = ["cnes", _MES]
        est = est[[*est_keys, "uf", "tp_unid"]].drop_duplicates(est_keys)

    osc = None
    if oscilacao is not None:
        _require(oscilacao, ["cnes", "alvo", "competencia", "score", "value"], "oscilacao")
        osc = _with_month(oscilacao)
    sh = None
    if excess_shares is not None:
        _require(excess_shares, ["cnes", "municipio", "alvo", "competencia", "excesso_quantidade"], "excess_shares")
        sh = _with_month(excess_shares)

    # (a) mobile units
    if est is not None:
        universe = [f[["cnes", "alvo", _MES]] for f in (osc, sh) if f is not None]
        if universe:
            u = pd.concat(universe, ignore_index=True).drop_duplicates()
            u = u.merge(est, on=est_keys, how="inner")
            u = u[u["tp_unid"].isin(MOBILE_UNIT_TYPES)]
            if len(u):
                parts.append(pd.DataFrame({
                    "cnes": u["cnes"].to_numpy(), "municipio": None, "alvo": u["alvo"].to_numpy(),
                    _MES: u[_MES].to_numpy(), "flag": "unidade_movel",
                    "detail": [f"TP_UNID {t}: {MOBILE_UNIT_TYPES[t]}" for t in u["tp_unid"]],
                }))

    # (b) regional spike
    if osc is not None:
        if est is None:
            raise ValueError("pico_regional precisa de estabelecimentos (uf de cada cnes)")
        o = osc[osc["score"] == "oscilacao_quantidade_m12"][["cnes", "alvo", _MES, "value"]]
        o = o.merge(est, on=est_keys, how="inner")
        o = o.assign(pico=o["value"].astype(float) >= limiar_pico)
        o = o.drop_duplicates(["cnes", "alvo", _MES])
        g = o.groupby(["uf", "alvo", _MES], sort=False)
        o["n"] = g["cnes"].transform("size")
        o["k"] = g["pico"].transform("sum")
        o = o[(o["k"] > o["n"] / 2) & (o["n"] >= minimo_estabelecimentos)]
        if len(o):
            parts.append(pd.DataFrame({
                "cnes": o["cnes"].to_numpy(), "municipio": None, "alvo": o["alvo"].to_numpy(),
                _MES: o[_MES].to_numpy(), "flag": "pico_regional",
                "detail": [
                    f"{int(k)} de {int(n)} estabelecimentos com produção na UF {uf} têm "
                    f"oscilacao_quantidade_m12 >= {limiar_pico:g}: provável campanha ou epidemia"
                    for k, n, uf in zip(o["k"], o["n"], o["uf"])
                ],
            }))

    # (c) small municipality
    if mun_excess is not None:
        _require(mun_excess, ["municipio", "alvo", "competencia", "populacao", "excesso_quantidade"], "mun_excess")
        me = _with_month(mun_excess)
        small = me[(me["populacao"].astype(float) < populacao_minima)
                   & (me["excesso_quantidade"].astype(float) > 0)]
        small = small[["municipio", "alvo", _MES, "populacao"]].drop_duplicates(["municipio", "alvo", _MES])

        def detail(pop):
            return (f"município com {int(pop)} habitantes (< {populacao_minima}): "
                    f"taxa per capita instável, poucos casos bastam para exceder o corte")

        if len(small):
            parts.append(pd.DataFrame({
                "cnes": None, "municipio": small["municipio"].to_numpy(), "alvo": small["alvo"].to_numpy(),
                _MES: small[_MES].to_numpy(), "flag": "municipio_pequeno",
                "detail": [detail(p) for p in small["populacao"]],
            }))
            if sh is not None:
                e = sh[sh["excesso_quantidade"].astype(float) > 0][["cnes", "municipio", "alvo", _MES]]
                e = e.merge(small, on=["municipio", "alvo", _MES], how="inner")
                if len(e):
                    parts.append(pd.DataFrame({
                        "cnes": e["cnes"].to_numpy(), "municipio": e["municipio"].to_numpy(),
                        "alvo": e["alvo"].to_numpy(), _MES: e[_MES].to_numpy(), "flag": "municipio_pequeno",
                        "detail": [f"excesso vindo do município {m}: " + detail(p)
                                   for m, p in zip(e["municipio"], e["populacao"])],
                    }))

    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["flag", _MES, "alvo", "cnes", "municipio"], na_position="first", kind="stable")
    out["competencia"] = _month_dates(out[_MES].to_numpy())
    return out[cols].reset_index(drop=True)
