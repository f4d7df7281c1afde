"""The condition language: what parses, what it means, and the exact error texts."""

from __future__ import annotations

from datetime import date

import pytest

from vigia.rules import ast
from vigia.rules.parser import RuleError, parse


def err(text: str) -> str:
    with pytest.raises(RuleError) as info:
        parse(text, "exames.yaml", "COL-001")
    return str(info.value)


def test_the_issue_examples_parse_into_the_expected_tree():
    node = parse('procedimento = "40301630" e quantidade(mesmo procedimento, últimos 30 dias) >= 1')
    assert node == ast.And((
        ast.Cmp("=", ast.Attr("procedimento"), ast.Lit("40301630", "str")),
        ast.Cmp(">=", ast.Func("quantidade", ast.Alvo("mesmo"), ast.Periodo(("dias", 30), None)),
                ast.Lit(1.0, "num")),
    ))
    node = parse('idade < 12 e procedimento em grupo "odontologia-ortodontia"')
    assert node == ast.And((ast.Cmp("<", ast.Attr("idade"), ast.Lit(12.0, "num")),
                            ast.InGroup(ast.Attr("procedimento"), "odontologia-ortodontia")))


def test_precedence_nao_binds_tighter_than_e_tighter_than_ou():
    node = parse('não especial e sexo = "F" ou idade > 60')
    assert isinstance(node, ast.Or)
    first, second = node.items
    assert isinstance(first, ast.And) and first.items[0] == ast.Not(ast.BoolAttr(ast.Attr("especial")))
    assert second == ast.Cmp(">", ast.Attr("idade"), ast.Lit(60.0, "num"))
    grouped = parse('não (especial e sexo = "F")')
    assert isinstance(grouped, ast.Not) and isinstance(grouped.item, ast.And)


def test_synonyms_and_unaccented_keywords_mean_the_same():
    a = parse('tipo de guia = "sadt" e tipo de beneficiário = "titular" e anexo contém "urgência"')
    b = parse('tipo_guia = "sadt" e tipo_beneficiario = "titular" e texto_anexo contem "urgência"')
    assert a == b
    assert parse("não especial") == parse("nao especial")
    assert parse("quantidade(mesmo procedimento, últimos 30 dias) > 0") == \
        parse("quantidade(procedimento, ultimos 30 dias) > 0")


def test_every_literal_kind_and_list():
    node = parse('data_solicitacao >= 2026-01-01 e valor > 100.5 e especial = verdadeiro e '
                 'cid em ["C50.9", "C18"] e nivel_complexidade em [3, 4]')
    cmp_date, cmp_num, cmp_bool, in_str, in_num = node.items
    assert cmp_date.right == ast.Lit(date(2026, 1, 1), "date")
    assert cmp_num.right == ast.Lit(100.5, "num")
    assert cmp_bool.right == ast.Lit(True, "bool")
    assert in_str.values == (ast.Lit("C50.9", "str"), ast.Lit("C18", "str"))
    assert in_num.values == (ast.Lit(3.0, "num"), ast.Lit(4.0, "num"))


def test_history_function_forms():
    seed = parse("quantidade(beneficiário, procedimento, data_solicitacao - 182 dias, data_solicitacao) >= 3")
    assert seed.left == ast.Func("quantidade", ast.Alvo("mesmo"), ast.Periodo(("dias", 182), ("dias", 0)))
    dated = parse('quantidade(beneficiario, "31003079", 2020-01-01, 2025-12-31) >= 1')
    assert dated.left.periodo == ast.Periodo(("data", date(2020, 1, 1)), ("data", date(2025, 12, 31)))
    assert dated.left.alvo == ast.Alvo("codigo", "31003079")
    assert parse("quantidade(mesma complexidade, desde a adesão) > 2").left == \
        ast.Func("quantidade", ast.Alvo("complexidade"), ast.Periodo(("adesao",), None))
    assert parse('valor_total(grupo "exames-imagem", toda a vida) > 1000').left == \
        ast.Func("valor_total", ast.Alvo("grupo", "exames-imagem"), ast.Periodo(None, None))
    assert parse("ultima_realizacao(mesmo procedimento) < periodicidade_dias").left == \
        ast.Func("ultima_realizacao", ast.Alvo("mesmo"), None)
    assert ast.render(seed.left) == \
        "quantidade(beneficiário, mesmo procedimento, data_solicitacao - 182 dias, data_solicitacao)"


def test_exact_error_texts():
    assert err('procedimento = "40301630" e idade >= e') == (
        "exames.yaml, regra COL-001, linha 1, coluna 38: esperado um número, um texto entre aspas, "
        "uma data (AAAA-MM-DD), um atributo ou uma função depois de '>=', encontrado 'e'")
    assert err("idade 3") == (
        "exames.yaml, regra COL-001, linha 1, coluna 7: esperado um comparador (=, <>, <, <=, >, >=), "
        "'contém', 'e', 'em', 'ou' ou o fim da condição depois de 'idade', encontrado '3'")
    assert err("(idade > 3") == (
        "exames.yaml, regra COL-001, linha 1, coluna 11: esperado ')' depois de '3', encontrado o fim da condição")
    assert err("idade § 3") == "exames.yaml, regra COL-001, linha 1, coluna 7: caractere inesperado '§'"
    assert err("quantidade(mesmo procedimento, últimos 30 dia) > 1") == (
        "exames.yaml, regra COL-001, linha 1, coluna 43: esperado 'dias' depois de '30', encontrado 'dia'")
    assert err('sexo = "F" e\n  idade >') == (
        "exames.yaml, regra COL-001, linha 2, coluna 10: esperado um número, um texto entre aspas, "
        "uma data (AAAA-MM-DD), um atributo ou uma função depois de '>', encontrado o fim da condição")


def test_semantic_errors_name_the_place():
    assert err("idad > 3").startswith(
        "exames.yaml, regra COL-001, linha 1, coluna 1: atributo desconhecido 'idad'; atributos conhecidos: ")
    assert err('idade = "dez"') == ("exames.yaml, regra COL-001, linha 1, coluna 1: tipos incompatíveis em "
                                    "'idade = \"dez\"': idade é um número e \"dez\" é um texto")
    assert err('sexo > "F"') == ("exames.yaml, regra COL-001, linha 1, coluna 1: '>' compara números ou datas; "
                                 "sexo é um texto")
    assert err("especial e idade") == (
        "exames.yaml, regra COL-001, linha 1, coluna 12: 'idade' sozinho não é uma condição: esperado um "
        "comparador (=, <>, <, <=, >, >=), 'em' ou 'contém' depois dele")
    assert err('idade em [3, "a"]') == ("exames.yaml, regra COL-001, linha 1, coluna 14: a lista de idade deve "
                                        "conter só números; \"a\" é um texto")
    assert err("data_solicitacao > 2026-02-30") == \
        "exames.yaml, regra COL-001, linha 1, coluna 20: data inválida '2026-02-30': esperado AAAA-MM-DD"
    assert err("") == "exames.yaml, regra COL-001: condição vazia: esperado uma condição como 'idade < 12'"


def test_python_is_never_evaluated():
    # text that would do something under eval() is just a parse error here
    assert err('__import__("os").system("true")').startswith("exames.yaml, regra COL-001, linha 1, coluna 11: ")
    assert "caractere inesperado" in err("1 + 1 = 2")
