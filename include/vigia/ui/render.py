"""HTML of the Vigia page: server-rendered, one small stylesheet, every value escaped.

Numbers are shown in Brazilian format (``vigia.ui.fmt``) and carry their raw value in
``data-value`` so scripts and tests can read them back exactly. Links are relative
(``glosa?...``, ``sus/folhas/...``), so the page works under any prefix it is mounted at.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

import pandas as pd

from vigia.ui import fmt
from vigia.ui.sections import Section

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --accent:#0b6e4f; --bg:#f7f9fa; --warn:#8a5a00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { padding:16px 24px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { margin:0; font-size:20px; } header p { margin:4px 0 0; color:var(--muted); }
main { padding:16px 24px; display:grid; gap:16px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px; }
section h2 { margin:0 0 8px; font-size:16px; }
.meta { color:var(--muted); margin:0 0 8px; }
.totals { display:flex; flex-wrap:wrap; gap:24px; margin:8px 0 12px; }
.totals div { display:flex; flex-direction:column; } .totals b { font-size:18px; }
.totals span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.status { color:var(--warn); margin:4px 0; }
a { color:var(--accent); } .links { margin-top:8px; display:flex; gap:16px; flex-wrap:wrap; }
form.filters { display:flex; gap:8px; flex-wrap:wrap; align-items:end; margin:0 0 8px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
pre { white-space:pre-wrap; background:var(--bg); padding:12px; border-radius:6px; }
.flag { display:inline-block; background:#fff4e0; color:var(--warn); border-radius:4px; padding:0 6px; margin:1px; font-size:12px; }
"""


def e(value) -> str:
    return escape("" if value is None or fmt.missing(value) else str(value))


def _num_cell(value, text: str) -> str:
    raw = "" if fmt.missing(value) else repr(float(value))
    return f'<td class="num" data-value="{escape(raw)}">{escape(text)}</td>'


def _total(label: str, value, text: str, ident: str) -> str:
    raw = "" if fmt.missing(value) else repr(float(value))
    return (f'<div><b id="{ident}" data-value="{escape(raw)}">{escape(text)}</b>'
            f"<span>{escape(label)}</span></div>")


def page(title: str, body: str, subtitle: str = "") -> str:
    sub = f"<p>{escape(subtitle)}</p>" if subtitle else ""
    return (f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><header><h1>{escape(title)}</h1>{sub}</header><main>{body}</main></body></html>")


def _status(s: Section) -> str:
    return f'<p class="status" data-status="{e(s.status)}">{e(s.message)}</p>' if s.message else ""


def _month_select(name: str, months: list, chosen) -> str:
    opts = "".join(f'<option value="{m:%Y-%m}"{" selected" if m == chosen else ""}>{m:%Y-%m}</option>'
                   for m in months)
    return f'<label>Competência<select name="{name}">{opts}</select></label>'


def glosa(s: Section, top: int, full: bool = False) -> str:
    out = [f'<section id="glosa" data-status="{e(s.status)}"><h2>{e(s.title)}</h2>']
    if s.status == "missing":
        return "".join(out) + _status(s) + "</section>"
    if s.competencia is not None:
        hospitals = "".join(
            f'<option value="{e(h)}"{" selected" if h == s.extra.get("hospital") else ""}>{e(h)}</option>'
            for h in s.extra.get("hospitals", []))
        out.append(f'<form class="filters" method="get" action="{"glosa" if full else "."}">'
                   f"{_month_select('competencia', s.months, s.competencia)}"
                   f'<label>Hospital<select name="hospital"><option value="">Todos</option>{hospitals}</select></label>'
                   f'<input type="hidden" name="top" value="{int(top)}"><button type="submit">Filtrar</button></form>')
        out.append(f'<p class="meta">Competência <b id="glosa-competencia">{s.competencia:%Y-%m}</b>; '
                   f"perfis ordenados pelo valor glosado (maior primeiro).</p>")
    out.append(_status(s))
    if s.totals:
        t = s.totals
        out.append('<div class="totals">'
                   + _total("glosa total da competência (todos os perfis)", t["total_glosa"], fmt.brl(t["total_glosa"]), "glosa-total")
                   + _total("perfis de cluster", t["perfis"], fmt.num(t["perfis"]), "glosa-n-perfis")
                   + _total("hospitais", t["hospitais"], fmt.num(t["hospitais"]), "glosa-hospitais")
                   + _total("células", t["celulas"], fmt.num(t["celulas"]), "glosa-celulas") + "</div>")
    if not s.rows.empty:
        head = ("<tr><th class=num>#</th><th>Hospital</th><th>Convênio</th><th>Tipo de glosa</th>"
                "<th class=num>Cluster</th><th class=num>Células</th><th class=num>Glosa total</th>"
                "<th class=num>% do segmento</th><th>Descrição</th></tr>")
        body = "".join(
            f'<tr data-rank="{int(r.rank_overall)}">{_num_cell(r.rank_overall, fmt.num(r.rank_overall))}'
            f"<td>{e(r.hospital)}</td><td>{e(r.convenio)}</td><td>{e(r.tipo_glosa)}</td>"
            f"{_num_cell(r.cluster, fmt.num(r.cluster))}{_num_cell(r.size, fmt.num(r.size))}"
            f"{_num_cell(r.total_glosa, fmt.brl(r.total_glosa))}"
            f"{_num_cell(r.share_of_segment_glosa, fmt.pct(r.share_of_segment_glosa))}"
            f"<td>{e(r.descricao)}</td></tr>" for r in s.rows.itertuples())
        out.append(f'<table id="glosa-perfis"><thead>{head}</thead><tbody>{body}</tbody></table>')
    if s.competencia is not None and not full:
        q = urlencode({"competencia": f"{s.competencia:%Y-%m}", **({"hospital": s.extra["hospital"]}
                                                                   if s.extra.get("hospital") else {})})
        out.append(f'<div class="links"><a id="glosa-completo" href="glosa?{escape(q)}">Relatório completo</a>'
                   f'<a href="glosa/base_cluster_por_hospital.csv">CSV do Power BI</a></div>')
    return "".join(out) + "</section>"


def _flags(value) -> str:
    if fmt.missing(value) or not value:
        return ""
    return "".join(f'<span class="flag">{e(f)}</span>' for f in str(value).split(",") if f)


def _target_select(alvos: list, chosen) -> str:
    opts = "".join(f'<option value="{e(a)}"{" selected" if a == chosen else ""}>{e(label)}</option>'
                   for a, label in alvos)
    return f'<label>Alvo<select name="alvo" id="sus-alvos"><option value="">todos</option>{opts}</select></label>'


def sus(s: Section, top: int, full: bool = False) -> str:
    out = [f'<section id="sus" data-status="{e(s.status)}"><h2>{e(s.title)}</h2>']
    if s.status == "missing":
        return "".join(out) + _status(s) + "</section>"
    alvo = s.extra.get("alvo")
    if s.competencia is not None:
        out.append(f'<form class="filters" method="get" action="{"sus" if full else "."}">'
                   f"{_month_select('sus_competencia' if not full else 'competencia', s.months, s.competencia)}"
                   f'<label>UF<input name="uf" size="3" maxlength="2" value="{e(s.extra.get("uf"))}"></label>'
                   f'{_target_select(s.extra.get("alvos", []), alvo) if s.extra.get("alvos") or alvo else ""}'
                   f'<input type="hidden" name="top" value="{int(top)}"><button type="submit">Filtrar</button></form>')
        order = (f"estabelecimentos ordenados pelo excesso estimado no alvo <b id=\"sus-alvo\">{e(alvo)}</b> "
                 "(explicações benignas: as do estabelecimento)" if alvo
                 else "estabelecimentos ordenados pelo valor estimado do excesso")
        out.append(f'<p class="meta">Competência <b id="sus-competencia">{s.competencia:%Y-%m}</b>; '
                   f"{order}. Anomalia não é fraude.</p>")
    out.append(_status(s))
    if s.totals:
        t = s.totals
        scope = "no alvo" if alvo else "todo o ranking"
        out.append('<div class="totals">'
                   + _total(f"excesso estimado ({scope})", t["excesso_total"], fmt.brl(t["excesso_total"]), "sus-total")
                   + _total("estabelecimentos com o alvo" if alvo else "estabelecimentos no ranking",
                            t["estabelecimentos"], fmt.num(t["estabelecimentos"]), "sus-estabelecimentos")
                   + _total("com explicação benigna", t["com_explicacao"], fmt.num(t["com_explicacao"]), "sus-benignos")
                   + "</div>")
    if not s.rows.empty:
        out.append(_sus_target_table(s.rows) if alvo else _sus_ranking_table(s.rows))
    if s.competencia is not None and not full:
        q = urlencode({"competencia": f"{s.competencia:%Y-%m}", **({"uf": s.extra["uf"]} if s.extra.get("uf") else {}),
                       **({"alvo": alvo} if alvo else {})})
        out.append(f'<div class="links"><a id="sus-completo" href="sus?{escape(q)}">Ranking completo</a></div>')
    return "".join(out) + "</section>"


def _sheet_link(r) -> str:
    href = r.folha_href if isinstance(r.folha_href, str) and r.folha_href else None
    return f'<a class="folha" href="{escape(href)}">abrir</a>' if href else "—"


def _sus_ranking_table(rows: pd.DataFrame) -> str:
    head = ("<tr><th class=num>#</th><th>CNES</th><th>UF</th><th>Município</th><th class=num>Excesso (R$)</th>"
            "<th class=num>Escore máximo</th><th>Explicações benignas</th><th>Folha de fatos</th></tr>")
    body = "".join(
        f'<tr data-rank="{int(r.rank)}">{_num_cell(r.rank, fmt.num(r.rank))}<td>{e(r.cnes)}</td>'
        f"<td>{e(r.uf)}</td><td>{e(r.municipio)}</td>"
        f"{_num_cell(r.excesso_valor, fmt.brl(r.excesso_valor))}"
        f"{_num_cell(r.escore_maximo, fmt.pct(r.escore_maximo))}"
        f"<td>{_flags(r.flags)}</td><td>{_sheet_link(r)}</td></tr>"
        for r in rows.itertuples())
    return f'<table id="sus-ranking"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _sus_target_table(rows: pd.DataFrame) -> str:
    """One target: position by the target's excess, its three parts, the establishment's overall rank
    and total excess (``sus_top_ranking_alvo.sql``)."""
    head = ("<tr><th class=num>#</th><th>CNES</th><th>UF</th><th>Município</th><th class=num>Excesso no alvo (R$)</th>"
            "<th class=num>per capita</th><th class=num>preço</th><th class=num>salto</th>"
            "<th class=num>Excesso total (R$)</th><th class=num>Posição geral</th>"
            "<th>Explicações benignas</th><th>Folha de fatos</th></tr>")
    body = "".join(
        f'<tr data-posicao="{int(r.posicao)}">{_num_cell(r.posicao, fmt.num(r.posicao))}<td>{e(r.cnes)}</td>'
        f"<td>{e(r.uf)}</td><td>{e(r.municipio)}</td>"
        f"{_num_cell(r.excesso_alvo, fmt.brl(r.excesso_alvo))}"
        f"{_num_cell(r.excesso_per_capita, fmt.brl(r.excesso_per_capita))}"
        f"{_num_cell(r.excesso_preco, fmt.brl(r.excesso_preco))}"
        f"{_num_cell(r.excesso_salto, fmt.brl(r.excesso_salto))}"
        f"{_num_cell(r.excesso_valor, fmt.brl(r.excesso_valor))}"
        f"{_num_cell(r.rank, fmt.num(r.rank))}"
        f"<td>{_flags(r.flags)}</td><td>{_sheet_link(r)}</td></tr>"
        for r in rows.itertuples())
    return f'<table id="sus-alvo-ranking"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _value(v) -> str:
    if isinstance(v, float):
        return fmt.num(v, 4)
    if isinstance(v, pd.Timestamp):
        return v.isoformat(sep=" ", timespec="minutes")
    return "" if fmt.missing(v) else str(v)


def regulation(s: Section) -> str:
    card = s.extra.get("card")
    out = [f'<section id="regulacao" data-status="{e(s.status)}"><h2>{e(s.title)}</h2>']
    if card is not None and card.exists:
        label = "campeão" if card.champion else "mais recente"
        out.append(f'<p class="meta">Model card ({label}): <b id="model-card">{e(card.version)}</b> '
                   f'(<a id="model-card-link" href="regulacao/modelo">ver completo</a>)</p>')
        if card.error:
            out.append(f'<p class="status">{e(card.error)}</p>')
        if card.fields:
            rows = "".join(f"<tr><th>{e(k)}</th><td>{e(_value(v))}</td></tr>" for k, v in list(card.fields.items())[:12])
            out.append(f'<table id="model-card-campos">{rows}</table>')
    else:
        out.append('<p class="status" id="sem-modelo">Nenhum modelo ainda (nenhum model card no registro de modelos).</p>')
    out.append(_status(s))
    if s.totals and s.status != "missing":
        t = s.totals
        out.append('<div class="totals">' + _total("retreinamentos", t["execucoes"], fmt.num(t["execucoes"]), "modelo-execucoes")
                   + _total("promoções", t["promocoes"], fmt.num(t["promocoes"]), "modelo-promocoes") + "</div>")
    if not s.rows.empty:
        head = ("<tr><th>Corte</th><th>Execução</th><th class=num>Candidatos</th><th>Promovido</th><th>Modelo</th>"
                "<th class=num>Kappa (holdout)</th><th class=num>F1 (holdout)</th><th>Campeão após</th></tr>")
        body = "".join(
            f"<tr><td>{e(fmt.day(r['cutoff']))}</td><td>{e(r['run_id'])}</td>"
            f"{_num_cell(r['candidatos'], fmt.num(r['candidatos']))}<td>{e(r['promovido']) or 'não'}</td>"
            f"<td>{e(r['modelo_promovido'])}</td>{_num_cell(r['holdout_kappa'], fmt.num(r['holdout_kappa'], 3))}"
            f"{_num_cell(r['holdout_f1'], fmt.num(r['holdout_f1'], 3))}"
            f"<td>{e(r['campeao_apos']) or '(de execução anterior)'}</td></tr>"
            for r in s.rows.to_dict("records"))
        out.append(f'<p class="meta">Histórico de campeões, mais recentes primeiro.</p>'
                   f'<table id="modelo-historico"><thead>{head}</thead><tbody>{body}</tbody></table>')
    return "".join(out) + "</section>"


def rules(s: Section) -> str:
    out = [f'<section id="regras" data-status="{e(s.status)}"><h2>{e(s.title)}</h2>', _status(s)]
    if s.totals and s.status != "missing" and not fmt.missing(s.totals.get("intervalo_fim")):
        t = s.totals
        out.append(f'<p class="meta">Intervalo {e(_value(pd.Timestamp(t["intervalo_inicio"])))} a '
                   f'{e(_value(pd.Timestamp(t["intervalo_fim"])))}.</p>')
        out.append('<div class="totals">'
                   + _total("solicitações", t["solicitacoes"], fmt.num(t["solicitacoes"]), "regras-solicitacoes")
                   + _total("decididas por regra", t["automatizadas"], fmt.num(t["automatizadas"]), "regras-automatizadas")
                   + _total("disparos", t["disparos"], fmt.num(t["disparos"]), "regras-disparos")
                   + _total("regras ativadas", t["regras"], fmt.num(t["regras"]), "regras-distintas") + "</div>")
    if not s.rows.empty:
        head = ("<tr><th>Regra</th><th>Resultado</th><th class=num>Disparos</th><th class=num>Decisões</th>"
                "<th>Versão das regras</th></tr>")
        body = "".join(
            f"<tr><td>{e(r['id_regra'])}</td><td>{e(r['resultado'])}</td>"
            f"{_num_cell(r['disparos'], fmt.num(r['disparos']))}{_num_cell(r['decisoes'], fmt.num(r['decisoes']))}"
            f"<td>{e(r['versao_regras'])}</td></tr>" for r in s.rows.to_dict("records"))
        out.append(f'<table id="regras-tabela"><thead>{head}</thead><tbody>{body}</tbody></table>')
    return "".join(out) + "</section>"


def model_card_page(card) -> str:
    if card is None or not card.exists:
        return page("Vigia: model card", '<section><p class="status" id="sem-modelo">Nenhum modelo ainda.</p>'
                                         '<p><a href="..">voltar</a></p></section>')
    parts = [f'<section><p><a href="..">voltar</a></p><p class="meta">Versão {e(card.version)}'
             f'{" (campeão)" if card.champion else ""}</p>']
    if card.markdown_path is not None:
        parts.append(f"<h2>{e(card.markdown_path.name)}</h2><pre id=\"model-card-md\">"
                     f"{e(card.markdown_path.read_text(encoding='utf-8'))}</pre>")
    if card.json_path is not None:
        try:
            text = json.dumps(json.loads(card.json_path.read_text(encoding="utf-8")), indent=2, ensure_ascii=False)
        except ValueError:
            text = card.json_path.read_text(encoding="utf-8")
        parts.append(f"<h2>{e(card.json_path.name)}</h2><pre id=\"model-card-json\">{e(text)}</pre>")
    return page("Vigia: model card do modelo de regulação", "".join(parts) + "</section>")


def unavailable(message: str) -> str:
    return page("Vigia", f'<section><p class="status" id="indisponivel">{e(message)}</p></section>')
