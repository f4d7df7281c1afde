"""Compile a ruleset to one SQL query (DuckDB and PostgreSQL alike).

Shape of the query::

    WITH req AS MATERIALIZED (<include/sql/rules/requests.sql>),
         ev  AS MATERIALIZED (<include/sql/rules/events.sql>),
         h_mesmo AS (SELECT r.id_guia, COUNT(*) FILTER (WHERE <period>) AS f0, ...
                     FROM req r JOIN ev e ON e.id_beneficiario = r.id_beneficiario
                                         AND e.codigo_procedimento = r.procedimento
                                         AND e.data_realizacao < r.data_solicitacao
                     GROUP BY r.id_guia),
         h_codigo ..., h_grupo ..., h_complexidade ..., h_qualquer ...,
         x AS (SELECT r.*, COALESCE(h_mesmo.f0, 0) AS f0, ... FROM req r LEFT JOIN h_mesmo ...)
    SELECT id_guia, <attributes explanations need>, f0, ..., COALESCE(<vigência> AND (<cond>), FALSE) AS r0, ...
    FROM x

* Each distinct history function (kind, alvo, period) is one column ``fN``,
  computed once for every request, however many rules use it. Functions are
  grouped by the events they join (same procedure, given codes, given groups,
  same complexity level, any procedure), one join and GROUP BY per group, each
  function a filtered aggregate of it.
* Point in time: the join keeps events with ``data_realizacao <`` the request's date.
* Every literal travels as a bind variable (``:pN``); nothing from a rule file is
  formatted into the SQL text.
* Three-valued logic is SQL's own; a rule column is TRUE only when the condition is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigia import sql as sqlfiles
from vigia.rules import ast, explain
from vigia.rules.catalog import ACCENTED, PLAIN, fold
from vigia.rules.ruleset import FOREVER, Rule

_CLASS_JOIN = {
    "mesmo": "AND e.codigo_procedimento = r.procedimento",
    "complexidade": "AND e.nivel_complexidade = r.nivel_complexidade",
    "codigo": "AND e.codigo_procedimento IN ({values})",
    "grupo": "AND e.grupo IN ({values})",
    "qualquer": "",
}
FOLD_PREFIX = "folded_"   # x.folded_<attr>: LOWER(TRANSLATE(attr, ACCENTED, PLAIN)), once per request
KEY_COLUMNS = ["id_guia", "id_beneficiario", "momento_solicitacao", "data_solicitacao", "procedimento",
               "valor", "decisao"]


@dataclass
class Compiled:
    sql: str
    params: dict
    function_columns: dict            # operand key -> column (fN)
    rule_columns: list[str]           # rK for rules[K]
    value_columns: dict = field(default_factory=dict)   # operand key -> column explanations read


class _Binds:
    def __init__(self):
        self.params: dict = {}

    def add(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _bound_sql(b: tuple, binds: _Binds) -> str:
    if b[0] == "data":
        return f"CAST({binds.add(b[1])} AS DATE)"
    if b[0] == "adesao":
        return "r.data_adesao"
    return f"r.data_solicitacao - CAST({binds.add(b[1])} AS INTEGER)"


def _period_sql(func: ast.Func, binds: _Binds) -> list[str]:
    conds = []
    if func.periodo is not None:
        if func.periodo.lo is not None:
            conds.append(f"e.data_realizacao >= {_bound_sql(func.periodo.lo, binds)}")
        if func.periodo.hi is not None:
            conds.append(f"e.data_realizacao <= {_bound_sql(func.periodo.hi, binds)}")
    return conds


def _history(funcs: list[ast.Func], binds: _Binds) -> tuple[list[str], dict, dict]:
    """(CTE texts, operand key -> column, column -> outer select expression)."""
    cols: dict = {}
    outer: dict = {}
    ctes = []
    by_class: dict = {}
    for f in funcs:
        by_class.setdefault(f.alvo.kind, []).append(f)
    for kind, group in by_class.items():
        aggs = []
        join = _CLASS_JOIN[kind]
        if kind in ("codigo", "grupo"):
            values = sorted({f.alvo.value for f in group})
            join = join.format(values=", ".join(binds.add(v) for v in values))
        cte = f"h_{kind}"
        for f in group:
            col = f"f{len(cols)}"
            cols[explain.operand_key(f)] = col
            conds = _period_sql(f, binds)
            if kind == "codigo":
                conds.insert(0, f"e.codigo_procedimento = {binds.add(f.alvo.value)}")
            elif kind == "grupo":
                conds.insert(0, f"e.grupo = {binds.add(f.alvo.value)}")
            filt = f" FILTER (WHERE {' AND '.join(conds)})" if conds else ""
            if f.kind == "quantidade":
                aggs.append(f"COUNT(*){filt} AS {col}")
                outer[col] = f"COALESCE({cte}.{col}, 0)"
            elif f.kind == "valor_total":
                aggs.append(f"SUM(e.valor){filt} AS {col}")
                outer[col] = f"CAST(CAST(COALESCE({cte}.{col}, 0) AS NUMERIC(18, 2)) AS DOUBLE PRECISION)"
            else:
                aggs.append(f"MAX(e.data_realizacao){filt} AS {col}")
                outer[col] = f"CAST(r.data_solicitacao - {cte}.{col} AS INTEGER)"
        ctes.append(
            f"{cte} AS (\n  SELECT r.id_guia, {', '.join(aggs)}\n  FROM req r JOIN ev e\n"
            f"    ON e.id_beneficiario = r.id_beneficiario {join}\n"
            f"   AND e.data_realizacao < r.data_solicitacao\n  GROUP BY r.id_guia)")
    return ctes, cols, outer


def _value_sql(node: ast.Node, binds: _Binds, fcols: dict) -> str:
    if isinstance(node, ast.Lit):
        if node.tipo == "date":
            return f"CAST({binds.add(node.value)} AS DATE)"
        if node.tipo == "bool":
            return "TRUE" if node.value else "FALSE"
        return binds.add(node.value)
    if isinstance(node, ast.Attr):
        return f"x.{node.name}"
    return f"x.{fcols[explain.operand_key(node)]}"


def condition_sql(node: ast.Node, binds: _Binds, fcols: dict) -> str:
    v = lambda n: _value_sql(n, binds, fcols)  # noqa: E731
    if isinstance(node, ast.And):
        return "(" + " AND ".join(condition_sql(i, binds, fcols) for i in node.items) + ")"
    if isinstance(node, ast.Or):
        return "(" + " OR ".join(condition_sql(i, binds, fcols) for i in node.items) + ")"
    if isinstance(node, ast.Not):
        return f"(NOT {condition_sql(node.item, binds, fcols)})"
    if isinstance(node, ast.Cmp):
        return f"({v(node.left)} {node.op} {v(node.right)})"
    if isinstance(node, ast.InList):
        return f"({v(node.left)} IN ({', '.join(v(x) for x in node.values)}))"
    if isinstance(node, ast.InGroup):
        return f"(x.grupo = {binds.add(node.grupo)})"
    if isinstance(node, ast.Contains):
        return f"(POSITION({binds.add(fold(node.text))} IN x.{FOLD_PREFIX}{node.left.name}) > 0)"
    if isinstance(node, ast.BoolAttr):
        return f"({v(node.operand)} = TRUE)"
    raise TypeError(node)


def compile_rules(rules: list[Rule], requests_sql: str | None = None) -> Compiled:
    """One query evaluating every rule on every request ``requests_sql`` returns."""
    binds = _Binds()
    funcs = list(dict.fromkeys(f for r in rules for f in ast.functions(r.node)))
    ctes, fcols, outer = _history(funcs, binds)
    req = requests_sql if requests_sql is not None else sqlfiles.load("rules/requests.sql")
    ev = sqlfiles.load("rules/events.sql")
    joins = "".join(f"\n  LEFT JOIN h_{k} ON h_{k}.id_guia = r.id_guia"
                    for k in dict.fromkeys(f.alvo.kind for f in funcs))
    fsel = "".join(f", {expr} AS {col}" for col, expr in outer.items())
    folded = sorted({leaf.left.name for r in rules for leaf in ast.leaves(r.node) if isinstance(leaf, ast.Contains)})
    fsel += "".join(f", LOWER(TRANSLATE(r.{a}, '{ACCENTED}', '{PLAIN}')) AS {FOLD_PREFIX}{a}" for a in folded)
    x = f"x AS (\n  SELECT r.*{fsel}\n  FROM req r{joins})"
    needed = list(dict.fromkeys(k for r in rules for k in explain.needed(r.node)))
    attrs = [k for k in needed if k not in fcols and k not in KEY_COLUMNS]
    rule_cols, rule_sql = [], []
    for i, r in enumerate(rules):
        col = f"r{i}"
        rule_cols.append(col)
        vig = (f"x.data_solicitacao >= CAST({binds.add(r.inicio)} AS DATE) AND "
               f"x.data_solicitacao <= CAST({binds.add(r.fim or FOREVER)} AS DATE)")
        rule_sql.append(f"COALESCE({vig} AND {condition_sql(r.node, binds, fcols)}, FALSE) AS {col}")
    select = [f"x.{c}" for c in KEY_COLUMNS + attrs] + [f"x.{c}" for c in fcols.values()] + rule_sql
    with_parts = [f"req AS MATERIALIZED (\n{_strip(req)}\n)", f"ev AS MATERIALIZED (\n{_strip(ev)}\n)", *ctes, x]
    text = "WITH " + ",\n".join(with_parts) + "\nSELECT " + ",\n       ".join(select) + "\nFROM x"
    value_columns = {k: (fcols.get(k) or k) for k in needed}
    return Compiled(text, binds.params, fcols, rule_cols, value_columns)


def _strip(sql: str) -> str:
    """A query file's text without its comment lines (so it nests in a CTE)."""
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip().rstrip(";")
