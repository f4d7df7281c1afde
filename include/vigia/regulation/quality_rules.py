"""Row-level rules of the source DQ gate evaluated in SQL, judged by great-expectations on the summary.

Validating the raw tables row by row in great-expectations took ~100 s at 1M guias / 500k
beneficiários (docs/benchmarks.md). Following the house style (giant raw tables in SQL checks, GX on
aggregated or sampled data), each table's row-level rules now run as:

1. ``include/sql/regulation/quality_<table>_regras.sql``: one row of SQL aggregates, for every rule
   the rows it considers (``avaliadas_<regra>``; all rows when the SQL has no such column) and the
   rows that break it (``violacoes_<regra>``), with great-expectations' conventions (NULLs are not
   considered except by "to be null" rules, the pair rule's ``ignore_row_if``, every copy of a
   repeated id breaks uniqueness);
2. ``include/sql/regulation/quality_<table>_violacoes.sql``: a bounded sample of the offending
   rows, at most ``limite`` per rule (``limite`` = max(5, ceil(tolerance x rows) + 1), more than a
   passing rule can have, so a passing rule lists all its rows and they can be quarantined);
3. great-expectations validates the per-rule summary (one row per rule: ``conformidade`` =
   (avaliadas - violacoes) / avaliadas, 1 when nothing is considered, and ``minimo`` = the rule's
   ``mostly``, 1 without one) with ``conformidade >= minimo``: GX's own ``mostly`` test;
4. the result is reported in the row-level suite's vocabulary (:func:`vigia.regulation.quality.guias_suite`
   and ``beneficiarios_suite`` still define the rules: expectation name, column, kwargs), so the
   messages, counts, percentages (of the considered rows), sample values and quarantined rows are
   the ones GX gave on the full rows; a test compares both on hand-made bad tables.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from vigia.dq import Report, Suite, validate
from vigia.dq.gate import MAX_EXAMPLES, Failure, _detail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """One row-level rule: its name in the SQL files and the example column(s) a message shows."""

    regra: str
    valor: str | tuple[str, str]
    pseudonymise: bool = False


# in the order of quality.guias_suite / quality.beneficiarios_suite
GUIAS_RULES = [
    Rule("codigo_fora", "codigo_procedimento"),
    Rule("beneficiario_fora", "id_beneficiario", pseudonymise=True),
    Rule("id_guia", "id_guia"),
    Rule("decisao", "decisao"),
    Rule("tipo_guia", "tipo_guia"),
    Rule("decisao_antes", ("data_decisao", "data_solicitacao")),
    Rule("solicitacao_futura", "data_solicitacao"),
    Rule("decisao_futura", "data_decisao"),
]
BENEFICIARIOS_RULES = [
    Rule("id_beneficiario", "id_beneficiario", pseudonymise=True),
    Rule("sexo", "sexo"),
    Rule("tipo_beneficiario", "tipo_beneficiario"),
    Rule("nascimento_futuro", "data_nascimento"),
    Rule("adesao_futura", "data_adesao"),
    Rule("adesao_antes_do_nascimento", ("data_adesao", "data_nascimento")),
]
DATE_COLUMNS = ("data_solicitacao", "data_decisao", "data_nascimento", "data_adesao")


def summary_suite(name: str) -> Suite:
    """GX on the per-rule summary: every rule's share of conforming rows reaches its ``mostly``."""
    def build():
        import great_expectations as gx

        return [gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="conformidade", column_B="minimo", or_equal=True)]

    return Suite(f"{name}_resumo", build, "per-rule conformity >= mostly (row-level rules counted in SQL)")


def sample_limit(rows: int, tolerance: float) -> int:
    return max(MAX_EXAMPLES, math.ceil(tolerance * rows) + 1)


def evaluate(read: Callable[[str, dict], pd.DataFrame], table: str, suite: Suite, rules: list[Rule],
             params: dict, tolerance: float, pseudonymise: Callable[[pd.Series], pd.Series]) -> Report:
    """The :class:`Report` of ``suite`` on ``table``, from the SQL counts and the bounded sample.

    ``read(name, params)`` runs ``include/sql/regulation/<name>.sql`` (columns lower-case).
    ``Failure.row_index`` holds the offending rows' ``linha`` (their position in the gate's extract)
    when the sample has one, so :func:`vigia.dq.quarantine.split` can quarantine them.
    """
    from vigia.regulation.features import naive_timestamps

    expectations = suite.build()
    if len(expectations) != len(rules):
        raise ValueError(f"{suite.name}: {len(expectations)} expectations but {len(rules)} SQL rules")
    counts = read(f"quality_{table}_regras", params).iloc[0]
    rows = int(counts["linhas"])
    broken_any = any(_int(counts[f"violacoes_{r.regra}"]) for r in rules)
    examples = read(f"quality_{table}_violacoes", {**params, "limite": sample_limit(rows, tolerance)}) \
        if broken_any else pd.DataFrame(columns=["regra"])  # a clean table: no sample query
    for col in DATE_COLUMNS:
        if col in examples:
            examples[col] = naive_timestamps(examples[col])
    for rule in rules:
        if rule.pseudonymise and len(examples):
            col = rule.valor
            examples[col] = pseudonymise(examples[col]).where(examples[col].notna(), None)

    summary = []
    for rule, expectation in zip(rules, expectations):
        kwargs = dict(expectation.configuration.kwargs)
        broken = _int(counts[f"violacoes_{rule.regra}"])
        considered = _int(counts.get(f"avaliadas_{rule.regra}", rows))
        summary.append({"regra": rule.regra, "violacoes": broken, "avaliadas": considered,
                        "conformidade": (considered - broken) / considered if considered else 1.0,
                        "minimo": float(kwargs.get("mostly", 1.0))})
    frame = pd.DataFrame(summary)
    verdict = validate(frame, summary_suite(suite.name))
    failed = {i for f in verdict.failures for i in f.row_index}
    if any(not f.row_index for f in verdict.failures):  # the summary itself could not be judged
        failed = set(range(len(rules)))

    failures, flagged = [], []
    for i, (rule, expectation) in enumerate(zip(rules, expectations)):
        s = summary[i]
        if not s["violacoes"] and i not in failed:
            continue
        cfg = expectation.configuration
        kwargs = dict(cfg.kwargs)
        column = kwargs.get("column") or f"{kwargs['column_A']}/{kwargs['column_B']}"
        mine = examples[examples["regra"] == rule.regra] if len(examples) else examples
        item = Failure(
            expectation=cfg.type, column=column, detail=_detail(kwargs),
            unexpected_count=s["violacoes"],
            unexpected_percent=s["violacoes"] / s["avaliadas"] * 100 if s["avaliadas"] else None,
            examples=_values(mine.head(MAX_EXAMPLES), rule.valor),
            row_index=[int(x) for x in mine["linha"]] if "linha" in mine else [],
        )
        (failures if i in failed else flagged).append(item)
    report = Report(suite.name, not failures, len(rules), rows, failures, flagged)
    (log.info if report.success else log.error)(report.message())
    return report


def _int(value) -> int:
    return int(value) if pd.notna(value) else 0


def _values(rows: pd.DataFrame, valor) -> list:
    """Sample values as GX shows them: the value, or the (A, B) pair as numpy datetimes."""
    if isinstance(valor, tuple):
        a, b = (rows[c].to_numpy(dtype="datetime64[us]") for c in valor)
        return list(zip(a, b))
    values = rows[valor]
    if pd.api.types.is_float_dtype(values) and values.notna().all() and (values % 1 == 0).all():
        values = values.astype(np.int64)  # an integer id column with NULLs elsewhere
    return list(values)
