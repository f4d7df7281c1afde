"""Linter cases, with the exact messages, and the CI lint of the shipped rules."""

from __future__ import annotations

from datetime import date

from tests.unit.rules_fixtures import rule_yaml, ruleset_file, write_rules
from vigia import paths
from vigia.rules.linter import lint
from vigia.sample_data import regulation as sample

TODAY = date(2026, 11, 20)


def run(tmp_path, *rules, codes=None, name="exames.yaml"):
    folder = write_rules(tmp_path / "rules", {name: ruleset_file(*rules)})
    return lint(folder, codes, today=TODAY)


def test_ci_the_shipped_rules_have_no_errors_even_against_the_sample_catalogue():
    codes = set(sample.catalogue()["codigo_procedimento"])
    report = lint(paths.PROJECT_ROOT / "include" / "rules", codes, today=TODAY)
    assert report.errors == [], report.text()
    assert len(report.ruleset.rules) >= 15


def test_a_clean_ruleset(tmp_path):
    report = run(tmp_path, rule_yaml("A-1", "idade < 12"), rule_yaml("A-2", 'sexo = "F"', "autorizar"))
    assert report.ok and report.findings == []
    assert report.text().endswith("2 regra(s), versão " + report.ruleset.version + ": 0 erro(s), 0 aviso(s)")


def test_parse_unknown_attribute_and_type_errors(tmp_path):
    report = run(tmp_path, rule_yaml("COL-001", 'procedimento = "40301630" e idade >= e'),
                 rule_yaml("T-1", 'idade = "dez"'), rule_yaml("T-2", "idad > 3"))
    texts = [f.text() for f in report.errors]
    assert texts[0] == ("ERRO: exames.yaml, regra COL-001, linha 1, coluna 38: esperado um número, um texto entre "
                        "aspas, uma data (AAAA-MM-DD), um atributo ou uma função depois de '>=', encontrado 'e'")
    assert texts[1] == ('ERRO: exames.yaml, regra T-1, linha 1, coluna 1: tipos incompatíveis em \'idade = "dez"\': '
                        'idade é um número e "dez" é um texto')
    assert texts[2].startswith("ERRO: exames.yaml, regra T-2, linha 1, coluna 1: atributo desconhecido 'idad'")
    assert not report.ok and len(report.errors) == 3


def test_conditions_that_can_never_be_true(tmp_path):
    report = run(tmp_path, rule_yaml("N-1", "idade < 10 e idade > 20"),
                 rule_yaml("N-2", 'sexo = "F" e tipo_guia = "sadt" e sexo = "M"'),
                 rule_yaml("N-3", "data_solicitacao < 2024-01-01 e data_solicitacao >= 2024-01-01"),
                 rule_yaml("N-4", 'procedimento = "99999999" e idade > 3'),
                 rule_yaml("N-5", "quantidade(mesmo procedimento, últimos 30 dias) >= 2 e "
                                  "quantidade(mesmo procedimento, últimos 30 dias) < 2"),
                 rule_yaml("N-6", 'anexo contém "urgência" e idade > 3 e não anexo contém "urgência"'),
                 rule_yaml("OK-1", "idade >= 10 e idade <= 10"),
                 codes={"40301630"})
    assert [f.text() for f in report.findings] == [
        "ERRO: exames.yaml, regra N-1: condição nunca verdadeira: idade < 10 e idade > 20 não deixa nenhum valor "
        "possível para idade",
        'ERRO: exames.yaml, regra N-2: condição nunca verdadeira: sexo não pode ser ao mesmo tempo "F" e "M"',
        "ERRO: exames.yaml, regra N-3: condição nunca verdadeira: data_solicitacao < 2024-01-01 e data_solicitacao "
        ">= 2024-01-01 não deixa nenhum valor possível para data_solicitacao",
        "ERRO: exames.yaml, regra N-4: procedimento 99999999 não existe no catálogo (procedimentos): a comparação "
        "'procedimento = \"99999999\"' nunca se aplica",
        "ERRO: exames.yaml, regra N-5: condição nunca verdadeira: quantidade(mesmo procedimento, últimos 30 dias) >= 2 "
        "e quantidade(mesmo procedimento, últimos 30 dias) < 2 não deixa nenhum valor possível para "
        "quantidade(mesmo procedimento, últimos 30 dias)",
        'ERRO: exames.yaml, regra N-6: condição nunca verdadeira: exige \'texto_anexo contém "urgência"\' e a sua '
        "negação",
    ]


def test_exact_duplicates_ignore_spacing_and_synonyms(tmp_path):
    report = run(tmp_path, rule_yaml("D-1", 'tipo de guia = "sadt" e  idade < 12'),
                 rule_yaml("D-2", 'tipo_guia = "sadt" e idade < 12', prioridade=3))
    assert [f.text() for f in report.findings] == [
        "ERRO: exames.yaml, regra D-2: duplicata exata da regra D-1 (exames.yaml): mesma condição e mesmo resultado"]


def test_shadowed_rules(tmp_path):
    report = run(tmp_path,
                 rule_yaml("S-NEG", 'procedimento = "40301630"', "negar", 10),
                 rule_yaml("S-AUT", 'procedimento = "40301630" e idade > 18', "autorizar", 50),   # weaker outcome
                 rule_yaml("R-10", "idade > 10", "negar", 10),
                 rule_yaml("R-20", 'idade > 20 e sexo = "F"', "negar", 5),                         # looser bound wins
                 rule_yaml("R-HI", 'idade > 20 e sexo = "M"', "negar", 50),                        # outranks R-10: fine
                 rule_yaml("V-2025", "idade > 60", "bloquear", 1, inicio="2025-01-01", fim="2026-12-31"),
                 rule_yaml("V-ALL", "idade > 70", "negar", 100))                                   # V-2025 not always valid
    assert [f.text() for f in report.findings] == [
        "ERRO: exames.yaml, regra S-AUT: regra sombreada por S-NEG (exames.yaml): S-NEG tem uma condição mais fraca "
        "e vence pela política (negar, prioridade 10 contra autorizar, prioridade 50); S-AUT nunca decide uma solicitação",
        "ERRO: exames.yaml, regra R-20: regra sombreada por R-10 (exames.yaml): R-10 tem uma condição mais fraca e "
        "vence pela política (negar, prioridade 10 contra negar, prioridade 5); R-20 nunca decide uma solicitação",
    ]


def test_same_condition_stronger_outcome_shadows(tmp_path):
    report = run(tmp_path, rule_yaml("B-1", "especial", "bloquear", 1), rule_yaml("B-2", "especial", "negar", 99))
    assert [f.text() for f in report.findings] == [
        "ERRO: exames.yaml, regra B-2: regra sombreada por B-1 (exames.yaml): B-1 tem a mesma condição e vence pela "
        "política (bloquear, prioridade 1 contra negar, prioridade 99); B-2 nunca decide uma solicitação"]


def test_expired_rules_are_warnings_only(tmp_path):
    report = run(tmp_path, rule_yaml("E-1", "idade > 3", fim="2025-12-31"))
    assert report.ok
    assert [f.text() for f in report.findings] == [
        "AVISO: exames.yaml, regra E-1: regra expirada: vigência terminou em 2025-12-31"]


def test_file_level_errors(tmp_path):
    folder = write_rules(tmp_path / "rules", {
        "a.yaml": "area: a\nregras:\n  - id: M-1\n    condicao: idade > 3\n",
        "b.yaml": "area: b\nregras:\n" + rule_yaml("O-1", "idade > 3", "recusar"),
        "c.yaml": "area: [\n",
    })
    report = lint(folder, today=TODAY)
    assert [f.text() for f in report.errors] == [
        "ERRO: a.yaml, regra M-1: campo(s) obrigatório(s) ausente(s): descricao, resultado, mensagem, prioridade, "
        "autor, vigencia",
        "ERRO: b.yaml, regra O-1: resultado 'recusar' desconhecido: esperado um de bloquear, negar, analise_tecnica, "
        "autorizar",
        "ERRO: c.yaml, linha 2, coluna 1: YAML inválido: expected the node content, but found '<stream end>'",
    ]
