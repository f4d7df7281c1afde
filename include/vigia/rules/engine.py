"""The batch engine: every rule on every request of a window, in one SQL query.

:func:`evaluate` runs the compiled query (:mod:`vigia.rules.compiler`) on the source
(DuckDB or PostgreSQL), then, in NumPy/pandas (no loop per request):

* the rule columns become (request, rule) pairs for the rules that fired;
* the conflict policy picks each request's winner (:mod:`vigia.rules.policy`),
  by the smallest policy rank among its pairs;
* each fired pair gets its explanation, built per rule from the values the query
  returned, with :func:`vigia.rules.explain.fmt` applied once per distinct value and the
  strings assembled with Arrow compute (``take``, ``binary_join_element_wise``) once per
  distinct combination of the values the rule shows, not once per pair.

Output: ``decisions`` (id_guia, resultado, regra, mensagem, plus request keys) and
``fired`` (id_guia, ordem, regra, resultado, mensagem, porque), the same shapes and values the
reference interpreter returns. In ``fired``, ``regra``/``resultado``/``mensagem``/``porque`` are
pandas ``Categorical`` (dictionary-encoded: int codes into the distinct texts) instead of one string
per pair: ~10 rules fire per request, so materialising the strings was the largest cost of a batch.
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
            self._codes[key] = (np.where(codes < 0, len(uniques), codes).astype(np.int64, copy=False), uniques)
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


def _combo_codes(rule: Rule, cols: _Formatted, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row's combination of the values the rule's explanation shows, one row per code).

    The explanation is a function of the codes of :func:`explain.needed` operands alone, so rows with
    the same combination share one text: the combination is a mixed-radix number of the operand
    codes, made dense with a presence table (small products) or ``pd.factorize`` (large ones)."""
    n = len(rows)
    combined = np.zeros(n, dtype=np.int64)
    size = 1
    for key in explain.needed(rule.node):
        codes, uniques = cols.codes(key)
        radix = len(uniques) + 1
        if size * radix >= 2 ** 62:      # keep the number small: renumber what we have so far
            combined, uniq = pd.factorize(combined)
            combined, size = combined.astype(np.int64), len(uniq)
        combined = combined * radix + codes[rows]
        size *= radix
    if size <= max(1 << 16, 2 * n):      # dense: presence table, then rank of each present value
        present = np.zeros(size, dtype=bool)
        present[combined] = True
        rank = np.cumsum(present, dtype=np.int64) - 1
        code = rank[combined]
        count = int(rank[-1]) + 1 if size else 0
    else:
        code, uniq = pd.factorize(combined)
        code, count = code.astype(np.int64), len(uniq)
    rep = np.empty(count, dtype=np.int64)
    rep[code] = np.arange(n, dtype=np.int64)   # any row of a combination (they explain alike)
    return code, rep


def _porque(rules: list[Rule], cols: _Formatted, rows: np.ndarray, sort: np.ndarray,
            bounds: np.ndarray) -> pd.Categorical:
    """The explanation of every fired pair as a categorical: each rule renders the text of each distinct
    combination of the values it shows once (:func:`explanations` on one row per combination); the pairs
    hold int32 codes into the deduplicated texts of all rules."""
    codes = np.empty(len(rows), dtype=np.int32)   # in rule-grouped order (``sort``)
    grouped_rows = rows[sort]
    texts, offset = [], 0
    for k, rule in enumerate(rules):
        lo, hi = bounds[k], bounds[k + 1]
        if hi == lo:
            continue
        rule_rows = grouped_rows[lo:hi]
        code, rep = _combo_codes(rule, cols, rule_rows)
        codes[lo:hi] = code + offset
        texts.append(explanations(rule, cols, rule_rows[rep]))
        offset += len(rep)
    if not texts:
        return pd.Categorical.from_codes(np.zeros(0, dtype=np.int32), categories=pd.Index([], dtype=object))
    dictionary = pa.concat_arrays(texts).to_numpy(zero_copy_only=False)
    remap, uniques = pd.factorize(dictionary)          # the same text from two rules: one category
    out = np.empty(len(rows), dtype=np.int32)
    out[sort] = remap.astype(np.int32)[codes]          # back to pair order (request, rank)
    return pd.Categorical.from_codes(out, categories=pd.Index(uniques, dtype=object))


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
    porque = _porque(rules, values, rows, sort, bounds)

    def category(texts: list[str]) -> pd.Categorical:   # rule field of every pair: codes into the rules' texts
        codes, uniques = pd.factorize(np.array(texts or [""], dtype=object))
        return pd.Categorical.from_codes(codes.astype(np.int32)[cols], categories=pd.Index(uniques, dtype=object))

    fired = pd.DataFrame({"id_guia": ids[rows], "ordem": ordem, "regra": category([r.id for r in rules]),
                          "resultado": category([r.resultado for r in rules]),
                          "mensagem": category([r.mensagem for r in rules]), "porque": porque},
                         columns=FIRED_COLUMNS)
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
