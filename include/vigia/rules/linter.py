"""The linter: what is wrong with a ruleset before it decides anything.

Errors (exit code 1; the DAG refuses the ruleset):

* the file or a rule cannot be read: YAML, missing fields, unknown outcome, bad dates;
* the condition does not parse, names an unknown attribute, or mixes types
  (``idade = "dez"``, ``sexo > 3``): :mod:`vigia.rules.parser`;
* a repeated rule id;
* a condition that can never be true: within the rule's top-level ``e``, the
  comparisons of one number or date with fixed values leave an empty range
  (``idade < 10 e idade > 20``), or one text is required to equal two different
  values, or a comparison and its ``não`` are both required (``anexo contém "x" e
  não anexo contém "x"``; ``contém`` on a missing text is false, never unknown), or (when the catalogue is given) ``procedimento`` is compared with a code
  that is not in it;
* an exact duplicate: same condition (as parsed: spacing and synonyms do not count)
  and same outcome as another rule;
* a rule fully shadowed: another rule fires whenever it fires (same condition, or a
  weaker one: a subset of its top-level ``e`` comparisons, where a numeric bound
  may be looser), is valid over its whole vigência, and wins over it by the
  conflict policy, so the shadowed rule can never decide a request.

Warnings (exit code 0): expired rules (``vigencia.fim`` before today) and
keywords with characters ``contém`` cannot fold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from vigia.rules import ast, policy
from vigia.rules.ruleset import FOREVER, Rule, Ruleset, load


@dataclass(frozen=True)
class Finding:
    severidade: str          # 'erro' | 'aviso'
    arquivo: str
    regra: str
    mensagem: str
    linha: int | None = None
    coluna: int | None = None

    def text(self) -> str:
        parts = [self.arquivo, f"regra {self.regra}" if self.regra else "",
                 f"linha {self.linha}, coluna {self.coluna}" if self.linha is not None else ""]
        return f"{self.severidade.upper()}: {', '.join(x for x in parts if x)}: {self.mensagem}"


@dataclass
class Report:
    findings: list[Finding]
    ruleset: Ruleset | None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severidade == "erro"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severidade == "aviso"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self) -> str:
        lines = [f.text() for f in self.findings]
        n = len(self.ruleset.rules) if self.ruleset else 0
        version = self.ruleset.version if self.ruleset else "-"
        lines.append(f"{n} regra(s), versão {version}: {len(self.errors)} erro(s), {len(self.warnings)} aviso(s)")
        return "\n".join(lines)


# --- ranges of a conjunction ---------------------------------------------------------------
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


def conjuncts(node: ast.Node) -> list[ast.Node]:
    return list(node.items) if isinstance(node, ast.And) else [node]


def _bound_of(leaf) -> tuple | None:
    """(operand key, op, value) for `operand op literal` (either side), numbers and dates only."""
    if not isinstance(leaf, ast.Cmp):
        return None
    left, op, right = leaf.left, leaf.op, leaf.right
    if isinstance(left, ast.Lit) and not isinstance(right, ast.Lit):
        left, op, right = right, _FLIP[op], left
    if isinstance(left, ast.Lit) or not isinstance(right, ast.Lit) or right.tipo not in ("num", "date"):
        return None
    value = right.value.toordinal() if right.tipo == "date" else float(right.value)
    return ast.render(left), op, value


class _Range:
    def __init__(self):
        self.lo, self.lo_strict, self.hi, self.hi_strict = -math.inf, False, math.inf, False
        self.eq: set = set()
        self.ne: set = set()

    def add(self, op, v):
        if op in (">", ">="):
            strict = op == ">"
            if v > self.lo or (v == self.lo and strict):
                self.lo, self.lo_strict = v, strict
        elif op in ("<", "<="):
            strict = op == "<"
            if v < self.hi or (v == self.hi and strict):
                self.hi, self.hi_strict = v, strict
        elif op == "=":
            self.eq.add(v)
        else:
            self.ne.add(v)

    def empty(self) -> bool:
        if len(self.eq) > 1:
            return True
        if self.lo > self.hi or (self.lo == self.hi and (self.lo_strict or self.hi_strict)):
            return True
        for v in self.eq:
            if v in self.ne or v < self.lo or v > self.hi or (v == self.lo and self.lo_strict) \
                    or (v == self.hi and self.hi_strict):
                return True
        return False

    def within(self, other: "_Range") -> bool:
        """Every value allowed here is allowed by ``other``."""
        if other.eq and (self.eq != other.eq):
            return False
        lo_ok = self.lo > other.lo or (self.lo == other.lo and (self.lo_strict or not other.lo_strict))
        hi_ok = self.hi < other.hi or (self.hi == other.hi and (self.hi_strict or not other.hi_strict))
        return lo_ok and hi_ok and other.ne <= self.ne


def _ranges(items: list[ast.Node]) -> tuple[dict, list]:
    ranges: dict = {}
    rest = []
    for leaf in items:
        b = _bound_of(leaf)
        if b is None:
            rest.append(leaf)
            continue
        ranges.setdefault(b[0], _Range()).add(b[1], b[2])
    return ranges, rest


def never_true(rule: Rule, codes: set | None) -> str | None:
    items = conjuncts(rule.node)
    ranges, _ = _ranges(items)
    for key, rng in ranges.items():
        if rng.empty():
            leaves = [ast.render(i) for i in items if (_bound_of(i) or ("",))[0] == key]
            return f"condição nunca verdadeira: {' e '.join(leaves)} não deixa nenhum valor possível para {key}"
    for leaf in items:   # `c e não c`: false or unknown for any c (contém is never unknown: see docs)
        if isinstance(leaf, ast.Not) and leaf.item in items:
            return f"condição nunca verdadeira: exige '{ast.render(leaf.item)}' e a sua negação"
    equal: dict = {}
    for leaf in items:
        if isinstance(leaf, ast.Cmp) and leaf.op == "=" and isinstance(leaf.right, ast.Lit) \
                and leaf.right.tipo in ("str", "bool") and not isinstance(leaf.left, ast.Lit):
            equal.setdefault(ast.render(leaf.left), set()).add(leaf.right.value)
        if isinstance(leaf, ast.InGroup):
            equal.setdefault("grupo", set()).add(leaf.grupo)
    for key, values in equal.items():
        if len(values) > 1:
            shown = " e ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in sorted(values, key=str))
            return f"condição nunca verdadeira: {key} não pode ser ao mesmo tempo {shown}"
    if codes is not None:
        for leaf in ast.leaves(rule.node):
            used = []
            if isinstance(leaf, ast.Cmp) and ast.Attr("procedimento") in (leaf.left, leaf.right):
                used = [x.value for x in (leaf.left, leaf.right) if isinstance(x, ast.Lit)]
            elif isinstance(leaf, ast.InList) and leaf.left == ast.Attr("procedimento"):
                used = [v.value for v in leaf.values]
            for op in ast.operands(leaf):
                if isinstance(op, ast.Func) and op.alvo.kind == "codigo":
                    used.append(op.alvo.value)
            unknown = sorted(c for c in used if c not in codes)
            if unknown:
                return (f"procedimento {', '.join(unknown)} não existe no catálogo (procedimentos): "
                        f"a comparação '{ast.render(leaf)}' nunca se aplica")
    return None


def implies(strong: Rule, weak: Rule) -> bool:
    """True when ``weak``'s condition holds whenever ``strong``'s does (syntactic check)."""
    if strong.node == weak.node:
        return True
    s_items, w_items = conjuncts(strong.node), conjuncts(weak.node)
    s_ranges, s_rest = _ranges(s_items)
    w_ranges, w_rest = _ranges(w_items)
    if any(item not in s_rest for item in w_rest):
        return False
    return all(key in s_ranges and s_ranges[key].within(rng) for key, rng in w_ranges.items())


def _covers(a: Rule, b: Rule) -> bool:
    return a.inicio <= b.inicio and (a.fim or FOREVER) >= (b.fim or FOREVER)


def lint_ruleset(rs: Ruleset, catalogue_codes: set | None = None, today: date | None = None) -> Report:
    today = today or date.today()
    findings: list[Finding] = []
    for err in rs.errors:
        findings.append(Finding("erro", err.arquivo, err.regra, err.detalhe, err.linha, err.coluna))
    seen: dict = {}
    for r in rs.rules:
        if r.id in seen:
            findings.append(Finding("erro", r.arquivo, r.id, f"id repetido: também definido em {seen[r.id].arquivo}"))
        seen.setdefault(r.id, r)
    for r in rs.rules:
        problem = never_true(r, catalogue_codes)
        if problem:
            findings.append(Finding("erro", r.arquivo, r.id, problem))
        if r.fim is not None and r.fim < today:
            findings.append(Finding("aviso", r.arquivo, r.id, f"regra expirada: vigência terminou em {r.fim}"))
        for leaf in ast.leaves(r.node):
            if isinstance(leaf, ast.Contains):
                from vigia.rules.catalog import fold  # noqa: PLC0415
                if not fold(leaf.text).isascii():
                    findings.append(Finding("aviso", r.arquivo, r.id, f'palavra-chave "{leaf.text}" tem caracteres '
                                            "que a comparação sem acentos não trata"))
    rules = rs.rules
    for i, b in enumerate(rules):
        for j, a in enumerate(rules):
            if i == j:
                continue
            if a.node == b.node and a.resultado == b.resultado:
                if j < i:
                    findings.append(Finding("erro", b.arquivo, b.id, f"duplicata exata da regra {a.id} ({a.arquivo}): "
                                            "mesma condição e mesmo resultado"))
                continue
            if policy.outranks(a, b) and _covers(a, b) and implies(b, a):
                what = "a mesma condição" if a.node == b.node else "uma condição mais fraca"
                findings.append(Finding("erro", b.arquivo, b.id, (
                    f"regra sombreada por {a.id} ({a.arquivo}): {a.id} tem {what} e vence pela política "
                    f"({a.resultado}, prioridade {a.prioridade} contra {b.resultado}, prioridade {b.prioridade}); "
                    f"{b.id} nunca decide uma solicitação")))
                break
    return Report(findings, rs)


def lint(path, catalogue_codes: set | None = None, today: date | None = None) -> Report:
    try:
        rs = load(path, strict=False)
    except FileNotFoundError as exc:
        return Report([Finding("erro", str(path), "", str(exc))], None)
    return lint_ruleset(rs, catalogue_codes, today)
