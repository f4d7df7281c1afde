"""`python -m vigia.rules lint|backtest`, run as a reviewer would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.unit.rules_fixtures import duckdb_uri, rule_yaml, ruleset_file, write_rules, write_source
from tests.unit.test_rules_backtest import RULES as BACKTEST_RULES
from vigia import paths


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigia.rules", *args], capture_output=True, text=True,
                          env={**os.environ}, cwd=paths.PROJECT_ROOT, timeout=300)


def test_lint_the_shipped_rules():
    proc = cli("lint", "include/rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("0 erro(s), 0 aviso(s)")


def test_lint_errors_exit_1_and_warnings_exit_0(tmp_path):
    bad = write_rules(tmp_path / "bad", {"exames.yaml": ruleset_file(
        rule_yaml("COL-001", 'procedimento = "40301630" e idade >= e'), rule_yaml("E-1", "idade > 3", inicio="2020-01-01", fim="2020-12-31"))})
    proc = cli("lint", str(bad))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "ERRO: exames.yaml, regra COL-001, linha 1, coluna 38: esperado um número, um texto entre aspas, uma data "
        "(AAAA-MM-DD), um atributo ou uma função depois de '>=', encontrado 'e'",
        "AVISO: exames.yaml, regra E-1: regra expirada: vigência terminou em 2020-12-31",
        proc.stdout.splitlines()[-1],
    ]
    assert proc.stdout.splitlines()[-1].startswith("1 regra(s), versão ")
    warn = write_rules(tmp_path / "warn", {"a.yaml": ruleset_file(rule_yaml("E-1", "idade > 3", inicio="2020-01-01", fim="2020-12-31"))})
    assert cli("lint", str(warn)).returncode == 0


def test_lint_checks_codes_against_the_source_catalogue(tmp_path):
    source = write_source(duckdb_uri(tmp_path / "regulation.duckdb"))
    folder = write_rules(tmp_path / "r", {"a.yaml": ruleset_file(rule_yaml("C-1", 'procedimento = "12345678"'))})
    proc = cli("lint", str(folder), "--source", source)
    assert proc.returncode == 1
    assert "ERRO: a.yaml, regra C-1: procedimento 12345678 não existe no catálogo" in proc.stdout


def test_backtest_prints_the_hand_checked_numbers(tmp_path):
    source = write_source(duckdb_uri(tmp_path / "regulation.duckdb"))
    folder = write_rules(tmp_path / "r", {"bt.yaml": BACKTEST_RULES})
    proc = cli("backtest", str(folder), "--from", "2026-10-10", "--to", "2026-10-11", "--source", source)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "solicitações com decisão humana: 6" in out
    assert "automação (sem análise técnica): 4 (66.7%)" in out
    assert "concordância com a decisão humana (automatizadas): 3 de 4 (75.0%)" in out
    assert "  NEG-ONC    negar                   1        1         0        1       0.0%" in out


def test_backtest_default_source_and_bad_arguments(tmp_path, data_dir):
    # the embedded default: $VIGIA_DATA_DIR/sources/regulation.duckdb
    write_source(duckdb_uri(data_dir / "sources" / "regulation.duckdb"))
    folder = write_rules(tmp_path / "r", {"bt.yaml": BACKTEST_RULES})
    proc = cli("backtest", str(folder), "--from", "2026-10-10", "--to", "2026-10-11")
    assert proc.returncode == 0 and "solicitações com decisão humana: 6" in proc.stdout
    proc = cli("backtest", str(folder), "--from", "2026-10-11", "--to", "2026-10-10")
    assert proc.returncode == 2 and "deve ser posterior" in proc.stderr
    proc = cli("backtest", str(folder), "--from", "10/10/2026", "--to", "2026-10-10")
    assert proc.returncode == 2 and "não é uma data: esperado AAAA-MM-DD" in proc.stderr
    proc = cli("backtest", str(folder), "--from", "2026-10-10", "--to", "2026-10-11",
               "--source", duckdb_uri(tmp_path / "missing.duckdb"))
    assert proc.returncode == 2 and "missing.duckdb does not exist" in proc.stderr
