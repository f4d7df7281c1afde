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
from vigia.rules.interpreter import DECISION_COLUMNS, FIRED_COLUMNS
from vigia.rules.ruleset import Rule

log = logging.getLogger(__name__)


@dataclass
class Result:
    decisions: pd.DataFrame      # one row per request
    fired: pd.DataFrame          # one row per (request, rule that fired), in policy order
    requests: pd.DataFrame       # request keys: id_guia, id_beneficiario, data_solicitacao, procedimento, valor...


class _Formatted:
    """Each operand column of the query result factorised once (codes + its distinct values), so an
    explanation is an Arrow ``take`` of pre-formatted strings: :func:`vigia.rules.explain.fmt` runs once
    per distinct value of a column, never per rule or per row."""

    def __init__(self, frame: pd.DataFrame, columns: dict):
        self.frame, self.columns = frame, columns
        self._codes: dict = {}
        self._tables: dict = {}

    def codes(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes with missing -> len(uniques), distinct values as Python objects)."""
        if key not in self._codes:
            codes, uniques = pd.factorize(self.frame[self.columns[key]], use_na_sentinel=True)
            uniques = np.asarray(uniques, dtype=object)
            self._codes[key] = (np.where(codes < 0, len(uniques), codes).astype(np.int64), uniques)
        return self._codes[key]

    def table(self, name, key: str, text) -> pa.Array:
        """``text(value)`` of every distinct value of ``key`` (None last), cached under ``name``."""
        if name not in self._tables:
            _, uniques = self.codes(key)
            texts = np.empty(len(uniques) + 1, dtype=object)
            texts[-1] = text(None)
            done = _number_texts(uniques)
            if done is not None:   # numbers: ast._num's text built in Arrow, the head prepended once
                mask, numbers = done
                head = text(0)[:-1]
                texts[:-1][mask] = pc.binary_join_element_wise(
                    pa.scalar(head, pa.large_string()), numbers, pa.scalar("", pa.large_string())
                ).to_numpy(zero_copy_only=False)
                rest = np.flatnonzero(~mask)
            else:
                rest = np.arange(len(uniques))
            texts[rest] = [text(uniques[i]) for i in rest]
            self._tables[name] = pa.array(texts, type=pa.large_string())
        return self._tables[name]

    def take(self, name, key: str, text, rows: np.ndarray) -> pa.Array:
        return self.table(name, key, text).take(pa.array(self.codes(key)[0][rows]))


_DECIMALS = np.array([""] + [f"{k:02d}".rstrip("0") for k in range(1, 100)], dtype=object)


def _number_texts(uniques: np.ndarray) -> tuple[np.ndarray, pa.Array] | None:
    """For distinct values that are all Python ints/floats (no bools): (mask, text of the masked ones),
    the text being exactly ``ast._num``'s (whole numbers as integers, else up to 2 decimals without
    trailing zeros) for whole numbers and non-negative numbers with at most 2 decimals (values the
    query rounds to cents). Others (mask False) go through :func:`explain.fmt`. None when not numeric."""
    if len(uniques) == 0 or not {type(u) for u in uniques} <= {int, float}:
        return None
    f = uniques.astype(np.float64)
    finite = np.isfinite(f) & (np.abs(f) < 2.0 ** 40)
    g = np.where(finite, f, 0.0)
    whole = finite & (g == np.floor(g))
    cents = np.round(g * 100)
    two = finite & ~whole & (g > 0) & (cents / 100 == g)
    mask = whole | two
    ints = np.where(whole, g, np.floor(cents / 100))[mask].astype(np.int64)
    frac = np.where(two, cents - np.floor(cents / 100) * 100, 0)[mask].astype(np.int64)
    text = pc.cast(pa.array(ints), pa.large_string())
    dec = pa.array(np.where(frac > 0, "." + _DECIMALS[frac].astype(object), ""), type=pa.large_string()) \
        if two.any() else pa.array(np.full(len(ints), "", dtype=object), type=pa.large_string())
    return mask, pc.binary_join_element_wise(text, dec, pa.scalar("", pa.large_string()))


def _join(*parts, sep: str = "") -> pa.Array:
    """Element-wise concatenation in Arrow (C++), Python strings broadcast as scalars."""
    s = lambda x: pa.scalar(x, pa.large_string()) if isinstance(x, str) else x  # noqa: E731
    return pc.binary_join_element_wise(*(s(x) for x in parts), s(sep))


def _leaf_texts(leaf: ast.Node, cols: _Formatted, rows: np.ndarray) -> pa.Array:
    """explain.leaf_text for the given rows (positions in the query result)."""
    n = len(rows)

    def side(node):
        if isinstance(node, ast.Lit):
            return pa.array(np.full(n, ast.render(node), dtype=object), type=pa.large_string())
        key = explain.operand_key(node)
        return cols.take(("side", key), key, lambda v, head=f"{ast.render(node)} = ": head + explain.fmt(v), rows)

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
        head = f"{ast.render(leaf)} (grupo = "
        return cols.take(("group", head), "grupo", lambda v: head + explain.fmt(v) + ")", rows)
    if isinstance(leaf, ast.Contains):
        values = {explain.operand_key(leaf.left): None}

        def text(v):
            values[explain.operand_key(leaf.left)] = v
            return explain.leaf_text(leaf, values)
        return cols.take(("contains", ast.render(leaf)), explain.operand_key(leaf.left), text, rows)
    if isinstance(leaf, ast.BoolAttr):
        return side(leaf.operand)
    raise TypeError(leaf)


def explanations(rule: Rule, cols: _Formatted, rows: np.ndarray) -> pa.Array:
    parts = [_leaf_texts(leaf, cols, rows) for leaf in ast.leaves(rule.node)]
    return parts[0] if len(parts) == 1 else _join(*parts, sep="; ")


def resolve(rules: list[Rule], frame: pd.DataFrame, rule_columns: list[str], columns: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decisions and fired rows from a frame of requests with one boolean column per rule."""
    n = len(frame)
    ids = frame["id_guia"].to_numpy()
    ordered = policy.order(rules)
    rank_of = {r.id: i for i, r in enumerate(ordered)}
    by_rank = np.argsort(np.array([rank_of[r.id] for r in rules], dtype=np.int64))   # rule index of rank j
    # the rule columns in policy order: the row-major nonzero() is then already sorted by request, then rank
    matrix = frame[[rule_columns[k] for k in by_rank]].to_numpy(dtype=bool) if rule_columns \
        else np.zeros((n, 0), bool)
    rows, rank_pos = np.nonzero(matrix)
    del matrix
    cols = by_rank[rank_pos].astype(np.int16 if len(rules) < 2 ** 15 else np.int64)
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

    values = _Formatted(frame, columns)
    sort = np.argsort(cols, kind="stable")     # pairs grouped by rule (radix sort of small ints)
    bounds = np.searchsorted(cols[sort], np.arange(len(rules) + 1))
    chunks = [explanations(rule, values, rows[sort[bounds[k]:bounds[k + 1]]])
              for k, rule in enumerate(rules) if bounds[k + 1] > bounds[k]]
    porque = pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.large_string())
    if len(rows):
        back = np.empty(len(sort), dtype=np.int64)   # inverse permutation, O(n): back[sort[i]] = i
        back[sort] = np.arange(len(sort), dtype=np.int64)
        porque = porque.take(pa.array(back))

    def pick(attr):  # rule field of every pair, as an Arrow take (no per-row Python)
        table = pa.array([getattr(r, attr) for r in rules] or [""], type=pa.large_string())
        return pd.Series(table.take(pa.array(cols.astype(np.int64))), dtype=pd.ArrowDtype(pa.large_string()))

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
    frame = db.query(spec, compiled.sql, params, "rules engine query (include/sql/rules/requests.sql + rules)",
                     arrow=True)
    log.info("rules engine: %d request(s), %d rule(s), %d history function(s)", len(frame), len(rules),
             len(compiled.function_columns))
    return compiled, frame


def evaluate(source, rules: list[Rule], inicio: datetime, fim: datetime, pendentes: bool) -> Result:
    """Evaluate ``rules`` on the source's guias of [inicio, fim) (pending or decided ones)."""
    compiled, frame = run_query(source, rules, inicio, fim, pendentes)
    decisions, fired = resolve(rules, frame, compiled.rule_columns, compiled.value_columns)
    return Result(decisions, fired, frame[list(compiler.KEY_COLUMNS)].copy())
