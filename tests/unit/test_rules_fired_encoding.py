"""The engine's fired pairs are dictionary-encoded: ``regra``/``resultado``/``mensagem``/``porque`` are
categoricals, one explanation text per distinct combination of the values a rule shows, texts shared
across rules kept once. Hand-built query result, hand-written expected values."""

from __future__ import annotations

import pandas as pd

from tests.unit.rules_fixtures import rule_yaml, ruleset_file, write_rules
from vigia.rules import engine
from vigia.rules.ruleset import load

RULES = ruleset_file(
    rule_yaml("A-1", 'idade < 12 e procedimento = "X"', "negar", 10),
    rule_yaml("A-2", "idade < 12", "analise_tecnica", 5),
    rule_yaml("A-3", "idade < 12", "autorizar", 1, mensagem="mensagem A-2"),
)


def _resolve(tmp_path):
    rules = load(write_rules(tmp_path / "rules", {"a.yaml": RULES})).rules
    by_id = {r.id: i for i, r in enumerate(rules)}
    frame = pd.DataFrame({"id_guia": [101, 102, 103, 104], "idade": [9, 9, 10, 70],
                          "procedimento": ["X", "X", "X", "X"]})
    for rid, fired in {"A-1": [True, True, True, False], "A-2": [True, True, True, False],
                       "A-3": [True, False, True, False]}.items():
        frame[f"r{by_id[rid]}"] = fired
    cols = [f"r{i}" for i in range(len(rules))]
    return engine.resolve(rules, frame, cols, {"idade": "idade", "procedimento": "procedimento"})


def test_fired_pairs_are_categoricals_with_the_interpreters_texts(tmp_path):
    decisions, fired = _resolve(tmp_path)
    for col in ("regra", "resultado", "mensagem", "porque"):
        assert isinstance(fired[col].dtype, pd.CategoricalDtype), col
    assert fired[["id_guia", "ordem", "regra", "resultado", "mensagem", "porque"]].astype(
        {c: object for c in ("regra", "resultado", "mensagem", "porque")}).values.tolist() == [
        [101, 0, "A-1", "negar", "mensagem A-1", 'idade = 9 < 12; procedimento = "X"'],
        [101, 1, "A-2", "analise_tecnica", "mensagem A-2", "idade = 9 < 12"],
        [101, 2, "A-3", "autorizar", "mensagem A-2", "idade = 9 < 12"],
        [102, 0, "A-1", "negar", "mensagem A-1", 'idade = 9 < 12; procedimento = "X"'],
        [102, 1, "A-2", "analise_tecnica", "mensagem A-2", "idade = 9 < 12"],
        [103, 0, "A-1", "negar", "mensagem A-1", 'idade = 10 < 12; procedimento = "X"'],
        [103, 1, "A-2", "analise_tecnica", "mensagem A-2", "idade = 10 < 12"],
        [103, 2, "A-3", "autorizar", "mensagem A-2", "idade = 10 < 12"],
    ]
    assert decisions["resultado"].tolist() == ["negar", "negar", "negar", "analise_tecnica"]
    assert decisions["regra"].tolist()[:3] == ["A-1", "A-1", "A-1"] and decisions["regra"].iloc[3] is None


def test_each_text_is_stored_once(tmp_path):
    _, fired = _resolve(tmp_path)
    # 8 pairs, but 4 distinct explanations (A-2 and A-3 explain alike) and 2 distinct messages
    assert sorted(fired["porque"].cat.categories) == [
        "idade = 10 < 12", 'idade = 10 < 12; procedimento = "X"',
        "idade = 9 < 12", 'idade = 9 < 12; procedimento = "X"']
    assert sorted(fired["mensagem"].cat.categories) == ["mensagem A-1", "mensagem A-2"]
    # the groupby the DAG's activations table uses still counts per rule and outcome
    counts = fired.groupby(["regra", "resultado"], observed=True).size().to_dict()
    assert counts == {("A-1", "negar"): 3, ("A-2", "analise_tecnica"): 3, ("A-3", "autorizar"): 2}
