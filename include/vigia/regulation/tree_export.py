"""A fitted decision tree's paths as plain-Portuguese rules, for regulators to review.

Each leaf becomes one rule ``SE <condições> ENTÃO <decisão> (suporte N, precisão P%)``:

* conditions are written on the *original* attributes: scaled numeric thresholds are mapped
  back (``x_scaled <= t``  <=>  ``x <= t * scale + mean``), one-hot tests become
  ``grupo = 'x'`` / ``grupo ≠ 'x'``, the 0/1 expert flags become ``= sim`` / ``= não``;
  several tests of one numeric attribute along a path collapse into its tightest bounds;
* ``suporte`` = rows of the given data (normally the training window, without oversampling)
  that reach the leaf; ``precisão`` = the share of them whose real decision is the leaf's.

Rules are kept as structured :class:`Rule` objects; :func:`render_portuguese` is one renderer.
:mod:`vigia.regulation.tree_to_rules` renders the same objects as a Ymir rule file
(``regras_ymir.yaml``, docs/rules.md) without touching the extraction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from vigia.regulation.preprocessing import DERIVED

FLAGS = [d for d in DERIVED if d != "mes_solicitacao"]
DECISIONS = {0: "negado", 1: "autorizado"}


@dataclass
class Condition:
    column: str
    op: str          # '<=', '>', '=', '!='
    value: object


@dataclass
class Rule:
    conditions: list[Condition]
    decision: str
    support: int
    precision: float
    leaf: int = -1
    extra: dict = field(default_factory=dict)


def _transform_until_model(pipeline, X: pd.DataFrame) -> np.ndarray:
    data = X
    for _, step in pipeline.steps[:-1]:
        if hasattr(step, "fit_resample"):
            continue
        data = step.transform(data)
    return np.asarray(data, dtype=float)


def _feature_map(encoder) -> list[tuple]:
    """For each encoded column: ('num', column, mean, scale) or ('cat', column, category, all categories)."""
    out = []
    for name, trans, cols in encoder.transformers_:
        if trans == "drop" or len(cols) == 0:
            continue
        if name == "num":
            scaler = trans.named_steps["escala"]
            for i, col in enumerate(cols):
                out.append(("num", col, float(scaler.mean_[i]), float(scaler.scale_[i])))
        elif name == "cat":
            ohe = trans.named_steps["one_hot"]
            infrequent = getattr(ohe, "infrequent_categories_", None) or [None] * len(cols)
            for i, col in enumerate(cols):
                rare = set() if infrequent[i] is None else set(infrequent[i])
                cats = [c for c in ohe.categories_[i] if c not in rare] + (["(outras)"] if rare else [])
                out += [("cat", col, c, tuple(cats)) for c in cats]
    return out


def extract_rules(pipeline, X: pd.DataFrame, y, min_support: int = 1) -> list[Rule]:
    """The leaves of the pipeline's decision tree as rules, with support and precision on (X, y)."""
    tree = pipeline.steps[-1][1]
    if not hasattr(tree, "tree_"):
        raise ValueError(f"the model {type(tree).__name__} is not a decision tree; no rules to export")
    fmap = _feature_map(pipeline.named_steps["codificacao"])
    t = tree.tree_
    Xt = _transform_until_model(pipeline, X)
    leaves = tree.apply(Xt)
    y = np.asarray(y).astype(int)
    classes = list(tree.classes_)
    rules = []

    def walk(node: int, path: list[Condition]):
        if t.children_left[node] == -1:
            mask = leaves == node
            support = int(mask.sum())
            if support < min_support:
                return
            predicted = int(classes[int(np.argmax(t.value[node][0]))])
            precision = float((y[mask] == predicted).mean()) if support else 0.0
            rules.append(Rule(_simplify(path), DECISIONS.get(predicted, str(predicted)), support, precision, node))
            return
        kind = fmap[t.feature[node]]
        thr = float(t.threshold[node])
        if kind[0] == "num":
            _, col, mean, scale = kind
            value = thr * scale + mean
            left, right = Condition(col, "<=", value), Condition(col, ">", value)
            if col in FLAGS:
                left, right = Condition(col, "=", "não"), Condition(col, "=", "sim")
        else:
            _, col, cat, values = kind
            left, right = Condition(col, "!=", cat), Condition(col, "=", cat)
            if len(values) == 2:  # two categories: "not A" reads better as "= B"
                left = Condition(col, "=", next(v for v in values if v != cat))
        walk(t.children_left[node], path + [left])
        walk(t.children_right[node], path + [right])

    walk(0, [])
    return sorted(rules, key=lambda r: (-r.support, r.leaf))


def _simplify(path: list[Condition]) -> list[Condition]:
    """Tightest numeric bounds per column; drop '≠' tests of a column that has an '=' test."""
    out: list[Condition] = []
    equals = {c.column for c in path if c.op == "="}
    for c in path:
        if c.op == "!=" and c.column in equals:
            continue
        if c.op in ("<=", ">"):
            same = [o for o in out if o.column == c.column and o.op == c.op]
            if same:
                o = same[0]
                o.value = min(o.value, c.value) if c.op == "<=" else max(o.value, c.value)
                continue
        if c.op == "=" and any(o.column == c.column and o.op == "=" for o in out):
            continue
        out.append(Condition(c.column, c.op, c.value))
    return out


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}".replace(".", ",")  # Portuguese decimal comma
    if value in ("sim", "não"):
        return str(value)
    return f"'{value}'"


OPS = {"<=": "≤", ">": ">", "=": "=", "!=": "≠"}


def render_portuguese(rule: Rule) -> str:
    conds = " E ".join(f"{c.column} {OPS[c.op]} {_fmt(c.value)}" for c in rule.conditions) or "(sempre)"
    return (f"SE {conds} ENTÃO {rule.decision} "
            f"(suporte {rule.support}, precisão {rule.precision:.0%})")


RENDERERS = {"portugues": render_portuguese}


def rules_markdown(rules: list[Rule], title: str, note: str = "") -> str:
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += [f"{i}. {render_portuguese(r)}" for i, r in enumerate(rules, 1)]
    return "\n".join(lines) + "\n"


def rules_json(rules: list[Rule]) -> str:
    return json.dumps([{**asdict(r), "texto": render_portuguese(r)} for r in rules], ensure_ascii=False,
                      indent=2, default=str)
