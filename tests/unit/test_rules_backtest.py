"""Backtest numbers on the six hand-made decided guias of rules_fixtures (2026-10-10)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.unit.rules_fixtures import duckdb_uri, rule_yaml, ruleset_file, write_rules, write_source
from vigia.rules import backtest
from vigia.rules.ruleset import load

RULES = ruleset_file(
    rule_yaml("NEG-COL", 'procedimento = "40301630"', "negar", 10),
    rule_yaml("AUT-ALL", "não especial", "autorizar", 0),
    rule_yaml("ANA-KID", "idade < 12", "analise_tecnica", 10),
    rule_yaml("BLQ-OBS", 'procedimento em grupo "obstetricia" e sexo <> "F"', "bloquear", 10),
    rule_yaml("NEG-ONC", 'anexo contém "oncológico"', "negar", 5),
)
# By hand (human decision in brackets):
#   g1 colesterol [negado]     fires NEG-COL, AUT-ALL     -> negar (NEG-COL)       agrees, R$ 8 denied
#   g2 apendicectomia [aut.]   fires AUT-ALL              -> autorizar             agrees
#   g3 US obstétrica, M [neg.] fires BLQ-OBS, AUT-ALL     -> bloquear              agrees, R$ 160 denied
#   g4 ortodontia, 9y [neg.]   fires ANA-KID, AUT-ALL     -> analise_tecnica       (not automated)
#   g5 quimio, especial [aut.] fires NEG-ONC              -> negar                 disagrees, R$ 3800 denied
#   g6 glicose, 9y [aut.]      fires ANA-KID, AUT-ALL     -> analise_tecnica       (not automated)
# AUT-ALL fired on g1 g2 g3 g4 g6: agrees with g2 and g6 only.


@pytest.fixture(params=["duckdb", "postgres"])
def source(request, tmp_path):
    uri = duckdb_uri(tmp_path / "regulation.duckdb") if request.param == "duckdb" else request.getfixturevalue("pg_uri")
    return write_source(uri)


def test_backtest_numbers(source, tmp_path):
    rs = load(write_rules(tmp_path / "rules", {"bt.yaml": RULES}))
    bt = backtest.run(rs, source, date(2026, 10, 10), date(2026, 10, 11))
    assert (bt.solicitacoes, bt.automatizadas, bt.concordancias) == (6, 4, 3)
    assert bt.taxa_automacao == pytest.approx(4 / 6) and bt.concordancia == pytest.approx(0.75)
    assert bt.valor_negado == pytest.approx(3968.0)
    assert bt.por_resultado == {"autorizar": 1, "negar": 2, "bloquear": 1, "analise_tecnica": 2}
    per_rule = {r["id_regra"]: (r["disparos"], r["decisoes"], r["concordancias"], r["discordancias"])
                for r in bt.por_regra.astype(object).where(bt.por_regra.notna(), None).to_dict("records")}
    assert per_rule == {"NEG-COL": (1, 1, 1, 0), "AUT-ALL": (5, 1, 2, 3), "ANA-KID": (2, 2, None, None),
                        "BLQ-OBS": (1, 1, 1, 0), "NEG-ONC": (1, 1, 0, 1)}
    assert bt.por_regra.set_index("id_regra").loc["AUT-ALL", "concordancia"] == pytest.approx(0.4)
    assert bt.piores()["id_regra"].tolist() == ["AUT-ALL", "NEG-ONC"]
    rows = bt.rows().set_index("id_regra")
    assert rows.loc["(total)", "valor_negado"] == pytest.approx(3968.0)
    assert rows.loc["NEG-ONC", "valor_negado"] == pytest.approx(3800.0)
    text = bt.text()
    assert "automação (sem análise técnica): 4 (66.7%)" in text
    assert "concordância com a decisão humana (automatizadas): 3 de 4 (75.0%)" in text
    assert "valor negado ou bloqueado: R$ 3.968,00" in text
    assert "  AUT-ALL: 3 discordância(s) em 5 disparo(s) (60.0% de discordância)" in text


def test_an_empty_window(source, tmp_path):
    rs = load(write_rules(tmp_path / "rules", {"bt.yaml": RULES}))
    bt = backtest.run(rs, source, date(2025, 1, 1), date(2025, 1, 2))
    assert (bt.solicitacoes, bt.automatizadas, bt.taxa_automacao, bt.concordancia, bt.valor_negado) == (0, 0, None, None, 0.0)
