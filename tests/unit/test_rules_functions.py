"""Every history function and computed attribute, against history computed by hand
(tests/unit/rules_fixtures.py), in the reference interpreter and in the SQL engine on
DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.unit.rules_fixtures import duckdb_uri, write_source
from vigia.rules import engine, explain, interpreter
from vigia.rules.parser import parse
from vigia.rules.ruleset import Rule

DAY = (datetime(2026, 10, 10), datetime(2026, 10, 11))

# (function text, guia id, hand-computed value); request day 2026-10-10 for guias 1-6
CASES = [
    # guia 1 (B1, colesterol): events 09-09 (31 days before), 09-10 (30), 10-05 (5), 10-10 (same day: unseen)
    ("quantidade(mesmo procedimento, últimos 30 dias)", 1, 2),
    ("quantidade(mesmo procedimento, toda a vida)", 1, 3),
    ("ultima_realizacao(mesmo procedimento)", 1, 5),
    ("valor_total(mesmo procedimento, últimos 30 dias)", 1, 16.0),
    # nivel 1 in 30 days: colesterol 09-10, 10-05 + glicose 10-01
    ("quantidade(mesma complexidade, últimos 30 dias)", 1, 3),
    # every event in 90 days (from 07-12): 8 + 8 + 8 + 6 + 2900 (herniorrafia 08-01)
    ("valor_total(qualquer procedimento, últimos 90 dias)", 1, 2930.0),
    ('quantidade(grupo "exames-laboratoriais", desde a adesão)', 1, 4),
    ('quantidade(beneficiário, "31003079", 2019-01-01, 2019-12-31)', 1, 1),
    # [10-10 - 30, 10-10 - 6] = [09-10, 10-04]: only 09-10
    ("quantidade(beneficiário, procedimento, data_solicitacao - 30 dias, data_solicitacao - 6 dias)", 1, 1),
    # guia 2 (B1, apendicectomia, nivel 3): the 2019 appendectomy; herniorrafia (nivel 3) 08-01
    ("quantidade(mesmo procedimento, toda a vida)", 2, 1),
    ("ultima_realizacao(mesmo procedimento)", 2, (date(2026, 10, 10) - date(2019, 6, 1)).days),
    ("quantidade(mesma complexidade, últimos 90 dias)", 2, 1),
    # guia 3 (B3, joined 09-20): one event on 10-01
    ("quantidade(qualquer procedimento, desde a adesão)", 3, 1),
    # guia 6 (B2): no history at all
    ("quantidade(qualquer procedimento, toda a vida)", 6, 0),
    ("valor_total(qualquer procedimento, toda a vida)", 6, 0.0),
    ("ultima_realizacao(mesmo procedimento)", 6, None),
]
ATTRIBUTE_CASES = [("idade", 1, 46), ("idade", 4, 9), ("dias_de_adesao", 3, 20), ("grupo", 4, "odontologia-ortodontia"),
                   ("especial", 5, True), ("cid", 2, "K35"), ("prestador", 3, "PR1"), ("valor", 2, 3200.0),
                   ("data_solicitacao", 1, date(2026, 10, 10)), ("sexo_permitido", 3, "F"), ("idade_minima", 1, None)]


def rules_for(functions: list[str]) -> list[Rule]:
    out = []
    for i, text in enumerate(dict.fromkeys(functions)):
        node = parse(f"{text} >= 0")
        out.append(Rule(f"F{i:02d}", "", text, "autorizar", "", 0, date(2020, 1, 1), None, "", "t.yaml", "t", node))
    return out


@pytest.fixture(params=["duckdb", "postgres"])
def source(request, tmp_path):
    uri = duckdb_uri(tmp_path / "regulation.duckdb") if request.param == "duckdb" else request.getfixturevalue("pg_uri")
    return write_source(uri)


def _norm(v):
    v = interpreter._plain(v)
    if isinstance(v, datetime):
        return v.date()
    if hasattr(v, "__float__") and not isinstance(v, (bool, str)) and v is not None:
        return float(v)
    return v


def test_functions_in_the_sql_engine_match_hand_computed_history(source):
    rules = rules_for([c[0] for c in CASES])
    compiled, frame = engine.run_query(source, rules, *DAY, pendentes=False)
    frame = frame.set_index(frame["id_guia"].astype(int))
    got = [(text, gid, _norm(frame.loc[gid, compiled.function_columns[explain.operand_key(parse(f"{text} >= 0").left)]]))
           for text, gid, _ in CASES]
    assert got == [(t, g, None if v is None else float(v)) for t, g, v in CASES]


def test_functions_in_the_interpreter_match_hand_computed_history(source):
    from vigia.rules import db

    spec = db.spec_of(source)
    procs = db.query_file(spec, "rules/raw_procedimentos.sql")
    guias = db.query_file(spec, "rules/raw_guias.sql", {"inicio": DAY[0], "fim": DAY[1], "pendentes": False})
    requests = {r["id_guia"]: r for r in interpreter.build_requests(
        guias, db.query_file(spec, "rules/raw_beneficiarios.sql"), procs)}
    events = interpreter.events_by_beneficiary(db.query_file(spec, "rules/raw_eventos.sql"), procs)
    got = [(text, gid, interpreter.function_value(parse(f"{text} >= 0").left, requests[gid],
                                                   events.get(requests[gid]["id_beneficiario"], [])))
           for text, gid, _ in CASES]
    assert got == [(t, g, v) for t, g, v in CASES]
    assert [(a, g, _norm(requests[g][a])) for a, g, _ in ATTRIBUTE_CASES] == ATTRIBUTE_CASES


def test_attributes_in_the_sql_engine(source):
    rules = rules_for(["quantidade(mesmo procedimento, toda a vida)"])
    rules = [Rule("A", "", "", "autorizar", "", 0, date(2020, 1, 1), None, "", "t", "t",
                  parse(" e ".join(f"{a} = {a}" for a in dict.fromkeys(a for a, _, _ in ATTRIBUTE_CASES))))]
    _, frame = engine.run_query(source, rules, *DAY, pendentes=False)
    frame = frame.set_index(frame["id_guia"].astype(int))
    assert [(a, g, _norm(frame.loc[g, a])) for a, g, _ in ATTRIBUTE_CASES] == ATTRIBUTE_CASES


def test_keywords_in_the_attachment_ignore_accents_and_case(source):
    # guia 2: "Caso de URGÊNCIA"; guia 5: "Paciente oncologico em tratamento" (no accent)
    node = parse('anexo contém "urgência" ou anexo contém "Oncológico"')
    rule = Rule("ANX", "", "", "analise_tecnica", "m", 1, date(2020, 1, 1), None, "", "t", "t", node)
    result = engine.evaluate(source, [rule], *DAY, pendentes=False)
    fired = result.fired.assign(id_guia=result.fired["id_guia"].astype(int)).sort_values("id_guia")
    assert fired[["id_guia", "porque"]].values.tolist() == [
        [2, 'texto_anexo contém "urgência": sim; texto_anexo contém "Oncológico": não'],
        [5, 'texto_anexo contém "urgência": não; texto_anexo contém "Oncológico": sim'],
    ]


def test_a_missing_attachment_contains_no_keyword(source):
    # guias 1, 3, 4, 6 have no attachment: `contém` is false there (not unknown), so `não ... contém` fires;
    # guia 2 says "URGÊNCIA" (does not fire), guia 5 is about oncology (fires)
    node = parse('não anexo contém "urgência"')
    rule = Rule("SEM-URG", "", "", "negar", "m", 1, date(2020, 1, 1), None, "", "t", "t", node)
    result = engine.evaluate(source, [rule], *DAY, pendentes=False)
    got = result.fired.assign(id_guia=result.fired["id_guia"].astype(int)).sort_values("id_guia")
    nulo = 'texto_anexo contém "urgência": não (texto_anexo = nulo)'
    expected = [[1, nulo], [3, nulo], [4, nulo], [5, 'texto_anexo contém "urgência": não'], [6, nulo]]
    assert got[["id_guia", "porque"]].values.tolist() == expected
    _, fired = interpreter.evaluate(source, [rule], *DAY, pendentes=False)
    fired = fired.assign(id_guia=fired["id_guia"].astype(int)).sort_values("id_guia")
    assert fired[["id_guia", "porque"]].values.tolist() == expected
    # and the positive form never fires without an attachment
    pos = Rule("URG", "", "", "negar", "m", 1, date(2020, 1, 1), None, "", "t", "t", parse('anexo contém "urgência"'))
    assert engine.evaluate(source, [pos], *DAY, pendentes=False).fired["id_guia"].astype(int).tolist() == [2]


def test_pending_window_and_point_in_time_on_the_next_day(source):
    # guia 7 (pending, 2026-10-11): the 10-10 colesterol event, unseen by guia 1 on 10-10 (3), now counts
    rules = rules_for(["quantidade(mesmo procedimento, toda a vida)"])
    compiled, frame = engine.run_query(source, rules, datetime(2026, 10, 11), datetime(2026, 10, 12), pendentes=True)
    col = compiled.function_columns["quantidade(mesmo procedimento, toda a vida)"]
    assert sorted(zip(frame["id_guia"].astype(int), frame[col].astype(int))) == [(7, 4), (8, 0), (9, 0)]


def test_literals_travel_as_bind_variables_never_in_the_sql_text(source):
    # a value that would break out of a quoted SQL literal is just a string compared by the database
    node = parse("prestador = \"PR1' OR '1'='1\" ou anexo contém \"x'; DROP TABLE guias; --\"")
    rule = Rule("INJ", "", "", "negar", "m", 1, date(2020, 1, 1), None, "", "t", "t", node)
    from vigia.rules import compiler

    compiled = compiler.compile_rules([rule])
    assert "OR '1'='1" not in compiled.sql and "DROP TABLE" not in compiled.sql
    assert "PR1' OR '1'='1" in compiled.params.values()
    result = engine.evaluate(source, [rule], *DAY, pendentes=False)
    assert len(result.decisions) == 6 and result.fired.empty
