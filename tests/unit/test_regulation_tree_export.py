"""The tree's paths as plain-Portuguese rules, with support and precision (hand-built data)."""

from __future__ import annotations

import pandas as pd
import pytest

from vigia.regulation.models import make_model
from vigia.regulation.preprocessing import build_pipeline
from vigia.regulation.tree_export import Condition, Rule, extract_rules, render_portuguese, rules_json, rules_markdown


def orthodontics():
    """Negado iff orthodontics below 12 years: 30 such rows; 30 older orthodontics and 60 exams authorised."""
    rows = []
    for idade in range(6, 18):
        rows += [{"idade": idade, "grupo": "odontologia-ortodontia", "autorizado": int(idade >= 12)}] * 5
        rows += [{"idade": idade, "grupo": "exames-laboratoriais", "autorizado": 1}] * 5
    return pd.DataFrame(rows)


def test_rules_of_a_known_policy():
    frame = orthodontics()
    pipe = build_pipeline(make_model("decision_tree"), columns=["idade", "grupo"]).fit(frame, frame["autorizado"])
    rules = extract_rules(pipe, frame, frame["autorizado"])
    denied = [r for r in rules if r.decision == "negado"]
    assert len(denied) == 1
    (rule,) = denied
    assert rule.support == 30 and rule.precision == 1.0
    conds = {(c.column, c.op): c.value for c in rule.conditions}
    assert conds.keys() == {("grupo", "="), ("idade", "<=")}
    assert conds[("grupo", "=")] == "odontologia-ortodontia"
    assert conds[("idade", "<=")] == pytest.approx(11.5)          # mapped back from the scaled threshold
    assert sum(r.support for r in rules) == len(frame)
    assert all(r.precision == 1.0 for r in rules)
    text = render_portuguese(rule)
    assert "ENTÃO negado (suporte 30, precisão 100%)" in text
    assert "grupo = 'odontologia-ortodontia'" in text and "idade ≤ 11,5" in text


def test_rendering_and_files():
    rule = Rule([Condition("idade", "<=", 11.5), Condition("grupo", "=", "odontologia-ortodontia"),
                 Condition("em_carencia", "=", "não"), Condition("tipo_guia", "!=", "sadt")], "negado", 312, 0.94)
    assert render_portuguese(rule) == ("SE idade ≤ 11,5 E grupo = 'odontologia-ortodontia' E em_carencia = não "
                                       "E tipo_guia ≠ 'sadt' ENTÃO negado (suporte 312, precisão 94%)")
    md = rules_markdown([rule], "Regras", "nota")
    assert md.startswith("# Regras\n\nnota\n\n1. SE idade")
    assert '"texto": "SE idade' in rules_json([rule])


def test_non_tree_models_are_refused():
    frame = orthodontics()
    pipe = build_pipeline(make_model("naive_bayes"), columns=["idade", "grupo"]).fit(frame, frame["autorizado"])
    with pytest.raises(ValueError, match="GaussianNB is not a decision tree"):
        extract_rules(pipe, frame, frame["autorizado"])
