"""The parsed form of a condition: small immutable nodes, compared by meaning.

Every node keeps where it starts in the condition text (``linha``/``coluna``, not
part of equality), so semantic errors point at the right place. Two conditions
that differ only in spacing, accents of keywords or synonyms (``tipo de guia`` /
``tipo_guia``) give equal trees: that is what the linter's duplicate and shadowing
checks compare.

Periods of history functions are normalised to two bounds, both inclusive, on
``data_realizacao``; every history function also requires ``data_realizacao <``
the request's date (point in time), whatever the bounds say:

* ``últimos N dias``   -> lo = ("dias", N)   (request date - N days), hi = None
* ``desde a adesão``   -> lo = ("adesao",),  hi = None
* ``toda a vida``      -> lo = None,         hi = None
* ``quantidade(beneficiário, alvo, início, fim)`` -> lo = início, hi = fim, each one of
  ("data", date), ("dias", N) (``data_solicitacao - N dias``; N = 0 for ``data_solicitacao``)
  or ("adesao",).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Node:
    linha: int = field(default=1, compare=False, repr=False, kw_only=True)
    coluna: int = field(default=1, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Lit(Node):
    value: object            # float | str | date | bool
    tipo: str                # 'num' | 'str' | 'date' | 'bool'


@dataclass(frozen=True)
class Attr(Node):
    name: str                # canonical attribute name (see vigia.rules.catalog.ATTRIBUTES)


@dataclass(frozen=True)
class Alvo(Node):
    """Which events a history function looks at."""
    kind: str                # 'mesmo' | 'complexidade' | 'codigo' | 'grupo' | 'qualquer'
    value: str | None = None


@dataclass(frozen=True)
class Periodo(Node):
    lo: tuple | None
    hi: tuple | None


@dataclass(frozen=True)
class Func(Node):
    kind: str                # 'quantidade' | 'valor_total' | 'ultima_realizacao'
    alvo: Alvo
    periodo: Periodo | None


@dataclass(frozen=True)
class Cmp(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    left: Node
    values: tuple            # of Lit


@dataclass(frozen=True)
class InGroup(Node):
    left: Node
    grupo: str


@dataclass(frozen=True)
class Contains(Node):
    left: Node
    text: str                # as written; matching normalises accents and case


@dataclass(frozen=True)
class BoolAttr(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class And(Node):
    items: tuple


@dataclass(frozen=True)
class Or(Node):
    items: tuple


LEAVES = (Cmp, InList, InGroup, Contains, BoolAttr)


def leaves(node: Node) -> list[Node]:
    """The comparisons of a condition, left to right."""
    if isinstance(node, LEAVES):
        return [node]
    if isinstance(node, Not):
        return leaves(node.item)
    if isinstance(node, (And, Or)):
        return [leaf for item in node.items for leaf in leaves(item)]
    return []


def operands(leaf: Node) -> list[Node]:
    """The non-literal values a leaf reads (attributes and functions)."""
    if isinstance(leaf, Cmp):
        return [x for x in (leaf.left, leaf.right) if not isinstance(x, Lit)]
    if isinstance(leaf, (InList, InGroup, Contains)):
        return [leaf.left] if not isinstance(leaf.left, Lit) else []
    if isinstance(leaf, BoolAttr):
        return [leaf.operand]
    return []


def functions(node: Node) -> list[Func]:
    return [op for leaf in leaves(node) for op in operands(leaf) if isinstance(op, Func)]


def attributes(node: Node) -> list[str]:
    return [op.name for leaf in leaves(node) for op in operands(leaf) if isinstance(op, Attr)]


# --- canonical text ---------------------------------------------------------------------
def _bound(b: tuple | None) -> str:
    if b is None:
        return "-"
    if b[0] == "data":
        return b[1].isoformat()
    if b[0] == "adesao":
        return "adesão"
    return "data_solicitacao" if b[1] == 0 else f"data_solicitacao - {b[1]} dias"


def _num(v) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.2f}".rstrip("0").rstrip(".")


def render(node: Node) -> str:
    """Canonical text of a node (used in explanations and lint messages)."""
    if isinstance(node, Lit):
        if node.tipo == "str":
            return f'"{node.value}"'
        if node.tipo == "num":
            return _num(node.value)
        if node.tipo == "bool":
            return "verdadeiro" if node.value else "falso"
        return node.value.isoformat()
    if isinstance(node, Attr):
        return node.name
    if isinstance(node, Alvo):
        return {"mesmo": "mesmo procedimento", "complexidade": "mesma complexidade",
                "qualquer": "qualquer procedimento", "codigo": f'procedimento "{node.value}"',
                "grupo": f'grupo "{node.value}"'}[node.kind]
    if isinstance(node, Func):
        if node.kind == "ultima_realizacao":
            return f"ultima_realizacao({render(node.alvo)})"
        p = node.periodo
        if p.hi is not None or (p.lo is not None and p.lo[0] == "data"):
            return f"{node.kind}(beneficiário, {render(node.alvo)}, {_bound(p.lo)}, {_bound(p.hi)})"
        if p.lo is None:
            per = "toda a vida"
        elif p.lo[0] == "adesao":
            per = "desde a adesão"
        else:
            per = f"últimos {p.lo[1]} dias"
        return f"{node.kind}({render(node.alvo)}, {per})"
    if isinstance(node, Cmp):
        return f"{render(node.left)} {node.op} {render(node.right)}"
    if isinstance(node, InList):
        return f"{render(node.left)} em [{', '.join(render(v) for v in node.values)}]"
    if isinstance(node, InGroup):
        return f'{render(node.left)} em grupo "{node.grupo}"'
    if isinstance(node, Contains):
        return f'{render(node.left)} contém "{node.text}"'
    if isinstance(node, BoolAttr):
        return render(node.operand)
    if isinstance(node, Not):
        return f"não ({render(node.item)})"
    if isinstance(node, And):
        return " e ".join(f"({render(i)})" if isinstance(i, Or) else render(i) for i in node.items)
    if isinstance(node, Or):
        return " ou ".join(render(i) for i in node.items)
    raise TypeError(node)


def is_date(value) -> bool:
    return isinstance(value, date)
