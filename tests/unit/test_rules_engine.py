"""The vectorised SQL engine agrees with the reference interpreter on every request of a generated
stream: same outcome, same winning rule, same rules fired in the same order, same messages and the
same explanations. 100,000 requests on DuckDB; a smaller stream on PostgreSQL (same SQL)."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd

from tests.unit.rules_fixtures import rule_yaml, ruleset_file, write_rules
from vigia import paths
from vigia.rules import engine, interpreter
from vigia.rules.ruleset import load
from vigia.sample_data import regulation as sample

END = date(2026, 11, 1)
# rules beyond the shipped ones, so every construct of the language is exercised
EXTRA = ruleset_file(
    rule_yaml("X-001", 'quantidade(beneficiário, "40304361", 2025-06-01, data_solicitacao - 10 dias) >= 2 '
                       'e não (sexo = "M" ou idade >= 60)', "analise_tecnica", 5),
    rule_yaml("X-002", 'valor_total(grupo "exames-imagem", desde a adesão) > 500 e tipo de beneficiário <> "titular"',
              "autorizar", 3),
    rule_yaml("X-003", "ultima_realizacao(mesma complexidade) <= 3 e nivel_complexidade em [3, 4]", "negar", 7),
    rule_yaml("X-004", 'cid em ["C50.9", "K35"] ou anexo contém "JUDICIAL"', "analise_tecnica", 8),
    rule_yaml("X-005", "quantidade(qualquer procedimento, últimos 7 dias) >= 2 e data_solicitacao >= 2026-03-01",
              "bloquear", 2, inicio="2026-01-01", fim="2026-09-30"),
    rule_yaml("X-006", 'valor_total(procedimento "40301630", toda a vida) >= 24 e dias_de_adesao > 365 e '
                       'prestador <> "PR0001"', "negar", 1),
    area="extra")


def _normalise(decisions: pd.DataFrame, fired: pd.DataFrame) -> tuple[list, list]:
    d = decisions.assign(id_guia=decisions["id_guia"].astype("int64"),
                         regra=decisions["regra"].astype(object).where(decisions["regra"].notna(), None))
    f = fired.assign(id_guia=fired["id_guia"].astype("int64"), ordem=fired["ordem"].astype("int64"))
    return (sorted(map(tuple, d[["id_guia", "resultado", "regra", "mensagem"]].values.tolist())),
            sorted(map(tuple, f[["id_guia", "ordem", "regra", "resultado", "mensagem", "porque"]].values.tolist())))


def _rules(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(paths.PROJECT_ROOT / "include" / "rules", folder)
    write_rules(folder, {"extra.yaml": EXTRA})
    rs = load(folder)
    assert len(rs.rules) >= 23
    return rs.rules


def _compare(uri, rules, inicio, fim, pendentes):
    result = engine.evaluate(uri, rules, inicio, fim, pendentes)
    oracle = interpreter.evaluate(uri, rules, inicio, fim, pendentes)
    got, want = _normalise(result.decisions, result.fired), _normalise(*oracle)
    assert len(got[0]) == len(want[0])
    assert got[0] == want[0]          # every decision
    assert got[1] == want[1]          # every rule that fired, with message and why
    return result


def test_engine_equals_interpreter_on_100k_generated_requests(tmp_path):
    out = tmp_path / "regulation.duckdb"
    counts = sample.generate(out, beneficiaries=20_000, requests=103_000, end=END, seed=11)
    assert counts["guias"] == 103_000
    uri = f"duckdb:///{out.as_posix().lstrip('/')}"
    rules = _rules(tmp_path)
    result = _compare(uri, rules, datetime(2024, 1, 1), datetime(2027, 1, 1), pendentes=False)
    assert len(result.decisions) >= 100_000          # decided ones (the last 3 days are pending)
    fired = set(result.fired["regra"])
    # the stream exercises (nearly) every rule, so agreement is not vacuous
    assert {"COL-001", "APE-001", "EXA-010", "REP-001", "OBS-001", "SEX-001", "IDA-001", "ORT-001", "CAR-001",
            "ANX-001", "ESP-001", "AUT-900", "X-001", "X-002", "X-003", "X-004", "X-005", "X-006"} <= fired
    assert set(result.decisions["resultado"]) == {"autorizar", "negar", "bloquear", "analise_tecnica"}
    _compare(uri, rules, datetime(2026, 10, 29), datetime(2026, 11, 1), pendentes=True)


def test_engine_equals_interpreter_on_postgres(tmp_path, pg_uri):
    out = tmp_path / "regulation.duckdb"
    sample.generate(out, beneficiaries=1_500, requests=6_000, end=END, seed=5)
    sample.load_into(out, pg_uri)
    rules = _rules(tmp_path)
    result = _compare(pg_uri, rules, datetime(2024, 1, 1), datetime(2027, 1, 1), pendentes=False)
    duck = engine.evaluate(f"duckdb:///{out.as_posix().lstrip('/')}", rules, datetime(2024, 1, 1),
                           datetime(2027, 1, 1), False)
    assert _normalise(result.decisions, result.fired) == _normalise(duck.decisions, duck.fired)
