"""The reference interpreter: one request at a time, in plain Python (the oracle in tests).

It shares nothing with the SQL engine but the parsed rules, the conflict policy and
the explanation formatter: attributes (idade, dias_de_adesao, catalogue fields) are
computed here from the raw rows, and history functions loop over the beneficiary's
events. Logic is three-valued like SQL: a comparison with a missing value is
*unknown*; ``não`` unknown is unknown; ``e`` is false if any side is false, else
unknown if any is; ``ou`` is true if any side is true, else unknown if any is. A rule
fires only when its condition is true and the request's date is within its vigência.

Point in time: a history function only sees events with ``data_realizacao`` strictly
before the request's date, and within the function's period (bounds inclusive).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from vigia.rules import ast, explain, policy
from vigia.rules.catalog import fold
from vigia.rules.ruleset import Rule

DECISION_COLUMNS = ["id_guia", "resultado", "regra", "mensagem"]
FIRED_COLUMNS = ["id_guia", "ordem", "regra", "resultado", "mensagem", "porque"]


def _plain(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _day(v) -> date | None:
    v = _plain(v)
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else v


def request_row(guia: dict, benef: dict | None, proc: dict | None) -> dict:
    """The attributes of one request, from its raw guia, beneficiary and catalogue rows."""
    benef, proc = benef or {}, proc or {}
    dia = _day(guia["data_solicitacao"])
    nasc, adesao = _day(benef.get("data_nascimento")), _day(benef.get("data_adesao"))
    idade = None
    if nasc is not None:
        idade = dia.year - nasc.year - (1 if (dia.month, dia.day) < (nasc.month, nasc.day) else 0)
    row = {
        "id_guia": _plain(guia["id_guia"]), "id_beneficiario": _plain(guia["id_beneficiario"]),
        "data_solicitacao": dia, "data_adesao": adesao,
        "sexo": _plain(benef.get("sexo")), "idade": idade, "tipo_beneficiario": _plain(benef.get("tipo_beneficiario")),
        "dias_de_adesao": (dia - adesao).days if adesao is not None else None,
        "tipo_guia": _plain(guia.get("tipo_guia")), "procedimento": _plain(guia.get("codigo_procedimento")),
        "prestador": _plain(guia.get("id_prestador")), "cid": _plain(guia.get("cid")),
        "texto_anexo": _plain(guia.get("texto_anexo")),
    }
    for col in ("grupo", "nivel_complexidade", "periodicidade_dias", "carencia_dias", "idade_minima",
                "idade_maxima", "sexo_permitido", "ordem", "especial", "pericia_inicial"):
        row[col] = _plain(proc.get(col))
    for col in ("valor", "valor_moderacao"):
        v = _plain(proc.get(col))
        row[col] = float(v) if v is not None else None
    return row


# --- history functions ----------------------------------------------------------------------
def _bound(b, req) -> date | None:
    if b[0] == "data":
        return b[1]
    if b[0] == "adesao":
        return req["data_adesao"]
    return req["data_solicitacao"] - timedelta(days=b[1])


def _matches(alvo: ast.Alvo, ev: tuple, req: dict) -> bool:
    codigo, _, _, grupo, nivel = ev
    if alvo.kind == "mesmo":
        return codigo == req["procedimento"]
    if alvo.kind == "codigo":
        return codigo == alvo.value
    if alvo.kind == "grupo":
        return grupo == alvo.value
    if alvo.kind == "complexidade":
        return nivel is not None and req["nivel_complexidade"] is not None and nivel == req["nivel_complexidade"]
    return True


def cents(total: float) -> float:
    """Money rounded to cents, half away from zero (as SQL CAST(... AS NUMERIC(18,2)))."""
    return float(Decimal(repr(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def function_value(func: ast.Func, req: dict, events: list[tuple]):
    dia = req["data_solicitacao"]
    seen = [ev for ev in events if ev[1] is not None and ev[1] < dia and _matches(func.alvo, ev, req)]
    if func.kind == "ultima_realizacao":
        return (dia - max(ev[1] for ev in seen)).days if seen else None
    p = func.periodo
    if p.lo is not None:
        lo = _bound(p.lo, req)
        seen = [ev for ev in seen if lo is not None and ev[1] >= lo]
    if p.hi is not None:
        hi = _bound(p.hi, req)
        seen = [ev for ev in seen if hi is not None and ev[1] <= hi]
    if func.kind == "quantidade":
        return len(seen)
    return cents(math.fsum(ev[2] for ev in seen if ev[2] is not None))


# --- three-valued evaluation ----------------------------------------------------------------
_OPS = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class _Eval:
    def __init__(self, req: dict, events: list[tuple]):
        self.req, self.events, self.cache = req, events, {}

    def value(self, node):
        if isinstance(node, ast.Lit):
            return node.value
        if isinstance(node, ast.Attr):
            return self.req.get(node.name)
        key = explain.operand_key(node)
        if key not in self.cache:
            self.cache[key] = function_value(node, self.req, self.events)
        return self.cache[key]

    def truth(self, node) -> bool | None:
        if isinstance(node, ast.And):
            vals = [self.truth(i) for i in node.items]
            return False if False in vals else (None if None in vals else True)
        if isinstance(node, ast.Or):
            vals = [self.truth(i) for i in node.items]
            return True if True in vals else (None if None in vals else False)
        if isinstance(node, ast.Not):
            v = self.truth(node.item)
            return None if v is None else not v
        if isinstance(node, ast.Cmp):
            a, b = self.value(node.left), self.value(node.right)
            return None if a is None or b is None else _OPS[node.op](a, b)
        if isinstance(node, ast.InList):
            a = self.value(node.left)
            return None if a is None else a in [v.value for v in node.values]
        if isinstance(node, ast.InGroup):
            g = self.req.get("grupo")
            return None if g is None else g == node.grupo
        if isinstance(node, ast.Contains):
            a = self.value(node.left)   # no text contains no keyword: never unknown
            return a is not None and fold(node.text) in fold(a)
        if isinstance(node, ast.BoolAttr):
            a = self.value(node.operand)
            return None if a is None else bool(a)
        raise TypeError(node)

    def values_for(self, node) -> dict:
        out = {}
        for leaf in ast.leaves(node):
            if isinstance(leaf, ast.InGroup):
                out["grupo"] = self.req.get("grupo")
            for op in ast.operands(leaf):
                out[explain.operand_key(op)] = self.value(op)
        return out


def evaluate_request(rules: list[Rule], req: dict, events: list[tuple]):
    """(decision dict, fired rows) for one request; ``events`` = the beneficiary's
    (codigo, data_realizacao, valor, grupo, nivel_complexidade) tuples."""
    ev = _Eval(req, events)
    fired = [r for r in rules if r.vigente(req["data_solicitacao"]) and ev.truth(r.node) is True]
    outcome, winner = policy.decide(fired)
    decision = {"id_guia": req["id_guia"], "resultado": outcome, "regra": winner.id if winner else None,
                "mensagem": winner.mensagem if winner else policy.NO_RULE_MESSAGE}
    rows = [{"id_guia": req["id_guia"], "ordem": i, "regra": r.id, "resultado": r.resultado,
             "mensagem": r.mensagem, "porque": explain.why(r.node, ev.values_for(r.node))}
            for i, r in enumerate(policy.order(fired))]
    return decision, rows


def build_requests(guias: pd.DataFrame, beneficiarios: pd.DataFrame, procedimentos: pd.DataFrame) -> list[dict]:
    benef = {b["id_beneficiario"]: b for b in beneficiarios.to_dict("records")}
    proc = {p["codigo_procedimento"]: p for p in procedimentos.to_dict("records")}
    return [request_row(g, benef.get(g["id_beneficiario"]), proc.get(g["codigo_procedimento"]))
            for g in guias.to_dict("records")]


def events_by_beneficiary(eventos: pd.DataFrame, procedimentos: pd.DataFrame) -> dict:
    proc = {p["codigo_procedimento"]: p for p in procedimentos.to_dict("records")}
    out: dict = defaultdict(list)
    for e in eventos.to_dict("records"):
        p = proc.get(e["codigo_procedimento"], {})
        v = _plain(e.get("valor"))
        out[_plain(e["id_beneficiario"])].append(
            (_plain(e["codigo_procedimento"]), _day(e["data_realizacao"]), float(v) if v is not None else None,
             _plain(p.get("grupo")), _plain(p.get("nivel_complexidade"))))
    return out


def evaluate_frames(rules: list[Rule], requests: list[dict], events: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    decisions, fired = [], []
    for req in requests:
        d, rows = evaluate_request(rules, req, events.get(req["id_beneficiario"], []))
        decisions.append(d)
        fired.extend(rows)
    return (pd.DataFrame(decisions, columns=DECISION_COLUMNS), pd.DataFrame(fired, columns=FIRED_COLUMNS))


def evaluate(source, rules: list[Rule], inicio: datetime, fim: datetime, pendentes: bool):
    """Read the source's raw tables and evaluate every request of [inicio, fim), one at a time."""
    from vigia.rules import db

    spec = db.spec_of(source)
    params = {"inicio": inicio, "fim": fim, "pendentes": pendentes}
    guias = db.query_file(spec, "rules/raw_guias.sql", params)
    procs = db.query_file(spec, "rules/raw_procedimentos.sql")
    requests = build_requests(guias, db.query_file(spec, "rules/raw_beneficiarios.sql"), procs)
    events = events_by_beneficiary(db.query_file(spec, "rules/raw_eventos.sql"), procs)
    return evaluate_frames(rules, requests, events)
