"""The batch engine: every rule on every request of a window, in one SQL query.

:func:`evaluate` runs the compiled query (:mod:`vigia.rules.compiler`) on the source
(DuckDB or PostgreSQL), then, in NumPy/pandas (no loop per request):

* the rule columns become (request, rule) pairs for the rules that fired;
* the conflict policy picks each request's winner (:mod:`vigia.rules.policy`),
  by the smallest policy rank among its pairs;
* each fired pair gets its explanation, built per rule from the values the query
  returned, with :func:`vigia.rules.explain.fmt` applied once per distinct value and the
  strings assembled with Arrow compute (``take``, ``binary_join_element_wise``).

Output: ``decisions`` (id_guia, resultado, regra, mensagem, plus request keys) and
``fired`` (id_guia, ordem, regra, resultado, mensagem, porque), the same shapes the
reference interpreter returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vigia.rules import ast, compiler, db, explain, policy
from vigia.rules.catalog import fold
from vigia.rules.interpreter import DECISION_COLUMNS, FIRED_COLUMNS
from vigia.rules.ruleset import Rule

log = logging.getLogger(__name__)


@dataclass
class Result:
    decisions: pd.DataFrame      # one row per request
    fired: pd.DataFrame          # one row per (request, rule that fired), in policy order
    requests: pd.DataFrame       # request keys: id_guia, id_beneficiario, data_solicitacao, procedimento, valor...


def _formatted(values: np.ndarray) -> pa.Array:
    """fmt() of every value, computed once per distinct value (the rest is an Arrow take)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = pa.array([explain.fmt(u) for u in uniques] + [explain.fmt(None)], type=pa.large_string())
    codes = np.where(codes < 0, len(uniques), codes)
    return table.take(pa.array(codes))


def _join(*parts, sep: str = "") -> pa.Array:
    """Element-wise concatenation in Arrow (C++), Python strings broadcast as scalars."""
    s = lambda x: pa.scalar(x, pa.large_string()) if isinstance(x, str) else x  # noqa: E731
    return pc.binary_join_element_wise(*(s(x) for x in parts), s(sep))


def _leaf_texts(leaf: ast.Node, cols: dict, rows: np.ndarray) -> pa.Array:
    """explain.leaf_text for the given rows; ``cols`` maps operand key -> full column (numpy)."""
    n = len(rows)

    def values(key):
        return cols[key][rows]

    def side(node):
        if isinstance(node, ast.Lit):
            return pa.array(np.full(n, ast.render(node), dtype=object), type=pa.large_string())
        return _join(f"{ast.render(node)} = ", _formatted(values(explain.operand_key(node))))

    if isinstance(leaf, ast.Cmp):
        if isinstance(leaf.right, ast.Lit):
            if leaf.op == "=":
                return side(leaf.left)
            return _join(side(leaf.left), f" {leaf.op} {ast.render(leaf.right)}")
        if isinstance(leaf.left, ast.Lit):
            return _join(f"{ast.render(leaf.left)} {leaf.op} ", side(leaf.right))
        return _join(side(leaf.left), f" {leaf.op} ", side(leaf.right))
    if isinstance(leaf, ast.InList):
        return _join(side(leaf.left), f" em [{', '.join(ast.render(v) for v in leaf.values)}]")
    if isinstance(leaf, ast.InGroup):
        return _join(f"{ast.render(leaf)} (grupo = ", _formatted(values("grupo")), ")")
    if isinstance(leaf, ast.Contains):
        kw = fold(leaf.text)
        codes, uniques = pd.factorize(values(explain.operand_key(leaf.left)), use_na_sentinel=True)
        table = pa.array([f'{ast.render(leaf)}: {"sim" if kw in fold(u) else "não"}' for u in uniques]
                         + [f"{ast.render(leaf.left)} = nulo"], type=pa.large_string())
        return table.take(pa.array(np.where(codes < 0, len(uniques), codes)))
    if isinstance(leaf, ast.BoolAttr):
        return side(leaf.operand)
    raise TypeError(leaf)


def explanations(rule: Rule, cols: dict, rows: np.ndarray) -> pa.Array:
    parts = [_leaf_texts(leaf, cols, rows) for leaf in ast.leaves(rule.node)]
    return parts[0] if len(parts) == 1 else _join(*parts, sep="; ")


def resolve(rules: list[Rule], frame: pd.DataFrame, rule_columns: list[str], columns: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decisions and fired rows from a frame of requests with one boolean column per rule."""
    n = len(frame)
    ids = frame["id_guia"].to_numpy()
    ordered = policy.order(rules)
    rank_of = {r.id: i for i, r in enumerate(ordered)}
    ranks = np.array([rank_of[r.id] for r in rules], dtype=np.int64)
    matrix = frame[rule_columns].to_numpy(dtype=bool) if rule_columns else np.zeros((n, 0), bool)
    rows, cols = np.nonzero(matrix)
    pair_rank = ranks[cols]
    order = np.lexsort((pair_rank, rows))
    rows, cols, pair_rank = rows[order], cols[order], pair_rank[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    starts = np.flatnonzero(first)
    ordem = np.arange(len(rows)) - np.repeat(starts, np.diff(np.append(starts, len(rows))))

    resultado = np.full(n, policy.NO_RULE_OUTCOME, dtype=object)
    regra = np.full(n, None, dtype=object)
    mensagem = np.full(n, policy.NO_RULE_MESSAGE, dtype=object)
    win_rows, win_cols = rows[first], cols[first]
    resultado[win_rows] = np.array([r.resultado for r in rules], dtype=object)[win_cols] if len(rules) else []
    regra[win_rows] = np.array([r.id for r in rules], dtype=object)[win_cols] if len(rules) else []
    mensagem[win_rows] = np.array([r.mensagem for r in rules], dtype=object)[win_cols] if len(rules) else []
    obj = lambda a: pd.Series(a, dtype=object)  # noqa: E731  (no conversion to Arrow strings)
    decisions = pd.DataFrame({"id_guia": ids, "resultado": obj(resultado), "regra": obj(regra),
                              "mensagem": obj(mensagem)})

    values = {key: frame[col].to_numpy(dtype=object) for key, col in columns.items()}
    sort = np.argsort(cols, kind="stable")
    bounds = np.searchsorted(cols[sort], np.arange(len(rules) + 1))
    chunks = [explanations(rule, values, rows[sort[bounds[k]:bounds[k + 1]]])
              for k, rule in enumerate(rules) if bounds[k + 1] > bounds[k]]
    porque = pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.large_string())
    porque = porque.take(pa.array(np.argsort(sort, kind="stable"))) if len(rows) else porque

    def pick(attr):  # rule field of every pair, as an Arrow take (no per-row Python)
        table = pa.array([getattr(r, attr) for r in rules] or [""], type=pa.large_string())
        return pd.Series(table.take(pa.array(cols, type=pa.int64())), dtype=pd.ArrowDtype(pa.large_string()))

    fired = pd.DataFrame({"id_guia": ids[rows], "ordem": ordem, "regra": pick("id"), "resultado": pick("resultado"),
                          "mensagem": pick("mensagem"),
                          "porque": pd.Series(porque, dtype=pd.ArrowDtype(pa.large_string()))}, columns=FIRED_COLUMNS)
    return decisions[DECISION_COLUMNS], fired


def run_query(source, rules: list[Rule], inicio: datetime, fim: datetime, pendentes: bool):
    """(compiled query, its result frame): one row per request with attributes, function columns
    (``compiled.function_columns``) and one boolean column per rule."""
    spec = db.spec_of(source)
    compiled = compiler.compile_rules(rules, db.requests_sql(spec))
    params = {**compiled.params, "inicio": inicio, "fim": fim, "pendentes": pendentes}
    frame = db.query(spec, compiled.sql, params, "rules engine query (include/sql/rules/requests.sql + rules)")
    log.info("rules engine: %d request(s), %d rule(s), %d history function(s)", len(frame), len(rules),
             len(compiled.function_columns))
    return compiled, frame


def evaluate(source, rules: list[Rule], inicio: datetime, fim: datetime, pendentes: bool) -> Result:
    """Evaluate ``rules`` on the source's guias of [inicio, fim) (pending or decided ones)."""
    compiled, frame = run_query(source, rules, inicio, fim, pendentes)
    decisions, fired = resolve(rules, frame, compiled.rule_columns, compiled.value_columns)
    return Result(decisions, fired, frame[list(compiler.KEY_COLUMNS)].copy())
