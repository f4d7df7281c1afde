"""Helpers for the regulation tests: a hand-made source whose features are computed by hand, and
writing source tables into DuckDB or PostgreSQL.

The hand case (request day d = 2026-03-10; windows: mes = d-30..d-1, semestre = d-182..d-1,
ano = d-365..d-1; events on d itself never count, guias count when strictly earlier):

beneficiary X (F, born 1990-06-15, titular, adesão 2025-01-01), events:
  e1 A 2026-03-10 (d, same day: not counted)    e5 C 2025-09-10 (d-181: semestre, ano)
  e2 A 2026-03-09 (d-1: mes, semestre, ano)     e6 A 2025-03-10 (d-365: ano only)
  e3 A 2026-02-08 (d-30: mes, semestre, ano)    e7 A 2025-03-09 (d-366: no window)
  e4 B 2026-02-07 (d-31: semestre, ano)         e8 A 2026-03-11 (after the request: never)
beneficiary Y (M, born 2000-03-10): one event A 2026-03-09 (never counted for X).
Procedures A = 40301630 (nível 1), B = 40304361 (nível 1), C = 41001010 (nível 3).

guias of X: g1 2026-03-10 09:00 A and g3 2026-03-10 09:00 B (same timestamp: they do not see each
other), g2 2026-03-10 14:00 C (sees g1 and g3), g4 2026-02-20 A (d-18), g5 2025-12-01 B (d-99),
g6 2025-03-09 23:00 A (d-366: no window), g7 2026-03-11 A (pending, after).
guias of Y: g8 2026-03-09 10:00 A (day before the 26th birthday: idade 25),
g9 2026-03-10 10:00 A (on the birthday: idade 26).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from vigia.connections import ConnectionSpec
from vigia.warehouse import open_warehouse

A, B, C = "40301630", "40304361", "41001010"

PROCEDIMENTOS = pd.DataFrame([
    (A, "Colesterol total", "exames-laboratoriais", 30, None, None, None, 30, 8.0, 2.0, 1, 1, False, False),
    (B, "Hemograma completo", "exames-laboratoriais", 30, None, None, None, 30, 12.0, 3.0, 1, 2, False, False),
    (C, "Tomografia computadorizada de crânio", "exames-imagem", 180, None, None, None, 180, 420.0, 80.0, 3, 1,
     False, False),
], columns=["codigo_procedimento", "descricao", "grupo", "periodicidade_dias", "idade_minima", "idade_maxima",
            "sexo_permitido", "carencia_dias", "valor", "valor_moderacao", "nivel_complexidade", "ordem",
            "especial", "pericia_inicial"])
for _c in ("periodicidade_dias", "idade_minima", "idade_maxima"):
    PROCEDIMENTOS[_c] = PROCEDIMENTOS[_c].astype("Int64")

BENEFICIARIOS = pd.DataFrame({
    "id_beneficiario": ["X", "Y"],
    "sexo": ["F", "M"],
    "data_nascimento": pd.to_datetime(["1990-06-15", "2000-03-10"]).date,
    "tipo_beneficiario": ["titular", "dependente"],
    "data_adesao": pd.to_datetime(["2025-01-01", "2020-05-01"]).date,
})

EVENTOS = pd.DataFrame([
    ("X", A, "2026-03-10", 8.0), ("X", A, "2026-03-09", 8.0), ("X", A, "2026-02-08", 8.0),
    ("X", B, "2026-02-07", 12.0), ("X", C, "2025-09-10", 420.0), ("X", A, "2025-03-10", 8.0),
    ("X", A, "2025-03-09", 8.0), ("X", A, "2026-03-11", 8.0), ("Y", A, "2026-03-09", 8.0),
], columns=["id_beneficiario", "codigo_procedimento", "data_realizacao", "valor"])
EVENTOS["data_realizacao"] = pd.to_datetime(EVENTOS["data_realizacao"]).dt.date

_G = [  # id, beneficiary, requested, code, tipo, decisao, decided
    (1, "X", "2026-03-10 09:00:00", A, "autorizado", "2026-03-10 10:00:00"),
    (2, "X", "2026-03-10 14:00:00", C, "negado", "2026-03-11 09:00:00"),
    (3, "X", "2026-03-10 09:00:00", B, "autorizado", "2026-03-10 09:30:00"),
    (4, "X", "2026-02-20 10:00:00", A, "autorizado", "2026-02-20 11:00:00"),
    (5, "X", "2025-12-01 08:00:00", B, "autorizado", "2025-12-01 09:00:00"),
    (6, "X", "2025-03-09 23:00:00", A, "negado", "2025-03-10 08:00:00"),
    (7, "X", "2026-03-11 08:00:00", A, None, None),
    (8, "Y", "2026-03-09 10:00:00", A, "autorizado", "2026-03-09 11:00:00"),
    (9, "Y", "2026-03-10 10:00:00", A, "negado", "2026-03-10 11:00:00"),
]
GUIAS = pd.DataFrame({
    "id_guia": [g[0] for g in _G],
    "id_beneficiario": [g[1] for g in _G],
    "data_solicitacao": pd.to_datetime([g[2] for g in _G]),
    "codigo_procedimento": [g[3] for g in _G],
    "tipo_guia": "sadt",
    "id_prestador": "PR0001",
    "texto_anexo": [None] * len(_G),
    "decisao": [g[4] for g in _G],
    "data_decisao": pd.to_datetime([g[5] for g in _G]),
    "cid": [None] * len(_G),
})

HISTORY_ORDER = ["exames", "mesmo_procedimento", "mesma_complexidade", "guias"]
# (mes, semestre, ano) of each history feature, hand-computed from the timelines above
EXPECTED = {
    1: {"exames": (2, 4, 5), "mesmo_procedimento": (2, 2, 3), "mesma_complexidade": (2, 3, 4),
        "guias": (1, 2, 2), "dias_desde_mesmo_procedimento": 1, "idade": 35, "dias_de_adesao": 433},
    3: {"exames": (2, 4, 5), "mesmo_procedimento": (0, 1, 1), "mesma_complexidade": (2, 3, 4),
        "guias": (1, 2, 2), "dias_desde_mesmo_procedimento": 31, "idade": 35, "dias_de_adesao": 433},
    2: {"exames": (2, 4, 5), "mesmo_procedimento": (0, 1, 1), "mesma_complexidade": (0, 1, 1),
        "guias": (3, 4, 4), "dias_desde_mesmo_procedimento": 181, "idade": 35, "dias_de_adesao": 433},
    8: {"exames": (0, 0, 0), "mesmo_procedimento": (0, 0, 0), "mesma_complexidade": (0, 0, 0),
        "guias": (0, 0, 0), "dias_desde_mesmo_procedimento": None, "idade": 25, "dias_de_adesao": 2138},
    9: {"exames": (1, 1, 1), "mesmo_procedimento": (1, 1, 1), "mesma_complexidade": (1, 1, 1),
        "guias": (1, 1, 1), "dias_desde_mesmo_procedimento": 1, "idade": 26, "dias_de_adesao": 2139},
}
WINDOW = (date(2026, 3, 1), date(2026, 3, 12))


def hand_tables() -> dict[str, pd.DataFrame]:
    return {"beneficiarios": BENEFICIARIOS.copy(), "procedimentos": PROCEDIMENTOS.copy(),
            "guias": GUIAS.copy(), "eventos": EVENTOS.copy()}


def write_tables(uri: str, tables: dict[str, pd.DataFrame]) -> ConnectionSpec:
    """Create the contract tables (include/sql/regulation/source.sql) and load ``tables`` into them."""
    spec = ConnectionSpec.from_uri("regulation_source", uri)
    wh = open_warehouse(spec)
    for name, df in tables.items():
        wh.replace_table("regulation/source.sql", name, df)
    return spec


def duckdb_uri(path) -> str:
    return f"duckdb:///{str(path).lstrip('/')}"
