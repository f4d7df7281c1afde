"""Parse a condition with the lark grammar (``grammar.lark``) into :mod:`vigia.rules.ast` nodes.

Nothing is ever evaluated as Python: the text goes through lark's LALR parser and a
transformer that only builds nodes. Errors are :class:`RuleError` with the file, the
rule id, the line and column inside the condition, and a sentence in Portuguese
saying what was expected, e.g.::

    exames.yaml, regra COL-001, linha 1, coluna 27: esperado um número, um texto, uma data,
    um atributo ou uma função depois de '>=', encontrado 'e'

After parsing, :func:`check` resolves attribute names and checks types
(``idade = "dez"`` is an error: idade is a number).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from vigia.rules import ast
from vigia.rules.catalog import ATTRIBUTES, FUNCTION_TYPES, canonical

GRAMMAR = Path(__file__).with_name("grammar.lark")


class RuleError(ValueError):
    """A rule that cannot be used: names the file, the rule, the place and what was expected."""

    def __init__(self, message: str, arquivo: str = "", regra: str = "", linha: int | None = None,
                 coluna: int | None = None):
        self.arquivo, self.regra, self.linha, self.coluna, self.detalhe = arquivo, regra, linha, coluna, message
        super().__init__(self.text())

    def text(self) -> str:
        where = []
        if self.arquivo:
            where.append(self.arquivo)
        if self.regra:
            where.append(f"regra {self.regra}")
        if self.linha is not None:
            where.append(f"linha {self.linha}, coluna {self.coluna}")
        return f"{', '.join(where)}: {self.detalhe}" if where else self.detalhe

    def at(self, arquivo: str, regra: str) -> "RuleError":
        return RuleError(self.detalhe, arquivo, regra, self.linha, self.coluna)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", propagate_positions=True,
                maybe_placeholders=False)


# --- errors in Portuguese -----------------------------------------------------------------
_CATEGORIES = [  # (terminal names, description), in the order they are listed
    ({"NUMBER"}, "um número"),
    ({"STRING"}, "um texto entre aspas"),
    ({"DATE"}, "uma data (AAAA-MM-DD)"),
    ({"NAME", "PROCEDIMENTO", "TIPO", "DATA"}, "um atributo"),
    ({"QUANTIDADE", "VALOR_TOTAL", "ULTIMA_REALIZACAO", "ÚLTIMA_REALIZAÇÃO"}, "uma função"),
    ({"COMPARADOR"}, "um comparador (=, <>, <, <=, >, >=)"),
]
_SILENT = {"VERDADEIRO", "SIM", "FALSO", "NAO", "CONTEM", "BENEFICIARIO", "ULTIMOS", "ADESAO",
           "DATA_SOLICITAÇÃO"}  # second spellings and booleans: listed once, through their first form
VALUE_EXPECTED = "um número, um texto entre aspas, uma data (AAAA-MM-DD), um atributo ou uma função"


def _terminal_text(name: str) -> str | None:
    for t in _parser().terminals:
        if t.name == name and t.pattern.type == "str":
            return t.pattern.value
    return None


def _describe_expected(expected: set[str]) -> str:
    parts, used = [], set()
    for names, text in _CATEGORIES:
        if expected & names:
            parts.append(text)
            used |= expected & names
    words = []
    for name in sorted(expected - used - _SILENT):
        if name == "$END":
            words.append("o fim da condição")
            continue
        lit = _terminal_text(name)
        if lit:
            words.append(f"'{lit}'")
    parts += sorted(set(words))
    if not parts:
        return "outra coisa"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " ou " + parts[-1]


def _found(token) -> str:
    if token is None or getattr(token, "type", None) == "$END":
        return "o fim da condição"
    return f"'{token}'"


def _translate(exc: UnexpectedInput, text: str) -> RuleError:
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        return RuleError(f"caractere inesperado '{char}'", linha=exc.line, coluna=exc.column)
    if isinstance(exc, UnexpectedEOF):
        lines = text.split("\n")
        return RuleError(f"a condição termina cedo demais: esperado {_describe_expected(set(exc.expected))}",
                         linha=len(lines), coluna=len(lines[-1]) + 1)
    assert isinstance(exc, UnexpectedToken)
    expected = set(exc.accepts or exc.expected)
    prev = None
    if exc.state is not None and getattr(exc.state, "value_stack", None):
        for item in reversed(exc.state.value_stack):
            if isinstance(item, Token):
                prev = item
                break
            if hasattr(item, "meta") and not getattr(item.meta, "empty", True):
                prev = text[item.meta.start_pos:item.meta.end_pos].split()[-1]
                break
    after = f" depois de '{prev}'" if prev is not None else ""
    token = exc.token
    if token.type == "$END":
        lines = text.split("\n")
        linha, coluna = len(lines), len(lines[-1]) + 1
    else:
        linha, coluna = token.line, token.column
    return RuleError(f"esperado {_describe_expected(expected)}{after}, encontrado {_found(token)}",
                     linha=linha, coluna=coluna)


# --- tree -> nodes --------------------------------------------------------------------------
def _pos(meta_or_token) -> dict:
    return {"linha": getattr(meta_or_token, "line", 1) or 1, "coluna": getattr(meta_or_token, "column", 1) or 1}


RESERVED = {"e", "ou", "em", "não", "nao", "contém", "contem", "de", "da", "a"}


class _Reserved(ast.Node):
    """A keyword lexed where an attribute was expected (``idade >= e``): reported, never evaluated."""

    def __init__(self, word, linha=1, coluna=1):
        object.__setattr__(self, "word", word)
        object.__setattr__(self, "linha", linha)
        object.__setattr__(self, "coluna", coluna)


def _no_reserved(items):
    for item in items:
        if isinstance(item, _Reserved):
            raise RuleError(f"esperado {VALUE_EXPECTED}, encontrado '{item.word}'",
                            linha=item.linha, coluna=item.coluna)


@v_args(meta=True)
class _Build(Transformer):
    def ou(self, meta, items):
        return items[0] if len(items) == 1 else ast.Or(tuple(items), **_pos(meta))

    def e(self, meta, items):
        return items[0] if len(items) == 1 else ast.And(tuple(items), **_pos(meta))

    def nao(self, meta, items):
        return ast.Not(items[-1], **_pos(meta))

    def comparacao(self, meta, items):
        left, op, right = items
        for side, where in ((left, None), (right, op)):
            if isinstance(side, _Reserved):
                after = f" depois de '{where}'" if where is not None else ""
                raise RuleError(f"esperado {VALUE_EXPECTED}{after}, encontrado '{side.word}'",
                                linha=side.linha, coluna=side.coluna)
        return ast.Cmp(str(op), left, right, **_pos(meta))

    def em_lista(self, meta, items):
        _no_reserved(items)
        return ast.InList(items[0], tuple(items[1:]), **_pos(meta))

    def em_grupo(self, meta, items):
        _no_reserved(items)
        return ast.InGroup(items[0], items[-1][1:-1], **_pos(meta))

    def contem(self, meta, items):
        _no_reserved(items)
        return ast.Contains(items[0], items[-1][1:-1], **_pos(meta))

    def booleano(self, meta, items):
        _no_reserved(items)
        return ast.BoolAttr(items[0], **_pos(meta))

    def numero(self, meta, items):
        return ast.Lit(float(items[0]), "num", **_pos(meta))

    def texto(self, meta, items):
        return ast.Lit(str(items[0])[1:-1], "str", **_pos(meta))

    def data(self, meta, items):
        try:
            value = date.fromisoformat(str(items[0]))
        except ValueError:
            raise RuleError(f"data inválida '{items[0]}': esperado AAAA-MM-DD", **_pos(meta)) from None
        return ast.Lit(value, "date", **_pos(meta))

    def verdadeiro(self, meta, items):
        return ast.Lit(True, "bool", **_pos(meta))

    def falso(self, meta, items):
        return ast.Lit(False, "bool", **_pos(meta))

    def _attr(self, meta, spelled: str):
        if spelled.lower() in RESERVED:
            return _Reserved(spelled, **_pos(meta))
        name = canonical(spelled)
        if name is None:
            raise RuleError(f"atributo desconhecido '{spelled}'; atributos conhecidos: "
                            f"{', '.join(sorted(ATTRIBUTES))}", **_pos(meta))
        return ast.Attr(name, **_pos(meta))

    def atributo(self, meta, items):
        return self._attr(meta, str(items[0]))

    def atributo_procedimento(self, meta, items):
        return ast.Attr("procedimento", **_pos(meta))

    def atributo_tipo(self, meta, items):
        return self._attr(meta, f"tipo de {items[-1]}")

    def atributo_data(self, meta, items):
        return self._attr(meta, f"data da {items[-1]}")

    # history functions
    def quantidade(self, meta, items):
        return ast.Func("quantidade", items[0], items[1], **_pos(meta))

    def valor_total(self, meta, items):
        return ast.Func("valor_total", items[0], items[1], **_pos(meta))

    def quantidade_periodo(self, meta, items):
        alvo, lo, hi = items
        return ast.Func("quantidade", alvo, ast.Periodo(lo, hi, **_pos(meta)), **_pos(meta))

    def ultima_realizacao(self, meta, items):
        return ast.Func("ultima_realizacao", items[0], None, **_pos(meta))

    def mesmo_procedimento(self, meta, items):
        return ast.Alvo("mesmo", **_pos(meta))

    def mesma_complexidade(self, meta, items):
        return ast.Alvo("complexidade", **_pos(meta))

    def qualquer_procedimento(self, meta, items):
        return ast.Alvo("qualquer", **_pos(meta))

    def procedimento_codigo(self, meta, items):
        return ast.Alvo("codigo", str(items[-1])[1:-1], **_pos(meta))

    def grupo(self, meta, items):
        return ast.Alvo("grupo", str(items[-1])[1:-1], **_pos(meta))

    def ultimos_dias(self, meta, items):
        n = float(items[-1])
        if not n.is_integer() or n < 1:
            raise RuleError(f"'últimos {items[-1]} dias': esperado um número inteiro de dias maior que zero",
                            **_pos(meta))
        return ast.Periodo(("dias", int(n)), None, **_pos(meta))

    def desde_adesao(self, meta, items):
        return ast.Periodo(("adesao",), None, **_pos(meta))

    def toda_vida(self, meta, items):
        return ast.Periodo(None, None, **_pos(meta))

    def limite_data(self, meta, items):
        return ("data", self.data(meta, items).value)

    def limite_solicitacao(self, meta, items):
        return ("dias", 0)

    def limite_solicitacao_menos(self, meta, items):
        n = float(items[-1])
        if not n.is_integer():
            raise RuleError(f"'{items[-1]} dias': esperado um número inteiro de dias", **_pos(meta))
        return ("dias", int(n))

    def limite_adesao(self, meta, items):
        return ("adesao",)


# --- types ---------------------------------------------------------------------------------
_PLURAL = {"num": "números", "str": "textos entre aspas"}
_TYPE_NAMES = {"num": "um número", "str": "um texto", "date": "uma data", "bool": "verdadeiro/falso"}


def type_of(node: ast.Node) -> str:
    if isinstance(node, ast.Lit):
        return node.tipo
    if isinstance(node, ast.Attr):
        return ATTRIBUTES[node.name]
    if isinstance(node, ast.Func):
        return FUNCTION_TYPES[node.kind]
    return "bool"


def _err(node: ast.Node, message: str) -> RuleError:
    return RuleError(message, linha=node.linha, coluna=node.coluna)


def check(node: ast.Node) -> ast.Node:
    """Type-check a condition; raises RuleError at the first problem."""
    if isinstance(node, (ast.And, ast.Or)):
        for item in node.items:
            check(item)
    elif isinstance(node, ast.Not):
        check(node.item)
    elif isinstance(node, ast.Cmp):
        lt, rt = type_of(node.left), type_of(node.right)
        if lt != rt:
            raise _err(node, f"tipos incompatíveis em '{ast.render(node)}': {ast.render(node.left)} é "
                             f"{_TYPE_NAMES[lt]} e {ast.render(node.right)} é {_TYPE_NAMES[rt]}")
        if node.op in ("<", "<=", ">", ">=") and lt not in ("num", "date"):
            raise _err(node, f"'{node.op}' compara números ou datas; {ast.render(node.left)} é {_TYPE_NAMES[lt]}")
        if isinstance(node.left, ast.Lit) and isinstance(node.right, ast.Lit):
            raise _err(node, f"'{ast.render(node)}' compara dois valores fixos: esperado um atributo ou uma função")
    elif isinstance(node, ast.InList):
        lt = type_of(node.left)
        if lt not in ("num", "str"):
            raise _err(node, f"'em [lista]' pede um número ou um texto; {ast.render(node.left)} é {_TYPE_NAMES[lt]}")
        for v in node.values:
            if v.tipo != lt:
                raise _err(v, f"a lista de {ast.render(node.left)} deve conter só {_PLURAL[lt]}; "
                              f"{ast.render(v)} é {_TYPE_NAMES[v.tipo]}")
    elif isinstance(node, ast.InGroup):
        if node.left != ast.Attr("procedimento"):
            raise _err(node, f"'em grupo' vale para procedimento; encontrado {ast.render(node.left)}")
    elif isinstance(node, ast.Contains):
        if type_of(node.left) != "str" or isinstance(node.left, ast.Lit):
            raise _err(node, f"'contém' procura um texto em um atributo de texto (anexo, cid...); "
                             f"{ast.render(node.left)} é {_TYPE_NAMES[type_of(node.left)]}")
        if not node.text.strip():
            raise _err(node, "'contém' pede uma palavra-chave não vazia")
    elif isinstance(node, ast.BoolAttr):
        t = type_of(node.operand)
        if t != "bool" or isinstance(node.operand, ast.Lit):
            raise _err(node, f"'{ast.render(node.operand)}' sozinho não é uma condição: esperado um comparador "
                             "(=, <>, <, <=, >, >=), 'em' ou 'contém' depois dele")
    return node


def parse(text: str, arquivo: str = "", regra: str = "") -> ast.Node:
    """Parse and type-check one condition."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError("condição vazia: esperado uma condição como 'idade < 12'", arquivo, regra)
    try:
        tree = _parser().parse(text)
        node = _Build().transform(tree)
        return check(node)
    except UnexpectedInput as exc:
        raise _translate(exc, text).at(arquivo, regra) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, RuleError):
            raise exc.orig_exc.at(arquivo, regra) from None
        raise
    except RuleError as exc:
        raise exc.at(arquivo, regra) from None
