"""Rule files: YAML under a folder (``include/rules/`` by default), one file per area.

A file holds ``area`` and ``regras``, a list of rules::

    area: exames
    regras:
      - id: COL-001
        descricao: Colesterol total no máximo uma vez a cada 30 dias
        condicao: procedimento = "40301630" e quantidade(mesmo procedimento, últimos 30 dias) >= 1
        resultado: negar            # autorizar | negar | bloquear | analise_tecnica
        mensagem: Colesterol total já realizado nos últimos 30 dias.
        prioridade: 100             # higher wins among rules of the same outcome
        vigencia: {inicio: 2024-01-01, fim: null}   # inclusive; fim null = no end
        autor: Dra. Ana (regulação)

The ruleset's version is the first 12 hex digits of SHA-256 over every file's name
and bytes, in name order: any edit, added or removed file gives a new version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from vigia.rules import ast
from vigia.rules.catalog import OUTCOMES
from vigia.rules.parser import RuleError, parse

REQUIRED = ("id", "descricao", "condicao", "resultado", "mensagem", "prioridade", "vigencia", "autor")
OUTCOME_ALIASES = {"análise técnica": "analise_tecnica", "analise tecnica": "analise_tecnica",
                   "análise_técnica": "analise_tecnica"}
FOREVER = date(9999, 12, 31)


@dataclass(frozen=True)
class Rule:
    id: str
    descricao: str
    condicao: str
    resultado: str
    mensagem: str
    prioridade: int
    inicio: date
    fim: date | None
    autor: str
    arquivo: str
    area: str
    node: ast.Node = field(compare=False, repr=False)

    def vigente(self, dia: date) -> bool:
        return self.inicio <= dia <= (self.fim or FOREVER)


@dataclass
class Ruleset:
    rules: list[Rule]
    version: str
    path: str
    errors: list[RuleError] = field(default_factory=list)   # rules that could not be loaded

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def version_of(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def rule_files(path: str | Path) -> tuple[Path, list[Path]]:
    p = Path(path)
    if p.is_file():
        return p.parent, [p]
    if not p.is_dir():
        raise FileNotFoundError(f"pasta de regras não encontrada: {p}")
    files = sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")])
    return p, files


def _date(value, where: str, campo: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RuleError(f"vigencia.{campo} '{value}' não é uma data: esperado AAAA-MM-DD") from None


def _rule(raw, arquivo: str, area: str, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"a regra nº {index + 1} não é um mapeamento com {', '.join(REQUIRED)}", arquivo)
    rid = str(raw.get("id") or f"nº {index + 1}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "") and k != "vigencia"]
    if "vigencia" not in raw:
        missing.append("vigencia")
    if missing:
        raise RuleError(f"campo(s) obrigatório(s) ausente(s): {', '.join(missing)}", arquivo, rid)
    resultado = str(raw["resultado"]).strip().lower()
    resultado = OUTCOME_ALIASES.get(resultado, resultado)
    if resultado not in OUTCOMES:
        raise RuleError(f"resultado '{raw['resultado']}' desconhecido: esperado um de {', '.join(OUTCOMES)}",
                        arquivo, rid)
    try:
        prioridade = int(raw["prioridade"])
    except (TypeError, ValueError):
        raise RuleError(f"prioridade '{raw['prioridade']}' não é um número inteiro", arquivo, rid) from None
    vig = raw.get("vigencia") or {}
    if not isinstance(vig, dict):
        raise RuleError("vigencia deve ter inicio e fim (fim pode ser nulo)", arquivo, rid)
    try:
        inicio = _date(vig.get("inicio"), arquivo, "inicio")
        fim = _date(vig.get("fim"), arquivo, "fim")
    except RuleError as exc:
        raise exc.at(arquivo, rid) from None
    if inicio is None:
        raise RuleError("vigencia.inicio ausente: esperado AAAA-MM-DD", arquivo, rid)
    if fim is not None and fim < inicio:
        raise RuleError(f"vigencia.fim {fim} é anterior a vigencia.inicio {inicio}", arquivo, rid)
    node = parse(str(raw["condicao"]), arquivo, rid)
    return Rule(rid, str(raw["descricao"]), str(raw["condicao"]).strip(), resultado, str(raw["mensagem"]),
                prioridade, inicio, fim, str(raw["autor"]), arquivo, area, node)


def load(path: str | Path, strict: bool = True) -> Ruleset:
    """Load every rule file under ``path``. ``strict``: raise the first RuleError; otherwise
    collect errors in ``Ruleset.errors`` and keep the rules that loaded (the linter does this)."""
    root, files = rule_files(path)
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for f in files:
        arquivo = f.relative_to(root).as_posix()
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            err = RuleError(f"YAML inválido: {getattr(exc, 'problem', exc)}", arquivo, "",
                            mark.line + 1 if mark else None, mark.column + 1 if mark else None)
            if strict:
                raise err from None
            errors.append(err)
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("regras"), list):
            err = RuleError("esperado um mapeamento com 'area' e a lista 'regras'", arquivo)
            if strict:
                raise err
            errors.append(err)
            continue
        area = str(doc.get("area") or f.stem)
        for i, raw in enumerate(doc["regras"]):
            try:
                rules.append(_rule(raw, arquivo, area, i))
            except RuleError as exc:
                if strict:
                    raise
                errors.append(exc)
    if strict:
        seen: dict[str, Rule] = {}
        for r in rules:
            if r.id in seen:
                raise RuleError(f"id repetido: também definido em {seen[r.id].arquivo}", r.arquivo, r.id)
            seen[r.id] = r
    return Ruleset(rules, version_of(files, root), str(path), errors)
