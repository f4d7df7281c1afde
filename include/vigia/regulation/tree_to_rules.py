"""The decision tree's leaves as a Ymir rule file (docs/rules.md), for regulators to lint and backtest.

:func:`render_ymir` turns the :class:`~vigia.regulation.tree_export.Rule` objects of
:func:`~vigia.regulation.tree_export.extract_rules` into a YAML file of the same schema as
``include/rules/*.yaml``: one rule ``ARV-<n>`` per leaf (``n`` = the leaf's position in support
order, as in ``regras.md``), ``negado`` -> ``negar``, ``autorizado`` -> ``autorizar``,
``prioridade`` = round(100 x precision), ``vigencia`` from the export date with no end, ``autor``
``modelo <version>``.

Mapping of the model's columns to the language (every one checked against ``grammar.lark``):

* attributes: sexo, idade, tipo_beneficiario, tipo_guia, grupo (``procedimento em grupo "g"``),
  codigo_procedimento -> ``procedimento``, id_prestador -> ``prestador``, the catalogue fields,
  dias_de_adesao; ``especial``/``pericia_inicial`` ('sim'/'não') -> ``especial`` / ``não especial``;
* history (same windows and point in time as features.sql: events on days d-N .. d-1):
  ``exames_*`` -> ``quantidade(qualquer procedimento, últimos 30|182|365 dias)``,
  ``mesmo_procedimento_*`` -> ``quantidade(mesmo procedimento, ...)``, ``mesma_complexidade_*`` ->
  ``quantidade(mesma complexidade, ...)``, dias_desde_mesmo_procedimento ->
  ``ultima_realizacao(mesmo procedimento)``;
* the expert flags (preprocessing.py): ``fora_da_periodicidade`` = ``ultima_realizacao(mesmo
  procedimento) < periodicidade_dias``, ``fora_da_faixa_etaria`` = ``idade < idade_minima ou idade >
  idade_maxima``, ``sexo_nao_permitido`` = ``sexo <> sexo_permitido``, ``em_carencia`` =
  ``dias_de_adesao < carencia_dias``; '= não' is written as the complement on known values;
* not expressible: ``guias_*`` (the language counts events, not earlier requests),
  ``mes_solicitacao`` (no month of the request), the one-hot catch-alls '(ausente)'/'(outras)'.

Missing values. The model imputes a missing number with the training mean and a missing text
with '(ausente)', and a flag is 0 when an operand is missing; in the language a comparison with an
unknown value is unknown and the rule does not fire. So for each test whose column has missing
values in the data given (``missing``), the renderer checks which branch the missing rows take:
if they do not take this branch the plain comparison is exact; if they do, the condition needs a
missing-value test, which the language has only for the last realisation
(``quantidade(mesmo procedimento, toda a vida) = 0`` <=> ``ultima_realizacao`` unknown); any other
such test makes the leaf not emitted, with the reason in a YAML comment.

Thresholds: the tree tests ``x <= t`` (a midpoint between observed values). Integer-valued
columns are written ``x < k`` / ``x >= k`` with k = floor(t) + 1 (idade <= 11.5 -> idade < 12);
money (valor, valor_moderacao, in cents) ``x <= c`` / ``x > c`` with c = t floored to cents. Both
keep the same split of every integer (resp. whole-cent) value.
"""

from __future__ import annotations

import math
from datetime import date

import yaml

from vigia.regulation.tree_export import Condition, Rule

OUTCOMES = {"negado": "negar", "autorizado": "autorizar"}
WINDOW_DAYS = {"mes": 30, "semestre": 182, "ano": 365}
ALVOS = {"exames": "qualquer procedimento", "mesmo_procedimento": "mesmo procedimento",
         "mesma_complexidade": "mesma complexidade"}
ATTRIBUTES = {"sexo": "sexo", "tipo_beneficiario": "tipo_beneficiario", "tipo_guia": "tipo_guia",
              "codigo_procedimento": "procedimento", "id_prestador": "prestador", "sexo_permitido": "sexo_permitido",
              "idade": "idade", "dias_de_adesao": "dias_de_adesao", "periodicidade_dias": "periodicidade_dias",
              "idade_minima": "idade_minima", "idade_maxima": "idade_maxima", "carencia_dias": "carencia_dias",
              "valor": "valor", "valor_moderacao": "valor_moderacao", "nivel_complexidade": "nivel_complexidade",
              "ordem": "ordem", "dias_desde_mesmo_procedimento": "ultima_realizacao(mesmo procedimento)"}
MONEY = {"valor", "valor_moderacao"}
CATALOGUE = {"grupo", "periodicidade_dias", "idade_minima", "idade_maxima", "sexo_permitido", "carencia_dias",
             "valor", "valor_moderacao", "nivel_complexidade", "ordem", "especial", "pericia_inicial"}
BOOLEANS = {"especial", "pericia_inicial"}
NEVER_DONE = "quantidade(mesmo procedimento, toda a vida) = 0"
# flag -> (language when 1, [(comparison false on known values, the columns it reads)] that must all hold
# when 0). The flag is 0 when its comparison is false or an operand is missing, so each part is written
# "(comparison false ou <operand missing> ...)".
FLAGS = {
    "fora_da_periodicidade": ("ultima_realizacao(mesmo procedimento) < periodicidade_dias",
                              [("ultima_realizacao(mesmo procedimento) >= periodicidade_dias",
                                ("dias_desde_mesmo_procedimento", "periodicidade_dias"))]),
    "fora_da_faixa_etaria": ("(idade < idade_minima ou idade > idade_maxima)",
                             [("idade >= idade_minima", ("idade", "idade_minima")),
                              ("idade <= idade_maxima", ("idade", "idade_maxima"))]),
    "sexo_nao_permitido": ("sexo <> sexo_permitido", [("sexo = sexo_permitido", ("sexo", "sexo_permitido"))]),
    "em_carencia": ("dias_de_adesao < carencia_dias",
                    [("dias_de_adesao >= carencia_dias", ("dias_de_adesao", "carencia_dias"))]),
}


class NotExpressible(ValueError):
    """A test of the path the rule language cannot write exactly (the message says why)."""


def _number(x: float) -> str:
    if x < 0:
        raise NotExpressible(f"limite negativo {x:g}: a linguagem só escreve números não negativos")
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _operand(column: str) -> str:
    if column in ATTRIBUTES:
        return ATTRIBUTES[column]
    base, _, window = column.rpartition("_")
    if base in ALVOS and window in WINDOW_DAYS:
        return f"quantidade({ALVOS[base]}, últimos {WINDOW_DAYS[window]} dias)"
    if base == "guias":
        raise NotExpressible(f"{column}: a linguagem conta eventos realizados, não guias solicitadas antes")
    if column == "mes_solicitacao":
        raise NotExpressible("mes_solicitacao: a linguagem não tem o mês da solicitação")
    raise NotExpressible(f"{column}: sem atributo ou função correspondente na linguagem")


def _missing_test(column: str, missing: dict) -> str:
    """Language text true exactly on the rows where ``column`` is missing (see :func:`missing_context`)."""
    test = missing.get(column)
    if test is None:
        raise NotExpressible(f"{column}: há valores ausentes neste ramo e a linguagem não testa {column} ausente")
    return test


def _or_missing(text: str, columns, missing: dict) -> str:
    tests = [_missing_test(col, missing) for col in columns if col in missing]
    return f"({' ou '.join([text, *tests])})" if tests else text


def _numeric(c: Condition, missing: dict, fills: dict) -> str:
    operand, t = _operand(c.column), float(c.value)
    if c.column in MONEY:
        k = math.floor(t * 100 + 1e-6) / 100
        text = f"{operand} <= {_number(k)}" if c.op == "<=" else f"{operand} > {_number(k)}"
    else:
        k = math.floor(t + 1e-9) + 1
        text = f"{operand} < {_number(k)}" if c.op == "<=" else f"{operand} >= {_number(k)}"
    if c.column in missing:
        fill = fills.get(c.column)
        takes = fill is None or ((fill <= t) if c.op == "<=" else (fill > t))
        if takes:  # the imputed rows follow this branch: the condition must admit the unknown value
            text = _or_missing(text, [c.column], missing)
    return text


def _categorical(c: Condition, missing: dict) -> str:
    if c.value == "(outras)":
        raise NotExpressible(f"{c.column} {c.op} '(outras)': categorias raras agregadas pelo modelo, sem valor na "
                             "linguagem")
    if c.value == "(ausente)":
        test = _missing_test(c.column, missing)
        if c.op == "=":
            return test
        if c.column in CATALOGUE:            # test = procedimento em [...]; procedimento is never unknown
            return f"não {test}"
        raise NotExpressible(f"{c.column} ≠ '(ausente)': a linguagem não testa valor presente")
    text = _category_test(c.column, c.op == "=", c.value)
    # '≠ x' also takes the rows where the column is missing ('(ausente)'); '= x' never does
    return _or_missing(text, [c.column], missing) if c.op == "!=" else text


def _category_test(column: str, equal: bool, value) -> str:
    if column in BOOLEANS:
        return column if (value == "sim") == equal else f"não {column}"
    if column == "grupo":
        return f'procedimento em grupo "{value}"' if equal else f'não procedimento em grupo "{value}"'
    if column not in ATTRIBUTES or column in MONEY:
        _operand(column)
        raise NotExpressible(f"{column}: sem atributo de texto correspondente")
    return f'{ATTRIBUTES[column]} {"=" if equal else "<>"} "{value}"'


def condition_text(conditions: list[Condition], missing: dict | None = None, fills: dict | None = None) -> str:
    """The Ymir condition of one path (``e`` of its tests); raises :class:`NotExpressible`.

    ``missing``: column -> language test of its missing value (None: not expressible), for the
    columns with missing values; ``fills``: the model's imputed value per numeric column."""
    missing = missing or {}
    if not conditions:
        raise NotExpressible("árvore sem divisões: a folha não tem condição")
    parts = []
    for c in conditions:
        if c.column in FLAGS:
            when_true, when_false = FLAGS[c.column]
            if c.value == "sim":
                missing_sexo = c.column == "sexo_nao_permitido" and "sexo" in missing
                if missing_sexo:  # pandas: a missing sexo differs from every sexo_permitido (flag 1)
                    raise NotExpressible("sexo_nao_permitido = sim: inclui linhas com sexo ausente")
                parts.append(when_true)
                continue
            parts += [_or_missing(text, reads, missing) for text, reads in when_false]
        elif c.op in ("<=", ">") and isinstance(c.value, (int, float)):
            parts.append(_numeric(c, missing, fills or {}))
        else:
            parts.append(_categorical(c, missing))
    return " e ".join(parts)


def missing_context(pipeline, X) -> tuple[dict, dict]:
    """(missing tests, imputed values) for :func:`condition_text`, from the data the rules describe.

    For each column of X with missing values, the language text that is true exactly when it is
    missing: ``quantidade(mesmo procedimento, toda a vida) = 0`` for the last realisation; for a
    catalogue field, ``procedimento em [codes]`` with the codes whose catalogue entry leaves it
    null in X (a catalogue field is a function of the code); None for anything else. Codes not in X
    are not listed, so on a code first seen later a rule with such a test does not fire.
    """
    missing = {}
    for col in X.columns:
        nulls = X[col].isna()
        if not nulls.any():
            continue
        if col == "dias_desde_mesmo_procedimento":
            missing[col] = NEVER_DONE
        elif col in CATALOGUE and "codigo_procedimento" in X and X["codigo_procedimento"].notna().all():
            codes = X.loc[nulls, "codigo_procedimento"].astype(str)
            if set(codes) & set(X.loc[~nulls, "codigo_procedimento"].astype(str)):
                missing[col] = None   # not a function of the code here
            else:
                missing[col] = "procedimento em [" + ", ".join(f'"{k}"' for k in sorted(set(codes))) + "]"
        else:
            missing[str(col)] = None
    fills = {}
    for name, trans, cols in pipeline.named_steps["codificacao"].transformers_:
        if name == "num" and trans != "drop" and len(cols):
            stats = trans.named_steps["imputacao"].statistics_
            fills.update({col: float(v) for col, v in zip(cols, stats)})
    return missing, fills


def ymir_rules(rules: list[Rule], version: str, valid_from: date, missing: dict | None = None,
               fills: dict | None = None) -> tuple[list[dict], list[str]]:
    """(rule mappings in the rule-file schema, one 'ARV-n: reason' line per leaf not emitted)."""
    out, skipped = [], []
    for i, r in enumerate(rules, 1):
        rid = f"ARV-{i:03d}"
        try:
            cond = condition_text(r.conditions, missing, fills)
            resultado = OUTCOMES[r.decision]
        except (NotExpressible, KeyError) as exc:
            skipped.append(f"{rid} (folha {r.leaf}, {r.decision}, suporte {r.support}): {exc}")
            continue
        out.append({
            "id": rid,
            "descricao": (f"Folha {r.leaf} da árvore {version}: {r.decision}, suporte {r.support}, "
                          f"precisão {r.precision:.1%}"),
            "condicao": cond,
            "resultado": resultado,
            "mensagem": (f"Regra aprendida pelo modelo {version}: nas {r.support} guias de treino deste ramo, "
                         f"{r.precision:.0%} foram {r.decision}s."),
            "prioridade": int(round(100 * r.precision)),
            "vigencia": {"inicio": date.fromordinal(valid_from.toordinal()), "fim": None},  # no YAML alias
            "autor": f"modelo {version}",
        })
    return out, skipped


def render_ymir(rules: list[Rule], version: str, valid_from: date, missing: dict | None = None,
                fills: dict | None = None, area: str = "modelo") -> str:
    """The Ymir rule file (YAML text) of the tree's rules; leaves not emitted are listed in comments."""
    regras, skipped = ymir_rules(rules, version, valid_from, missing, fills)
    head = [f"# Regras da árvore de decisão {version}, válidas a partir de {valid_from.isoformat()} (início do treino).",
            f"# {len(regras)} de {len(rules)} folhas; verifique com: python -m vigia.rules lint <arquivo> "
            "e python -m vigia.rules backtest <arquivo> --from AAAA-MM-DD --to AAAA-MM-DD"]
    body = yaml.safe_dump({"area": area, "regras": regras}, allow_unicode=True, sort_keys=False, width=10**6)
    tail = ["# Folhas não emitidas (a linguagem não expressa o caminho):"] + [f"#   {s}" for s in skipped]
    return "\n".join(head) + "\n" + body + ("\n".join(tail) + "\n" if skipped else "")
