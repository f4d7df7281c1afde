"""The conflict policy: bloquear > negar > analise_tecnica > autorizar, then priority, then id;
no rule -> analise_tecnica with a message; every rule that fired is recorded in policy order."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from tests.unit.rules_fixtures import duckdb_uri, rule_yaml, ruleset_file, write_rules, write_source
from vigia.rules import engine, interpreter, policy
from vigia.rules.ruleset import Rule, load
from vigia.rules.parser import parse

DAY = (datetime(2026, 10, 10), datetime(2026, 10, 11))


def rule(rid, resultado, prioridade):
    return Rule(rid, "", "", resultado, f"m {rid}", prioridade, date(2024, 1, 1), None, "", "f", "a", parse("especial"))


def test_policy_order_severity_then_priority_then_id():
    rules = [rule("A", "autorizar", 999), rule("Z", "negar", 1), rule("B", "analise_tecnica", 50),
             rule("C", "bloquear", 0), rule("N2", "negar", 7), rule("N1", "negar", 7)]
    assert [r.id for r in policy.order(rules)] == ["C", "N1", "N2", "Z", "B", "A"]
    assert policy.decide(rules)[1].id == "C"
    assert policy.decide([rule("A", "autorizar", 999), rule("B", "analise_tecnica", 1)])[0] == "analise_tecnica"
    assert policy.decide([]) == ("analise_tecnica", None)
    assert policy.NO_RULE_MESSAGE == "Nenhuma regra se aplicou: a solicitação segue para análise técnica."


RULES = ruleset_file(
    rule_yaml("R-AUT", "não especial", "autorizar", 500),
    rule_yaml("R-NEG1", 'procedimento = "40301630"', "negar", 10),
    rule_yaml("R-NEG2", "quantidade(mesmo procedimento, últimos 30 dias) >= 2", "negar", 20),
    rule_yaml("R-NEG0", 'procedimento = "40301630" e idade > 18', "negar", 20),
    rule_yaml("R-BLQ", 'tipo de guia = "odontologia"', "bloquear", 1),
    rule_yaml("R-ANA", "idade < 12", "analise_tecnica", 100),
    rule_yaml("R-OLD", "não especial", "negar", 999, inicio="2020-01-01", fim="2025-12-31"),  # expired: never fires
)
# hand-derived (see rules_fixtures): guia -> (outcome, winner, fired in policy order)
EXPECTED = {
    1: ("negar", "R-NEG0", ["R-NEG0", "R-NEG2", "R-NEG1", "R-AUT"]),   # tie at prio 20 broken by id
    2: ("autorizar", "R-AUT", ["R-AUT"]),
    3: ("autorizar", "R-AUT", ["R-AUT"]),
    4: ("bloquear", "R-BLQ", ["R-BLQ", "R-ANA", "R-AUT"]),            # prio 1 bloquear beats prio 500 autorizar
    5: ("analise_tecnica", None, []),                                  # especial: no rule settles it
    6: ("analise_tecnica", "R-ANA", ["R-ANA", "R-AUT"]),
}


@pytest.fixture(params=["duckdb", "postgres"])
def source(request, tmp_path):
    uri = duckdb_uri(tmp_path / "regulation.duckdb") if request.param == "duckdb" else request.getfixturevalue("pg_uri")
    return write_source(uri)


def _by_guia(decisions, fired):
    out = {}
    for d in decisions.to_dict("records"):
        f = fired[fired["id_guia"].astype(int) == int(d["id_guia"])].sort_values("ordem")
        out[int(d["id_guia"])] = (d["resultado"], None if pd.isna(d["regra"]) else d["regra"], f["regra"].tolist())
    return out


def test_engine_and_interpreter_apply_the_policy(source, tmp_path):
    rules = load(write_rules(tmp_path / "rules", {"teste.yaml": RULES})).rules
    result = engine.evaluate(source, rules, *DAY, pendentes=False)
    assert _by_guia(result.decisions, result.fired) == EXPECTED
    decisions, fired = interpreter.evaluate(source, rules, *DAY, pendentes=False)
    assert _by_guia(decisions, fired) == EXPECTED
    no_rule = result.decisions[result.decisions["id_guia"].astype(int) == 5].iloc[0]
    assert no_rule["mensagem"] == policy.NO_RULE_MESSAGE
    g1 = result.fired[result.fired["id_guia"].astype(int) == 1].sort_values("ordem")
    assert g1["porque"].tolist() == [
        'procedimento = "40301630"; idade = 46 > 18',
        "quantidade(mesmo procedimento, últimos 30 dias) = 2 >= 2",
        'procedimento = "40301630"',
        "especial = falso",
    ]
    assert g1["mensagem"].tolist() == ["mensagem R-NEG0", "mensagem R-NEG2", "mensagem R-NEG1", "mensagem R-AUT"]
