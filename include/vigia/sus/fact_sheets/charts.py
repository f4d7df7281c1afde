"""The fact sheets' charts, drawn by matplotlib (non-interactive Agg canvas, no pyplot) as inline SVG.

* :func:`rates_chart` (**taxas municipais**): for every municipality of residence the
  establishment served, the municipality's rate per 100,000 next to its state's (UF), with the
  national rate and the log-normal 99% cutoff as lines; below, the establishment's share of each
  municipality's production;
* :func:`series_chart` (**série de produção**): the establishment's monthly quantity over every month
  of the cube, with the median of the (up to) 12 previous months as a line;
* :func:`value_per_admission_chart` (**valor por AIH**, SIH targets): the national distribution of the
  mean value per admission (histogram, log scale), with this establishment, the national median and
  the 99% cutoff marked.

A sheet lists its charts as :class:`Chart` values (:func:`vigia.sus.fact_sheets.page.charts_of`).
matplotlib is imported inside the functions: importing the package stays cheap. Drawing dominates
the time of a sheet (~0.1 s of CPU per chart): each figure is laid out once (see :func:`_svg`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from vigia.sus.fact_sheets.data import SERIES_WINDOW
from vigia.sus.fact_sheets.formatting import MESES_ABREV, esc, fmt_brl, fmt_num


def _svg(fig, salt: str, label: str) -> str:
    """A matplotlib figure as inline SVG: no XML prolog, no namespace URLs, deterministic ids.

    The figure carries no layout engine: the constrained layout runs once, here, measured on the
    Agg canvas, before saving. With the engine attached, ``savefig`` draws twice (a dry draw, then
    the real one), laying the figure out each time: ~40% of the charts' time.
    """
    import matplotlib
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    ConstrainedLayoutEngine().execute(fig)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    s = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", s, count=0)
    s = re.sub(r"<metadata>.*?</metadata>", "", s, flags=re.S)
    return s.replace("<svg", f'<svg role="img" aria-label="{esc(label)}"', 1)


def _figure(width: float, height: float, nrows: int = 1, height_ratios=None):
    # Agg canvas on a bare Figure: no pyplot, so a caller's pyplot backend is never switched
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="none")  # laid out once by _svg
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


def rates_chart(rows: pd.DataFrame, nacional: float, corte: float, salt: str, alvo: str) -> str:
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


def series_chart(series: pd.DataFrame, competencia, salt: str, alvo: str) -> str:
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


def value_per_admission_chart(vpa: pd.DataFrame, cnes: str, salt: str, alvo: str) -> str:
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


@dataclass(frozen=True)
class Chart:
    """One chart to draw: a chart function of this module and its arguments."""

    function: Callable[..., str]
    args: tuple

    def draw(self) -> str:
        """The chart as inline SVG."""
        return self.function(*self.args)
