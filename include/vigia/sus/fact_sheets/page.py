"""The HTML of one fact sheet, from its :class:`~vigia.sus.fact_sheets.data.SheetData` and its charts.

:func:`charts_of` lists the charts a sheet shows; :func:`page` lays out the page around their SVG;
:func:`render_sheet` does both.
The page carries no external resource (charts are inline SVG), escapes every text value with
:func:`html.escape`, formats numbers the Brazilian way (``R$ 1.234,56``) and says, prominently,
that a statistical anomaly is not proof of fraud.
"""

from __future__ import annotations

import numpy as np

from vigia.sus.fact_sheets import charts
from vigia.sus.fact_sheets.data import PER, SERIES_WINDOW, SheetData
from vigia.sus.fact_sheets.formatting import esc, fmt_brl, fmt_month, fmt_num, fmt_pct, fmt_qty, is_missing
from vigia.sus.fact_sheets.texts import CSS, DISCLAIMER, FLAG_LABELS, SCORE_DESCRIPTIONS, TP_UNID
from vigia.sus.geo import UF_BY_CODE

MAX_MUNICIPALITIES_IN_CHART = 25

RATES, SERIES, VALUE_PER_AIH = "taxas-municipais", "serie-producao", "valor-por-aih"  # section ids


def charts_of(d: SheetData) -> dict[str, charts.Chart]:
    """The charts of the sheet, by the id of the section that shows them."""
    salt = f"vigia-{d.month:%Y-%m}-{d.cnes}-{d.alvo}"
    out = {}
    if len(d.detail):
        shown = d.detail.sort_values(["quantidade_est", "municipio"], ascending=[False, True]) \
            .head(MAX_MUNICIPALITIES_IN_CHART).sort_values("taxa_mun", ascending=False)
        out[RATES] = charts.Chart(charts.rates_chart, (shown, d.target.nacional, d.target.corte, salt + "-taxas",
                                                       d.alvo))
    if len(d.series):
        out[SERIES] = charts.Chart(charts.series_chart, (d.series, d.month, salt + "-serie", d.alvo))
    vpa = d.target.vpa
    if d.target.sistema == "SIH" and vpa is not None:
        means = vpa["valor_medio_aih"].astype(float)
        if ((means > 0) & np.isfinite(means)).any():
            out[VALUE_PER_AIH] = charts.Chart(charts.value_per_admission_chart, (vpa, d.cnes, salt + "-aih", d.alvo))
    return out


def render_sheet(d: SheetData, target_names: dict[str, str]) -> str:
    """The sheet as one self-contained HTML page, its charts drawn; ``target_names``: alvo -> nome."""
    return page(d, target_names, {section: chart.draw() for section, chart in charts_of(d).items()})


def page(d: SheetData, target_names: dict[str, str], svgs: dict[str, str]) -> str:
    """The sheet as one self-contained HTML page.

    ``target_names``: alvo -> nome; ``svgs``: the drawn :func:`charts_of` the sheet, by section id.
    """
    comp_txt = f"{d.month:%Y-%m}"
    nome = target_names.get(d.alvo)
    nome_html = esc(nome) if nome else "<em>(nome do alvo não informado)</em>"
    sih = d.target.sistema == "SIH"
    numbers = iter(range(1, 100))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="pt-BR"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(f'Folha de fatos — CNES {d.cnes} — {d.alvo} — {comp_txt}')}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{esc(f'Folha de fatos — CNES {d.cnes}')}</h1>",
        f"<p>{esc(d.alvo)} — {nome_html} · competência {esc(fmt_month(d.month))}</p></header>",
        f'<div class="aviso" role="note"><strong>Atenção:</strong> {esc(DISCLAIMER)}</div>',
        _section("resumo", "Resumo", numbers) + '<dl class="resumo">',
        *(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in _summary(d, nome_html, flags_section=5 if sih else 4)),
        "</dl></section>",
        _section(RATES, "Taxas municipais", numbers) + _rates(d, svgs.get(RATES)) + "</section>",
        _section(SERIES, "Série de produção", numbers) + _series(svgs.get(SERIES)) + "</section>",
    ]
    if sih:
        parts.append(_section(VALUE_PER_AIH, "Valor por AIH", numbers) + _value_per_aih(svgs.get(VALUE_PER_AIH))
                     + "</section>")
    parts += [
        _section("sinalizacoes", "Sinalizações benignas", numbers) + _flags(d) + "</section>",
        _section("numeros", "Números por trás de cada escore", numbers) + _numbers(d) + "</section>",
        f"<footer>{esc(f'Vigia — folha de fatos gerada a partir dos escores da competência {comp_txt}. ')}"
        f"{esc(DISCLAIMER)}</footer></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(d: SheetData, nome_html: str, flags_section: int) -> list[tuple[str, str]]:
    """(label, HTML value) rows of the summary."""
    reg, rk, own, sistema = d.registry, d.rank, d.own, d.target.sistema
    if reg is not None:
        tp = str(reg.get("tp_unid", "") or "").strip()
        tp = tp.zfill(2) if tp.isdigit() else tp
        tp_txt = f"{tp} — {TP_UNID[tp]}" if tp in TP_UNID else (tp or "não informado")
        local = f"{reg.get('municipio') or '—'} / {reg.get('uf') or '—'}"
    else:
        tp_txt = ("não informado (cadastro CNES não fornecido)" if not d.registry_given
                  else "não encontrado no cadastro CNES")
        local = "não informado"
    rank_txt = f"{int(rk['rank'])}º de {d.n_rank}" if rk is not None else "fora do ranking"
    rank_esc_txt = f"{int(rk['rank_escore'])}º de {d.n_rank}" if rk is not None else "—"
    total_est = fmt_brl(rk["excesso_valor"]) if rk is not None else "—"
    flag_names = sorted(set(d.flags["flag"]))
    excesso_pc, excesso_preco, excesso_salto = d.excess
    return [
        ("Estabelecimento (CNES)", esc(d.cnes)),
        ("Município / UF do estabelecimento", esc(local)),
        ("Tipo de unidade (TP_UNID)", esc(tp_txt)),
        ("Alvo de mineração", f"{esc(d.alvo)} — {nome_html}"),
        ("Sistema", esc("SIH (internações)" if sistema == "SIH" else "SIA (ambulatorial)" if sistema == "SIA"
                        else sistema)),
        ("Competência", esc(fmt_month(d.month))),
        ("Posição no ranking por excesso de valor (rank)", esc(rank_txt)),
        ("Posição no ranking por escore (rank_escore)", esc(rank_esc_txt)),
        ("Excesso de valor neste alvo",
         f'<span class="destaque">{esc(fmt_brl(excesso_pc + excesso_preco + excesso_salto))}</span>'
         + esc(f" (per capita {fmt_brl(excesso_pc)}; "
               + (f"preço por AIH {fmt_brl(excesso_preco)}; " if sistema == "SIH" else "")
               + f"salto acima de 3× a mediana {fmt_brl(excesso_salto)})")),
        ("Excesso de valor do estabelecimento no mês (todos os alvos)", esc(total_est)),
        ("Produção deste alvo no mês", esc(f"{fmt_qty(own['quantidade'].sum())} procedimentos, "
                                           f"{fmt_brl(own['valor'].sum())}"
                                           + (f", {fmt_qty(own['n_aih'].sum())} AIH" if sistema == "SIH" else ""))),
        ("Sinalizações benignas",
         esc(", ".join(flag_names) + f" (ver seção {flags_section})") if flag_names else "nenhuma"),
    ]


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _rates(d: SheetData, svg: str | None) -> str:
    if svg is not None:
        n = len(d.detail)
        more = (f" Mostrando os {MAX_MUNICIPALITIES_IN_CHART} municípios com maior produção deste "
                f"estabelecimento, de {n}." if n > MAX_MUNICIPALITIES_IN_CHART else "")
        body = _figure(svg, "Produção per capita (por 100 mil habitantes) de cada município de residência atendido "
                            "por este estabelecimento neste alvo e mês, ao lado da taxa da UF do município; linhas: "
                            "taxa nacional e o corte log-normal de 99% ajustado às taxas municipais. Abaixo, a "
                            "participação do estabelecimento na produção de cada município (base da divisão do "
                            "excesso)." + more)
    else:
        body = "<p>Sem produção deste estabelecimento neste alvo na competência: nada a mostrar.</p>"
    ufs = d.target.ufs
    over = (f" A taxa nacional é a das {len(ufs)} UFs com arquivos do mês no armazém ({', '.join(ufs)})."
            if 0 < len(ufs) < len(UF_BY_CODE) else "")
    return "\n" + body + "\n" + _note(f"Taxa nacional: {fmt_num(d.target.nacional, 2)} por 100 mil habitantes; "
                                      f"corte 99%: {fmt_num(d.target.corte, 2)} por 100 mil habitantes." + over) + "\n"


def _series(svg: str | None) -> str:
    if svg is None:
        return "\n<p>Sem meses no cubo.</p>\n"
    return "\n" + _figure(svg, f"Quantidade mensal deste estabelecimento no alvo em todos os meses disponíveis; a "
                               f"linha é a mediana dos até {SERIES_WINDOW} meses anteriores disponíveis (meses sem "
                               f"produção contam como 0), a mesma base do escore de oscilação (que só é calculado com "
                               f"os {SERIES_WINDOW} meses completos).") + "\n"


def _value_per_aih(svg: str | None) -> str:
    if svg is None:
        return "\n<p>Sem internações com valor neste alvo e mês.</p>\n"
    return "\n" + _figure(svg, "Distribuição nacional do valor médio por AIH (valor total ÷ número de AIH) entre os "
                               "estabelecimentos com internações neste alvo e mês, em escala logarítmica; o escore z "
                               "robusto usa apenas estabelecimentos com pelo menos 5 AIH.") + "\n"


def _flags(d: SheetData) -> str:
    if not len(d.flags):
        return "\n<p>nenhuma</p>\n"
    items = []
    for f in d.flags.itertuples(index=False):
        named = is_missing(f.municipio) or str(f.municipio) in str(f.detail)
        where = "" if named else f" (município {f.municipio})"
        label = FLAG_LABELS.get(f.flag, "")
        items.append(f"<li><strong>{esc(f.flag)}</strong>{esc(' — ' + label if label else '')}"
                     f"{esc(where)}: {esc(f.detail)}</li>")
    return "\n".join(["", '<ul class="flags">', *items,
                      '</ul><p class="nota">Sinalizações não removem a anomalia: indicam explicações legítimas a '
                      'verificar primeiro.</p>', ""])


def _k(d: SheetData) -> str:
    """The threshold multiplier as the sheet writes it: '3', '2,5'."""
    k = float(d.target.k)
    return fmt_num(k, 0) if k.is_integer() else fmt_num(k, 2).rstrip("0")


def _numbers(d: SheetData) -> str:
    """The tables behind each score: the establishment's scores, the municipal excess, the value per AIH."""
    parts = ["", "<h3>Escores do estabelecimento</h3>"]
    if len(d.scores):
        rows = [[(r.score, False), (fmt_num(r.value, 3), True),
                 (SCORE_DESCRIPTIONS.get(r.score, "").replace("{k}", _k(d)), False),
                 ("" if is_missing(r.reason) else str(r.reason), False)]
                for r in d.scores.itertuples(index=False)]
        parts.append(_table(["escore", "valor", "fórmula", "observação (quando não calculado)"], rows))
        parts.append('<p class="nota">Em todos os escores, valores maiores são mais suspeitos.</p>')
    else:
        parts.append("<p>Nenhum escore para este estabelecimento, alvo e competência.</p>")

    parts.append("<h3>Excesso per capita por município de residência</h3>")
    if len(d.detail):
        rows = [[(r.municipio, False), (r.uf or "—", False), (fmt_qty(r.populacao), True),
                 (fmt_qty(r.quantidade), True),
                 (fmt_qty(r.quantidade_est), True), (fmt_pct(r.share), True), (fmt_num(r.taxa_mun, 2), True),
                 (fmt_num(r.cutoff * PER if not is_missing(r.cutoff) else None, 2), True),
                 (fmt_num(r.excesso_quantidade, 2), True), (fmt_brl(r.excesso_valor), True),
                 (fmt_brl(r.excesso_atribuido), True),
                 (fmt_num(r.taxa_eb, 2), True), (fmt_num(r.limiar, 2), True), (fmt_num(r.dif, 2), True),
                 (fmt_num(r.escore_municipal, 2), True),
                 ("" if is_missing(getattr(r, "reason", None)) else str(r.reason), False)]
                for r in d.detail.itertuples(index=False)]
        parts.append(_table(
            ["município", "UF", "população", "quantidade (município)", "quantidade (estabelecimento)",
             "participação (share)", "taxa (por 100 mil hab.)", "corte 99% (por 100 mil hab.)",
             "excesso de quantidade (município)", "excesso de valor (município)",
             "excesso de valor atribuído ao estabelecimento", "taxa EB (por 100 mil hab.)",
             f"limiar ({_k(d)} × taxa nacional)", "dif = max(0, taxa EB − limiar)", "escore municipal (12 meses)",
             "observação"], rows))
        parts.append(_note("excesso de quantidade = max(0, quantidade − corte × população); excesso de valor = "
                           "excesso de quantidade × valor médio do município; o excesso de cada município é "
                           "dividido entre os estabelecimentos pela participação na produção do mês. "
                           "Escore per capita: taxa EB = taxa bayesiana empírica (Marshall) do município; "
                           "escore municipal = soma de dif nos 12 meses; o escore do estabelecimento soma o "
                           "escore municipal de cada município pela sua participação na produção dos 12 meses."))
    else:
        parts.append("<p>Sem linhas de excesso municipal.</p>")

    if d.target.sistema == "SIH":
        parts.append("<h3>Valor por AIH</h3>")
        if d.vpa_own is not None and len(d.vpa_own):
            r = d.vpa_own.iloc[0]
            parts.append(_table(
                ["AIH no mês", "valor médio por AIH", "mediana nacional", "corte 99%", "z robusto",
                 "excesso de valor (preço)", "observação"],
                [[(fmt_qty(r["n_aih"]), True), (fmt_brl(r["valor_medio_aih"]), True),
                  (fmt_brl(r["mediana_nacional"]), True), (fmt_brl(r["corte_valor_aih"]), True),
                  (fmt_num(r["z_robusto"], 3), True), (fmt_brl(r["excesso_valor"]), True),
                  ("" if is_missing(r["reason"]) else str(r["reason"]), False)]]))
            parts.append(_note("excesso de valor (preço) = AIH × max(0, valor médio por AIH − corte 99%)."))
        else:
            parts.append("<p>Sem internações deste estabelecimento neste alvo e mês.</p>")
    return "\n".join(parts) + "\n"


def _table(headers: list[str], rows: list[list[tuple[str, bool]]]) -> str:
    """headers (plain text) and rows of (already formatted text, is_number) cells; everything escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{esc(t)}</td>' if num else f"<td>{esc(t)}</td>" for t, num in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(section_id: str, title: str, numbers) -> str:
    return f'<section id="{section_id}"><h2>{next(numbers)}. {esc(title)}</h2>'


def _note(text: str) -> str:
    return f'<p class="nota">{esc(text)}</p>'
