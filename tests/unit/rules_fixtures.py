"""Hand-made regulation sources for the rules tests: the contract's four tables, a few rows each.

Every expected number in the tests is computed by hand from these rows (see the comments).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from textwrap import dedent

import pandas as pd

from vigia.connections import ConnectionSpec
from vigia.warehouse import open_warehouse

# codigo, descricao, grupo, periodicidade, idade_min, idade_max, sexo, carencia, valor, moderacao, nivel, ordem, especial, pericia
PROCEDIMENTOS = pd.DataFrame([
    ("40301630", "Colesterol total", "exames-laboratoriais", 30, None, None, None, 30, 8.0, 2.0, 1, 1, False, False),
    ("40302040", "Glicose", "exames-laboratoriais", 30, None, None, None, 30, 6.0, 1.5, 1, 2, False, False),
    ("31003079", "Apendicectomia", "cirurgia-geral", 36500, None, None, None, 180, 3200.0, 0.0, 3, 1, False, False),
    ("31009336", "Herniorrafia inguinal", "cirurgia-geral", 365, None, None, None, 180, 2900.0, 0.0, 3, 2, False, False),
    ("40901238", "Ultrassonografia obstétrica", "obstetricia", 30, 12, 55, "F", 180, 160.0, 35.0, 2, 1, False, False),
    ("87000172", "Aparelho ortodôntico", "odontologia-ortodontia", 36500, 7, 18, None, 180, 900.0, 150.0, 2, 1, False, True),
    ("20104030", "Quimioterapia", "oncologia", None, None, None, None, 180, 3800.0, 0.0, 4, 1, True, False),
], columns=["codigo_procedimento", "descricao", "grupo", "periodicidade_dias", "idade_minima", "idade_maxima",
            "sexo_permitido", "carencia_dias", "valor", "valor_moderacao", "nivel_complexidade", "ordem",
            "especial", "pericia_inicial"])
for _c in ("periodicidade_dias", "idade_minima", "idade_maxima"):
    PROCEDIMENTOS[_c] = PROCEDIMENTOS[_c].astype("Int64")

BENEFICIARIOS = pd.DataFrame([
    # B1: woman, 46 on 2026-10-10 (birthday 05-10 already passed), joined 2020
    ("B1", "F", date(1980, 5, 10), "titular", date(2020, 1, 1)),
    # B2: boy, 9 on 2026-10-10 (born 2016-10-11: birthday tomorrow), joined 2020
    ("B2", "M", date(2016, 10, 11), "dependente", date(2020, 1, 1)),
    # B3: man, joined 2026-09-20: 20 days of adesão on 2026-10-10 (carência)
    ("B3", "M", date(1990, 12, 31), "titular", date(2026, 9, 20)),
], columns=["id_beneficiario", "sexo", "data_nascimento", "tipo_beneficiario", "data_adesao"])

EVENTOS = pd.DataFrame([
    ("B1", "40301630", date(2026, 9, 9), 8.0),    # 31 days before 10-10: outside "últimos 30 dias"
    ("B1", "40301630", date(2026, 9, 10), 8.0),   # exactly 30 days before: inside
    ("B1", "40301630", date(2026, 10, 5), 8.0),   # inside
    ("B1", "40301630", date(2026, 10, 10), 8.0),  # the request's own day: never seen (point in time)
    ("B1", "40302040", date(2026, 10, 1), 6.0),   # same group and complexity, other procedure
    ("B1", "31003079", date(2019, 6, 1), 3200.0),  # appendectomy, long ago (before nothing: toda a vida)
    ("B1", "31009336", date(2026, 8, 1), 2900.0),  # same complexity (3) as appendectomy
    ("B3", "40301630", date(2026, 10, 1), 8.0),
], columns=["id_beneficiario", "codigo_procedimento", "data_realizacao", "valor"])

GUIAS = pd.DataFrame([
    # id, benef, data_solicitacao, codigo, tipo_guia, prestador, texto_anexo, decisao, data_decisao, cid
    (1, "B1", datetime(2026, 10, 10, 9, 0), "40301630", "sadt", "PR1", None, "negado", datetime(2026, 10, 10, 12), None),
    (2, "B1", datetime(2026, 10, 10, 10, 0), "31003079", "internacao", "PR2", "Caso de URGÊNCIA", "autorizado",
     datetime(2026, 10, 10, 12), "K35"),
    (3, "B3", datetime(2026, 10, 10, 11, 0), "40901238", "sadt", "PR1", None, "negado", datetime(2026, 10, 10, 12), None),
    (4, "B2", datetime(2026, 10, 10, 12, 0), "87000172", "odontologia", "PR3", None, "negado",
     datetime(2026, 10, 10, 12), None),
    (5, "B1", datetime(2026, 10, 10, 13, 0), "20104030", "sadt", "PR4", "Paciente oncologico em tratamento",
     "autorizado", datetime(2026, 10, 10, 14), "C50.9"),
    (6, "B2", datetime(2026, 10, 10, 14, 0), "40302040", "sadt", "PR1", None, "autorizado",
     datetime(2026, 10, 10, 15), None),
    # pending (decisao NULL): two on 2026-10-11, one with an unknown procedure code
    (7, "B1", datetime(2026, 10, 11, 9, 0), "40301630", "sadt", "PR1", None, None, None, None),
    (8, "B2", datetime(2026, 10, 11, 10, 0), "40302040", "sadt", "PR1", None, None, None, None),
    (9, "B1", datetime(2026, 10, 11, 11, 0), "99999999", "sadt", "PR1", None, None, None, None),
], columns=["id_guia", "id_beneficiario", "data_solicitacao", "codigo_procedimento", "tipo_guia", "id_prestador",
            "texto_anexo", "decisao", "data_decisao", "cid"])


def write_source(uri: str, tables: dict | None = None) -> str:
    """Create the four contract tables (include/sql/regulation/source.sql) at ``uri`` and fill them."""
    tables = tables or {"beneficiarios": BENEFICIARIOS, "procedimentos": PROCEDIMENTOS, "guias": GUIAS,
                        "eventos": EVENTOS}
    wh = open_warehouse(ConnectionSpec.from_uri("regulation_source", uri))
    for name, df in tables.items():
        wh.replace_table("regulation/source.sql", name, df)
    return uri


def duckdb_uri(path: Path) -> str:
    return f"duckdb:///{path.as_posix().lstrip('/')}"


def write_rules(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(dedent(text), encoding="utf-8")
    return folder


def rule_yaml(rid: str, condicao: str, resultado: str = "negar", prioridade: int = 10,
              inicio: str = "2024-01-01", fim: str = "null", mensagem: str | None = None) -> str:
    return (f"  - id: {rid}\n    descricao: regra {rid}\n    condicao: '{condicao}'\n    resultado: {resultado}\n"
            f"    mensagem: {mensagem or 'mensagem ' + rid}\n    prioridade: {prioridade}\n"
            f"    vigencia: {{inicio: {inicio}, fim: {fim}}}\n    autor: teste\n")


def ruleset_file(*rules: str, area: str = "teste") -> str:
    return f"area: {area}\nregras:\n" + "".join(rules)
