"""Fact sheets (folhas de fatos): one self-contained HTML page per establishment x target x month.

An auditor opening a sheet sees, for one CNES, one mining target and one
competência, the numbers behind every score the month produced
(:func:`vigia.sus.scoring.score_month`) and three charts:

* **taxas municipais**: for every municipality of residence this
  establishment served for the target in the month, the municipality's
  per-capita rate (per 100,000 inhabitants) next to its state's (UF) rate,
  with the national rate and the log-normal 99% cutoff as lines; below, the
  establishment's share of each municipality's production;
* **série de produção**: the establishment's monthly quantity for the target
  over every month of the cube, with the median of the (up to) 12 previous
  months as a line (absent months count as 0, as in the oscillation score);
* **valor por AIH** (SIH targets only): the national distribution of the mean
  value per admission across establishments (histogram, log scale), with this
  establishment, the national median and the 99% cutoff marked.

The page carries no external resource (charts are inline SVG drawn by
matplotlib with its non-interactive Agg canvas), escapes every text value
with :func:`html.escape`, formats numbers the Brazilian way (``R$ 1.234,56``)
and says, prominently, that a statistical anomaly is not proof of fraud.

Rates: the national and state rates are Σ quantidade / Σ populacao × 100,000,
the quantities from the cube (target x month) and the populations from
``result.municipal`` (every municipality with production of any target in the
month, each counted once).

:func:`render` builds one page, :func:`write` saves it atomically,
:func:`select_top` / :func:`render_top` choose and write the sheets of the
top-ranked establishments.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from vigia.sus.scoring import SCORE_VALOR_AIH, MonthScores

PER = 100_000  # rates are shown per 100,000 inhabitants
SERIES_WINDOW = 12
MAX_MUNICIPALITIES_IN_CHART = 25

DISCLAIMER = (
    "Anomalias estatísticas não são prova de fraude. Esta folha reúne indícios para orientar a "
    "auditoria: uma produção fora do padrão pode ter explicação legítima (campanhas, unidades "
    "móveis, referência regional, municípios pequenos, mudanças de cadastro ou de faturamento). "
    "Nenhuma conclusão deve ser tirada sem verificação documental."
)

MESES = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
         "outubro", "novembro", "dezembro"]
MESES_ABREV = ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"]

# CNES TP_UNID (tipo de unidade) labels for the codes most often seen; others are shown as the bare code.
TP_UNID = {
    "01": "posto de saúde", "02": "centro de saúde / unidade básica", "04": "policlínica",
    "05": "hospital geral", "07": "hospital especializado", "15": "unidade mista",
    "20": "pronto-socorro geral", "21": "pronto-socorro especializado", "22": "consultório isolado",
    "32": "unidade móvel fluvial", "36": "clínica / centro de especialidade",
    "39": "unidade de apoio diagnose e terapia (SADT isolado)", "40": "unidade móvel terrestre",
    "42": "unidade móvel de nível pré-hospitalar na área de urgência", "43": "farmácia",
    "50": "unidade de vigilância em saúde", "62": "hospital-dia isolado",
    "70": "centro de atenção psicossocial (CAPS)", "73": "pronto atendimento",
}

SCORE_DESCRIPTIONS = {
    "oscilacao_quantidade_m12": "(quantidade do mês + 1) ÷ (mediana da quantidade nos 12 meses anteriores + 1)",
    "oscilacao_valor_m12": "(valor do mês + 1) ÷ (mediana do valor nos 12 meses anteriores + 1)",
    "oscilacao_quantidade_m6": "(quantidade do mês + 1) ÷ (mediana da quantidade nos 6 meses anteriores + 1)",
    "oscilacao_valor_m6": "(valor do mês + 1) ÷ (mediana do valor nos 6 meses anteriores + 1)",
    "taxa_per_capita_eb": ("Σ sobre os municípios de (participação do estabelecimento em 12 meses × escore "
                           "municipal); escore municipal = soma em 12 meses de max(0, taxa EB − 3 × taxa nacional)"),
    SCORE_VALOR_AIH: ("z robusto do log do valor médio por AIH frente aos estabelecimentos do país: "
                      "(x − mediana) ÷ (1,4826 × MAD)"),
}

FLAG_LABELS = {
    "unidade_movel": "unidade móvel",
    "pico_regional": "pico regional (provável campanha ou epidemia)",
    "municipio_pequeno": "município pequeno (taxa per capita instável)",
}


# ----------------------------------------------------------------------------- formatting


def _e(value) -> str:
    """Escaped text of any value (None / NaN as an em dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return html.escape(str(value), quote=True)


def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x, decimals: int = 2) -> str:
    """Brazilian number: ``1234567.891`` -> ``1.234.567,89``; missing -> ``—``."""
    if _missing(x):
        return "—"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    s = f"{x:,.{decimals}f}"
    if s.startswith("-") and float(s[1:].replace(",", "")) == 0:
        s = s[1:]  # no "-0,00"
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fmt_brl(x) -> str:
    """Brazilian currency: ``1234.5`` -> ``R$ 1.234,50``."""
    return "—" if _missing(x) else f"R$ {fmt_num(x, 2)}"


def fmt_pct(x, decimals: int = 1) -> str:
    """A fraction as a Brazilian percentage: ``0.4567`` -> ``45,7%``."""
    return "—" if _missing(x) else f"{fmt_num(float(x) * 100, decimals)}%"


def fmt_qty(x) -> str:
    """A count: no decimals when whole, two otherwise."""
    if _missing(x):
        return "—"
    return fmt_num(x, 0 if float(x).is_integer() else 2)


def fmt_month(d) -> str:
    d = pd.Timestamp(d)
    return f"{MESES[d.month - 1]} de {d.year} ({d.month:02d}/{d.year})"


def _month_ts(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("M").dt.to_timestamp()


def _same_month(col: pd.Series, competencia) -> np.ndarray:
    """Rows of ``col`` (dates or Timestamps) in the month of ``competencia``; converts each distinct value once."""
    target = pd.Timestamp(competencia).to_period("M").to_timestamp()
    uniq = pd.unique(col.dropna())
    hits = [v for v, m in zip(uniq, _month_ts(uniq)) if m == target]
    return col.isin(hits).to_numpy()


# ----------------------------------------------------------------------------- data for one sheet


def _month_populations(result: MonthScores, competencia) -> pd.DataFrame:
    """municipio, uf, populacao of every municipality of the month in ``result.municipal``."""
    m = result.municipal
    m = m[_same_month(m["competencia"], competencia)]
    cols = ["municipio", "populacao"] + (["uf"] if "uf" in m.columns else [])
    pop = m[cols].drop_duplicates("municipio").copy()
    if "uf" not in pop.columns:
        from vigia.sus.geo import uf_of
        pop["uf"] = pop["municipio"].map(uf_of)
    pop["populacao"] = pop["populacao"].astype(float)
    return pop.reset_index(drop=True)


def _rates(cube_month_alvo: pd.DataFrame, pops: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """National rate and rate per UF (per 100,000) of one target x month."""
    q_mun = cube_month_alvo.groupby("municipio")["quantidade"].sum()
    p = pops.assign(quantidade=pops["municipio"].map(q_mun).fillna(0.0))
    tot_pop = p["populacao"].sum()
    nacional = p["quantidade"].sum() / tot_pop * PER if tot_pop > 0 else float("nan")
    g = p.groupby("uf")[["quantidade", "populacao"]].sum()
    por_uf = {uf: (r.quantidade / r.populacao * PER if r.populacao > 0 else float("nan"))
              for uf, r in g.iterrows()}
    return nacional, por_uf


def _value_per_admission(cube: pd.DataFrame, competencia, alvo: str | None = None) -> pd.DataFrame:
    """The value-per-AIH table of the month (as ``score_month`` computes it), for one or every SIH target."""
    from vigia.sus import cubes, scores

    c = cube[_same_month(cube["competencia"], competencia) & (cube["sistema"] == "SIH").to_numpy()]
    if alvo is not None:
        c = c[c["alvo"] == alvo]
    if c.empty:
        return scores.value_per_admission(pd.DataFrame(columns=["cnes", "alvo", "competencia", "valor", "n_aih"]))
    est = cubes.by_establishment(c)
    return scores.value_per_admission(est[["cnes", "alvo", "competencia", "valor", "n_aih"]])


def _series(cube: pd.DataFrame, cnes: str, alvo: str) -> pd.DataFrame:
    """mes, quantidade, mediana_anterior for every month of the cube (absent = 0)."""
    months = sorted(set(_month_ts(pd.unique(cube["competencia"].dropna()))))
    own = cube[(cube["cnes"] == cnes) & (cube["alvo"] == alvo)]
    q = own.assign(mes=_month_ts(own["competencia"]).to_numpy()).groupby("mes")["quantidade"].sum()
    qty = [float(q.get(m, 0.0)) for m in months]
    covered = {m: v for m, v in zip(months, qty)}
    med = []
    for m in months:
        prev = [covered[p] for k in range(1, SERIES_WINDOW + 1) if (p := m - pd.DateOffset(months=k)) in covered]
        med.append(float(np.median(prev)) if prev else float("nan"))
    return pd.DataFrame({"mes": months, "quantidade": qty, "mediana_anterior": med})


def _registry_row(registry: pd.DataFrame | None, cnes: str, competencia) -> dict | None:
    if registry is None or registry.empty:
        return None
    r = registry[registry["cnes"].astype(str) == str(cnes)]
    if r.empty:
        return None
    if "competencia" in r.columns:
        same = r[_same_month(r["competencia"], competencia)]
        r = same if len(same) else r.sort_values("competencia", key=lambda s: _month_ts(s).to_numpy())
    return r.iloc[-1].to_dict()


# ----------------------------------------------------------------------------- charts


def _svg(fig, salt: str, label: str) -> str:
    """A matplotlib figure as inline SVG: no XML prolog, no namespace URLs, deterministic ids."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    s = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", s, count=0)
    s = re.sub(r"<metadata>.*?</metadata>", "", s, flags=re.S)
    return s.replace("<svg", f'<svg role="img" aria-label="{_e(label)}"', 1)


def _figure(width: float, height: float, nrows: int = 1, height_ratios=None):
    # Agg canvas on a bare Figure: no pyplot, so a caller's pyplot backend is never switched
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    grid = {"height_ratios": height_ratios} if height_ratios else None
    axes = fig.subplots(nrows, 1, sharex=nrows > 1, gridspec_kw=grid)
    return fig, axes


def _mpl(text: str) -> str:
    """Text for matplotlib: a literal dollar sign, never mathtext."""
    return str(text).replace("$", r"\$")


def _tick_formatter(decimals: int = 0, suffix: str = ""):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: _mpl(fmt_num(v, decimals) + suffix))


def _chart_rates(rows: pd.DataFrame, nacional: float, corte: float, salt: str, alvo: str) -> str:
    """Grouped bars município vs UF, lines Brasil and corte; below, the establishment's share."""
    n = len(rows)
    fig, (ax, ax2) = _figure(max(8.0, 0.45 * n + 4.5), 5.2, nrows=2, height_ratios=[3, 1.4])
    x = np.arange(n)
    w = 0.38
    ax.bar(x - w / 2, rows["taxa_mun"], w, color="#c0392b", label="taxa do município")
    ax.bar(x + w / 2, rows["taxa_uf"], w, color="#95a5a6", label="taxa da UF do município")
    if np.isfinite(nacional):
        ax.axhline(nacional, color="#2c3e50", linestyle="--", linewidth=1.2,
                   label=_mpl(f"taxa nacional ({fmt_num(nacional, 2)})"))
    if np.isfinite(corte):
        ax.axhline(corte, color="#e67e22", linestyle=":", linewidth=1.6,
                   label=_mpl(f"corte log-normal 99% ({fmt_num(corte, 2)})"))
    ax.set_ylabel("por 100 mil habitantes")
    ax.set_title(_mpl(f"Taxas municipais de {alvo} (por município de residência)"), fontsize=10, loc="left")
    top = np.nanmax([rows["taxa_mun"].max(), rows["taxa_uf"].max(), nacional, corte, 0.0])
    ax.yaxis.set_major_formatter(_tick_formatter(0 if top >= 10 else 2))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax2.bar(x, rows["share"] * 100, 0.6, color="#2980b9")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("participação (%)")
    ax2.set_title("Participação deste estabelecimento na produção de cada município", fontsize=9, loc="left")
    ax2.yaxis.set_major_formatter(_tick_formatter(0, "%"))
    ax2.set_xticks(x)
    ax2.set_xticklabels([_mpl(f"{m} ({u})") for m, u in zip(rows["municipio"], rows["uf"])],
                        rotation=60, ha="right", fontsize=8)
    ax2.set_xlabel("município de residência (código IBGE)")
    return _svg(fig, salt, f"Taxas municipais de {alvo}")


def _chart_series(series: pd.DataFrame, competencia, salt: str, alvo: str) -> str:
    fig, ax = _figure(max(6.5, 0.32 * len(series) + 3), 3.4)
    x = np.arange(len(series))
    target = pd.Timestamp(competencia).to_period("M").to_timestamp()
    colors = ["#c0392b" if m == target else "#7f8c8d" for m in series["mes"]]
    ax.bar(x, series["quantidade"], 0.7, color=colors, label="quantidade no mês")
    ax.plot(x, series["mediana_anterior"], color="#2c3e50", marker="o", markersize=3, linewidth=1.5,
            label=f"mediana dos {SERIES_WINDOW} meses anteriores")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{MESES_ABREV[m.month - 1]}/{m.year % 100:02d}" for m in series["mes"]],
                       rotation=45, ha="right", fontsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no repeated "1, 1, 2, 2" ticks
    ax.yaxis.set_major_formatter(_tick_formatter(0))
    ax.set_ylabel("quantidade")
    ax.set_title(_mpl(f"Série de produção de {alvo} (em vermelho, a competência analisada)"),
                 fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="upper left")
    return _svg(fig, salt, f"Série de produção de {alvo}")


def _first_finite(values: pd.Series) -> float:
    v = values.astype(float).to_numpy()
    v = v[np.isfinite(v)]
    return float(v[0]) if len(v) else float("nan")


def _chart_vpa(vpa: pd.DataFrame, cnes: str, salt: str, alvo: str) -> str:
    vals = vpa["valor_medio_aih"].astype(float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    fig, ax = _figure(6.5, 3.4)
    lo, hi = vals.min(), vals.max()
    if hi <= lo:
        lo, hi = lo / 1.5, hi * 1.5
    bins = np.geomspace(lo, hi, max(10, min(40, int(np.sqrt(len(vals))) * 2)))
    ax.hist(vals, bins=bins, color="#95a5a6", edgecolor="white", label="estabelecimentos do país")
    ax.set_xscale("log")
    row = vpa[vpa["cnes"] == cnes]
    mediana, corte = _first_finite(vpa["mediana_nacional"]), _first_finite(vpa["corte_valor_aih"])
    if np.isfinite(mediana):
        ax.axvline(mediana, color="#2c3e50", linestyle="--", linewidth=1.2,
                   label=_mpl(f"mediana nacional ({fmt_brl(mediana)})"))
    if np.isfinite(corte):
        ax.axvline(corte, color="#e67e22", linestyle=":", linewidth=1.6, label=_mpl(f"corte 99% ({fmt_brl(corte)})"))
    if len(row) and np.isfinite(row["valor_medio_aih"].iloc[0]) and row["valor_medio_aih"].iloc[0] > 0:
        v = float(row["valor_medio_aih"].iloc[0])
        ax.axvline(v, color="#c0392b", linewidth=2.2, label=_mpl(f"este estabelecimento ({fmt_brl(v)})"))
    ax.xaxis.set_major_formatter(_tick_formatter(0))
    ax.xaxis.set_minor_formatter(_tick_formatter(0))
    ax.tick_params(axis="x", which="both", labelsize=7)
    ax.set_xlabel("valor médio por AIH (R$, escala logarítmica)")
    ax.set_ylabel("estabelecimentos")
    ax.set_title(_mpl(f"Valor por AIH de {alvo}: distribuição nacional"), fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="upper left")
    return _svg(fig, salt, f"Valor por AIH de {alvo}")


# ----------------------------------------------------------------------------- HTML


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1100px;
padding:1.2rem;color:#222;line-height:1.45}
h1{font-size:1.45rem;margin:.2rem 0}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
h3{font-size:1rem;margin-top:1.2rem}
.aviso{background:#fff4ce;border:2px solid #e0a800;border-radius:6px;padding:.8rem 1rem;margin:1rem 0;font-size:1.02rem}
dl.resumo{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.8rem 0}
dl.resumo dt{font-weight:600;color:#555}dl.resumo dd{margin:0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}th{background:#f2f2f2;text-align:left}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
figure{margin:.8rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555}
.nota{font-size:.85rem;color:#555}.destaque{font-size:1.1rem;font-weight:700}
ul.flags li{margin:.3rem 0}footer{margin-top:2rem;font-size:.8rem;color:#777}
@media print{h2{page-break-after:avoid}figure{page-break-inside:avoid}}
"""


def _table(headers: list[str], rows: list[list[tuple[str, bool]]]) -> str:
    """headers (plain text) and rows of (already formatted text, is_number) cells; everything escaped."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_e(t)}</td>' if num else f"<td>{_e(t)}</td>" for t, num in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(cnes: str, alvo: str, competencia: date, cube: pd.DataFrame, result: MonthScores,
           target_names: dict[str, str], registry: pd.DataFrame | None = None) -> str:
    """The fact sheet of ``cnes`` x ``alvo`` x ``competencia`` as one self-contained HTML page.

    ``cube``: the finest cube (competencia, cnes, municipio, uf, alvo, sistema,
    quantidade, valor, n_aih) of the month and the months before it, as given
    to ``score_month``; ``result``: that month's :class:`MonthScores`;
    ``target_names``: alvo -> nome; ``registry``: CNES registry (cnes,
    municipio, tp_unid, uf[, competencia]) for the establishment's own
    municipality and unit type.
    """
    cnes, alvo = str(cnes), str(alvo)
    month = pd.Timestamp(competencia).to_period("M").to_timestamp()
    comp_txt = f"{month:%Y-%m}"
    nome = target_names.get(alvo)
    in_month = _same_month(cube["competencia"], month)
    cube_alvo_month = cube[in_month & (cube["alvo"] == alvo).to_numpy()]
    own = cube_alvo_month[cube_alvo_month["cnes"] == cnes]
    sys_rows = cube.loc[cube["alvo"] == alvo, "sistema"]
    sistema = str(sys_rows.iloc[0]) if len(sys_rows) else alvo.split("-")[0]
    salt = f"vigia-{comp_txt}-{cnes}-{alvo}"

    # --- numbers
    def sel(df: pd.DataFrame) -> pd.DataFrame:
        return df[(df["cnes"].astype(str) == cnes).to_numpy() & (df["alvo"] == alvo).to_numpy()
                  & _same_month(df["competencia"], month)]

    score_rows = sel(result.scores)
    flags = sel(result.flags)
    ranking = result.ranking[_same_month(result.ranking["competencia"], month)]
    rk = ranking[ranking["cnes"].astype(str) == cnes]
    rk = rk.iloc[0] if len(rk) else None
    mun = result.municipal[_same_month(result.municipal["competencia"], month)
                           & (result.municipal["alvo"] == alvo).to_numpy()]
    pops = _month_populations(result, month)
    nacional, por_uf = _rates(cube_alvo_month, pops)
    corte = mun["cutoff"].dropna()
    corte = float(corte.iloc[0]) * PER if len(corte) else float("nan")
    vpa = _value_per_admission(cube, month, alvo) if sistema == "SIH" else None
    vpa_own = vpa[vpa["cnes"] == cnes] if vpa is not None else None
    own_excess = sel(result.excess_by_target)
    excesso_pc, excesso_preco, excesso_salto = (
        float(own_excess[c].sum()) for c in ("excesso_per_capita", "excesso_preco", "excesso_salto"))
    reg = _registry_row(registry, cnes, month)

    # rows of the municipal chart and table: municipalities this establishment served
    own_mun = own.groupby("municipio", as_index=False)[["quantidade", "valor"]].sum()
    tot_mun = cube_alvo_month.groupby("municipio")["quantidade"].sum()
    own_mun["total"] = own_mun["municipio"].map(tot_mun).astype(float)
    own_mun["share"] = np.where(own_mun["total"] > 0, own_mun["quantidade"].astype(float) / own_mun["total"], np.nan)
    m_cols = ["municipio", "populacao", "quantidade", "taxa", "cutoff", "excesso_quantidade", "excesso_valor", "reason"]
    m_cols = [c for c in m_cols if c in mun.columns]
    detail = own_mun.rename(columns={"quantidade": "quantidade_est", "valor": "valor_est"}).merge(
        mun[m_cols].drop_duplicates("municipio"), on="municipio", how="left")
    detail["uf"] = detail["municipio"].map(dict(zip(pops["municipio"], pops["uf"]))).astype(object)
    detail["taxa_mun"] = detail["taxa"].astype(float) * PER
    detail["taxa_uf"] = detail["uf"].map(por_uf).astype(float)
    detail["excesso_atribuido"] = detail["share"] * detail["excesso_valor"].astype(float)
    detail = detail.sort_values(["excesso_atribuido", "quantidade_est", "municipio"],
                                ascending=[False, False, True], na_position="last").reset_index(drop=True)

    # --- header
    nome_html = _e(nome) if nome else "<em>(nome do alvo não informado)</em>"
    if reg is not None:
        tp = str(reg.get("tp_unid", "") or "").strip()
        tp = tp.zfill(2) if tp.isdigit() else tp
        tp_txt = f"{tp} — {TP_UNID[tp]}" if tp in TP_UNID else (tp or "não informado")
        local = f"{reg.get('municipio') or '—'} / {reg.get('uf') or '—'}"
    else:
        tp_txt = ("não informado (cadastro CNES não fornecido)" if registry is None
                  else "não encontrado no cadastro CNES")
        local = "não informado"
    n_rank = len(ranking)
    rank_txt = f"{int(rk['rank'])}º de {n_rank}" if rk is not None else "fora do ranking"
    rank_esc_txt = f"{int(rk['rank_escore'])}º de {n_rank}" if rk is not None else "—"
    total_est = fmt_brl(rk["excesso_valor"]) if rk is not None else "—"
    flag_names = sorted(set(flags["flag"]))

    resumo = [
        ("Estabelecimento (CNES)", _e(cnes)),
        ("Município / UF do estabelecimento", _e(local)),
        ("Tipo de unidade (TP_UNID)", _e(tp_txt)),
        ("Alvo de mineração", f"{_e(alvo)} — {nome_html}"),
        ("Sistema", _e("SIH (internações)" if sistema == "SIH" else "SIA (ambulatorial)" if sistema == "SIA"
                       else sistema)),
        ("Competência", _e(fmt_month(month))),
        ("Posição no ranking por excesso de valor (rank)", _e(rank_txt)),
        ("Posição no ranking por escore (rank_escore)", _e(rank_esc_txt)),
        ("Excesso de valor neste alvo",
         f'<span class="destaque">{_e(fmt_brl(excesso_pc + excesso_preco + excesso_salto))}</span>'
         + _e(f" (per capita {fmt_brl(excesso_pc)}; "
              + (f"preço por AIH {fmt_brl(excesso_preco)}; " if sistema == "SIH" else "")
              + f"salto acima de 3× a mediana {fmt_brl(excesso_salto)})")),
        ("Excesso de valor do estabelecimento no mês (todos os alvos)", _e(total_est)),
        ("Produção deste alvo no mês", _e(f"{fmt_qty(own['quantidade'].sum())} procedimentos, "
                                           f"{fmt_brl(own['valor'].sum())}"
                                           + (f", {fmt_qty(own['n_aih'].sum())} AIH" if sistema == "SIH" else ""))),
        ("Sinalizações benignas", _e(", ".join(flag_names) + " (ver seção 5)") if flag_names else "nenhuma"),
    ]
    numbers = iter(range(1, 100))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="pt-BR"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(f'Folha de fatos — CNES {cnes} — {alvo} — {comp_txt}')}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{_e(f'Folha de fatos — CNES {cnes}')}</h1>",
        f"<p>{_e(alvo)} — {nome_html} · competência {_e(fmt_month(month))}</p></header>",
        f'<div class="aviso" role="note"><strong>Atenção:</strong> {_e(DISCLAIMER)}</div>',
        _section("resumo", "Resumo", numbers) + '<dl class="resumo">',
        *(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in resumo),
        "</dl></section>",
    ]

    # --- chart: municipal rates
    parts.append(_section("taxas-municipais", "Taxas municipais", numbers))
    if len(detail):
        shown = detail.sort_values(["quantidade_est", "municipio"], ascending=[False, True]) \
            .head(MAX_MUNICIPALITIES_IN_CHART).sort_values("taxa_mun", ascending=False)
        svg = _chart_rates(shown, nacional, corte, salt + "-taxas", alvo)
        more = (f" Mostrando os {MAX_MUNICIPALITIES_IN_CHART} municípios com maior produção deste "
                f"estabelecimento, de {len(detail)}." if len(detail) > MAX_MUNICIPALITIES_IN_CHART else "")
        caption = ("Produção per capita (por 100 mil habitantes) de cada município de residência atendido por "
                   "este estabelecimento neste alvo e mês, ao lado da taxa da UF do município; linhas: taxa "
                   "nacional e o corte log-normal de 99% ajustado às taxas municipais. Abaixo, a participação do "
                   "estabelecimento na produção de cada município (base da divisão do excesso)." + more)
        parts.append(f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>")
    else:
        parts.append("<p>Sem produção deste estabelecimento neste alvo na competência: nada a mostrar.</p>")
    parts.append(_e_p(f"Taxa nacional: {fmt_num(nacional, 2)} por 100 mil habitantes; "
                      f"corte 99%: {fmt_num(corte, 2)} por 100 mil habitantes."))
    parts.append("</section>")

    # --- chart: production series
    series = _series(cube, cnes, alvo)
    parts.append(_section("serie-producao", "Série de produção", numbers))
    if len(series):
        caption = (f"Quantidade mensal deste estabelecimento no alvo em todos os meses disponíveis; a linha é a "
                   f"mediana dos até {SERIES_WINDOW} meses anteriores disponíveis (meses sem produção contam como "
                   f"0), a mesma base do escore de oscilação (que só é calculado com os {SERIES_WINDOW} meses "
                   f"completos).")
        svg = _chart_series(series, month, salt + "-serie", alvo)
        parts.append(f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>")
    else:
        parts.append("<p>Sem meses no cubo.</p>")
    parts.append("</section>")

    # --- chart: value per AIH (SIH)
    if sistema == "SIH":
        parts.append(_section("valor-por-aih", "Valor por AIH", numbers))
        means = vpa["valor_medio_aih"].astype(float) if vpa is not None else pd.Series(dtype=float)
        has_values = bool(((means > 0) & np.isfinite(means)).any())
        if has_values:
            caption = ("Distribuição nacional do valor médio por AIH (valor total ÷ número de AIH) entre os "
                       "estabelecimentos com internações neste alvo e mês, em escala logarítmica; o escore z "
                       "robusto usa apenas estabelecimentos com pelo menos 5 AIH.")
            svg = _chart_vpa(vpa, cnes, salt + "-aih", alvo)
            parts.append(f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>")
        else:
            parts.append("<p>Sem internações com valor neste alvo e mês.</p>")
        parts.append("</section>")

    # --- flags
    parts.append(_section("sinalizacoes", "Sinalizações benignas", numbers))
    if len(flags):
        parts.append('<ul class="flags">')
        for f in flags.itertuples(index=False):
            named = _missing(f.municipio) or str(f.municipio) in str(f.detail)
            where = "" if named else f" (município {f.municipio})"
            label = FLAG_LABELS.get(f.flag, "")
            parts.append(f"<li><strong>{_e(f.flag)}</strong>{_e(' — ' + label if label else '')}"
                         f"{_e(where)}: {_e(f.detail)}</li>")
        parts.append("</ul><p class=\"nota\">Sinalizações não removem a anomalia: indicam explicações "
                     "legítimas a verificar primeiro.</p>")
    else:
        parts.append("<p>nenhuma</p>")
    parts.append("</section>")

    # --- numbers behind each score
    parts.append(_section("numeros", "Números por trás de cada escore", numbers))
    parts.append("<h3>Escores do estabelecimento</h3>")
    if len(score_rows):
        rows = [[(r.score, False), (fmt_num(r.value, 3), True), (SCORE_DESCRIPTIONS.get(r.score, ""), False),
                 ("" if _missing(r.reason) else str(r.reason), False)]
                for r in score_rows.itertuples(index=False)]
        parts.append(_table(["escore", "valor", "fórmula", "observação (quando não calculado)"], rows))
        parts.append('<p class="nota">Em todos os escores, valores maiores são mais suspeitos.</p>')
    else:
        parts.append("<p>Nenhum escore para este estabelecimento, alvo e competência.</p>")

    parts.append("<h3>Excesso per capita por município de residência</h3>")
    if len(detail):
        rows = [[(r.municipio, False), (r.uf or "—", False), (fmt_qty(r.populacao), True),
                 (fmt_qty(r.quantidade), True),
                 (fmt_qty(r.quantidade_est), True), (fmt_pct(r.share), True), (fmt_num(r.taxa_mun, 2), True),
                 (fmt_num(r.cutoff * PER if not _missing(r.cutoff) else None, 2), True),
                 (fmt_num(r.excesso_quantidade, 2), True), (fmt_brl(r.excesso_valor), True),
                 (fmt_brl(r.excesso_atribuido), True),
                 ("" if _missing(getattr(r, "reason", None)) else str(r.reason), False)]
                for r in detail.itertuples(index=False)]
        parts.append(_table(
            ["município", "UF", "população", "quantidade (município)", "quantidade (estabelecimento)",
             "participação (share)", "taxa (por 100 mil hab.)", "corte 99% (por 100 mil hab.)",
             "excesso de quantidade (município)", "excesso de valor (município)",
             "excesso de valor atribuído ao estabelecimento", "observação"], rows))
        parts.append(_e_p("excesso de quantidade = max(0, quantidade − corte × população); excesso de valor = "
                          "excesso de quantidade × valor médio do município; o excesso de cada município é "
                          "dividido entre os estabelecimentos pela participação na produção do mês."))
    else:
        parts.append("<p>Sem linhas de excesso municipal.</p>")

    if sistema == "SIH":
        parts.append("<h3>Valor por AIH</h3>")
        if vpa_own is not None and len(vpa_own):
            r = vpa_own.iloc[0]
            parts.append(_table(
                ["AIH no mês", "valor médio por AIH", "mediana nacional", "corte 99%", "z robusto",
                 "excesso de valor (preço)", "observação"],
                [[(fmt_qty(r["n_aih"]), True), (fmt_brl(r["valor_medio_aih"]), True),
                  (fmt_brl(r["mediana_nacional"]), True), (fmt_brl(r["corte_valor_aih"]), True),
                  (fmt_num(r["z_robusto"], 3), True), (fmt_brl(r["excesso_valor"]), True),
                  ("" if _missing(r["reason"]) else str(r["reason"]), False)]]))
            parts.append(_e_p("excesso de valor (preço) = AIH × max(0, valor médio por AIH − corte 99%)."))
        else:
            parts.append("<p>Sem internações deste estabelecimento neste alvo e mês.</p>")
    parts.append("</section>")
    parts.append(f"<footer>{_e(f'Vigia — folha de fatos gerada a partir dos escores da competência {comp_txt}. ')}"
                 f"{_e(DISCLAIMER)}</footer></body></html>")
    return "\n".join(parts) + "\n"


def _section(section_id: str, title: str, numbers) -> str:
    return f'<section id="{section_id}"><h2>{next(numbers)}. {_e(title)}</h2>'


def _e_p(text: str) -> str:
    return f'<p class="nota">{_e(text)}</p>'


# ----------------------------------------------------------------------------- files


def write(path: Path | str, html_text: str) -> Path:
    """Write ``html_text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html_text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a report: readable by the web server and the auditors' accounts
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_name(competencia, cnes: str, alvo: str) -> str:
    """``<YYYY-MM>_<cnes>_<alvo>.html`` (characters outside ``[A-Za-z0-9._-]`` become ``_``)."""
    def safe(s) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", str(s))

    return f"{pd.Timestamp(competencia):%Y-%m}_{safe(cnes)}_{safe(alvo)}.html"


def select_top(result: MonthScores, cube: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The (cnes, alvo) of the sheets to write: the ``top`` establishments by ``rank`` of each month.

    For each establishment, the target with its largest excess value (per-capita
    excess attributed to it plus, for SIH, the price excess of its admissions,
    as in the ranking); when it has no excess, the target of its most extreme
    score (highest percentile of the value among all rows of that score and
    month; ties by value, then alvo).

    Returns competencia, cnes, alvo, rank, criterio ('excesso' or the score name).
    """
    cols = ["competencia", "cnes", "alvo", "rank", "criterio"]
    out = []
    r = result.ranking.copy()
    if r.empty:
        return pd.DataFrame(columns=cols)
    r["_mes"] = _month_ts(r["competencia"]).to_numpy()
    for mes, g in r.groupby("_mes", sort=True):
        g = g.nsmallest(int(top), "rank")
        exc = result.excess_by_target[_same_month(result.excess_by_target["competencia"], mes)]
        exc = exc.assign(excesso_valor=exc["excesso_valor"].astype(float).fillna(0.0))
        sc = result.scores[_same_month(result.scores["competencia"], mes)]
        sc = sc[sc["value"].notna()].copy()
        sc["value"] = sc["value"].astype(float)
        sc["pct"] = sc.groupby("score")["value"].rank(method="average", pct=True)
        for row in g.itertuples(index=False):
            e = exc[(exc["cnes"] == row.cnes) & (exc["excesso_valor"] > 0)]
            if len(e):
                best = e.sort_values(["excesso_valor", "alvo"], ascending=[False, True]).iloc[0]
                out.append((mes.date(), row.cnes, best["alvo"], int(row.rank), "excesso"))
                continue
            s = sc[sc["cnes"] == row.cnes]
            if len(s):
                best = s.sort_values(["pct", "value", "alvo"], ascending=[False, False, True]).iloc[0]
                out.append((mes.date(), row.cnes, best["alvo"], int(row.rank), best["score"]))
    return pd.DataFrame(out, columns=cols)


def render_top(result: MonthScores, cube: pd.DataFrame, target_names: dict[str, str],
               registry: pd.DataFrame | None, out_dir: Path | str, top: int = 20) -> list[Path]:
    """Write the sheets chosen by :func:`select_top` to ``out_dir`` (one per establishment); their paths."""
    out_dir = Path(out_dir)
    paths = []
    for row in select_top(result, cube, top).itertuples(index=False):
        page = render(row.cnes, row.alvo, row.competencia, cube, result, target_names, registry)
        paths.append(write(out_dir / file_name(row.competencia, row.cnes, row.alvo), page))
    return paths
