"""Why a rule fired: every comparison of its condition with the values it saw.

One line per comparison, joined by ``"; "``. An attribute or function is shown
with its value, then the operator and the other side::

    procedimento = "40301630"; quantidade(mesmo procedimento, últimos 30 dias) = 2 >= 1
    idade = 9 < 12; procedimento em grupo "odontologia-ortodontia" (grupo = "odontologia-ortodontia")

Values are formatted by :func:`fmt` alone, so the reference interpreter and the SQL
engine (which computes values in the database) write byte-identical explanations.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd

from vigia.rules import ast
from vigia.rules.catalog import fold


def fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nulo"
    if value is pd.NA or value is pd.NaT:
        return "nulo"
    if isinstance(value, (bool, np.bool_)):
        return "verdadeiro" if value else "falso"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f'"{value}"'
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.date().isoformat()
    return ast._num(value)


def operand_key(node: ast.Node) -> str:
    """Stable key of an attribute or function (the column the engine stores its value in)."""
    return node.name if isinstance(node, ast.Attr) else ast.render(node)


def leaf_text(leaf: ast.Node, values: dict) -> str:
    """One comparison with its values; ``values`` maps operand_key -> value."""
    def side(node):
        if isinstance(node, ast.Lit):
            return ast.render(node)
        return f"{ast.render(node)} = {fmt(values.get(operand_key(node)))}"

    if isinstance(leaf, ast.Cmp):
        if isinstance(leaf.right, ast.Lit):
            if leaf.op == "=":
                return side(leaf.left)
            return f"{side(leaf.left)} {leaf.op} {ast.render(leaf.right)}"
        if isinstance(leaf.left, ast.Lit):
            return f"{ast.render(leaf.left)} {leaf.op} {side(leaf.right)}"
        return f"{side(leaf.left)} {leaf.op} {side(leaf.right)}"
    if isinstance(leaf, ast.InList):
        return f"{side(leaf.left)} em [{', '.join(ast.render(v) for v in leaf.values)}]"
    if isinstance(leaf, ast.InGroup):
        return f"{ast.render(leaf)} (grupo = {fmt(values.get('grupo'))})"
    if isinstance(leaf, ast.Contains):
        value = values.get(operand_key(leaf.left))
        if value is None:
            return f'{ast.render(leaf)}: não ({ast.render(leaf.left)} = nulo)'
        return f'{ast.render(leaf)}: {"sim" if fold(leaf.text) in fold(value) else "não"}'
    if isinstance(leaf, ast.BoolAttr):
        return side(leaf.operand)
    raise TypeError(leaf)


def needed(node: ast.Node) -> list[str]:
    """operand keys whose values an explanation of ``node`` shows."""
    keys: list[str] = []
    for leaf in ast.leaves(node):
        if isinstance(leaf, ast.InGroup):
            keys.append("grupo")
        for op in ast.operands(leaf):
            keys.append(operand_key(op))
    return list(dict.fromkeys(keys))


def why(node: ast.Node, values: dict) -> str:
    return "; ".join(leaf_text(leaf, values) for leaf in ast.leaves(node))
