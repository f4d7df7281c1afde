"""Command line for regulators' reviewers, without Airflow.

    python -m vigia.rules lint include/rules/ [--source URI]
    python -m vigia.rules backtest include/rules/ --from 2026-01-01 --to 2026-07-01 [--source URI]

``lint`` exits 1 when the ruleset has errors (warnings alone exit 0). ``--source``
(a ``duckdb:///...`` or ``postgresql://...`` URI; default: the ``regulation_source``
embedded default) lets ``lint`` check procedure codes against the catalogue.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' não é uma data: esperado AAAA-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.rules",
                                     description="Ymir: verificar (lint) e testar (backtest) regras de regulação.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_lint = sub.add_parser("lint", help="verificar uma pasta (ou arquivo) de regras")
    p_lint.add_argument("path")
    p_lint.add_argument("--source", default=None,
                        help="URI da fonte para conferir os códigos de procedimento no catálogo")
    p_bt = sub.add_parser("backtest", help="comparar as regras com decisões humanas de um período")
    p_bt.add_argument("path")
    p_bt.add_argument("--from", dest="inicio", type=_date, required=True, help="AAAA-MM-DD (inclusivo)")
    p_bt.add_argument("--to", dest="fim", type=_date, required=True, help="AAAA-MM-DD (exclusivo)")
    p_bt.add_argument("--source", default=None, help="URI da fonte (padrão: regulation_source embutida)")
    args = parser.parse_args(argv)

    from vigia.rules import linter

    if args.command == "lint":
        codes = None
        if args.source:
            from vigia.rules import db

            codes = set(db.query_file(db.spec_of(args.source), "rules/raw_procedimentos.sql")
                        ["codigo_procedimento"].astype(str))
        report = linter.lint(args.path, codes)
        print(report.text())
        return 0 if report.ok else 1

    if args.fim <= args.inicio:
        print(f"erro: --to {args.fim} deve ser posterior a --from {args.inicio}", file=sys.stderr)
        return 2
    report = linter.lint(args.path)
    if not report.ok:
        print(report.text())
        print("backtest não executado: corrija os erros acima.", file=sys.stderr)
        return 1
    from vigia.rules import backtest, db
    from vigia.sources import SourceError

    try:
        result = backtest.run(report.ruleset, db.spec_of(args.source), args.inicio, args.fim)
    except SourceError as exc:
        print(f"erro: {exc}", file=sys.stderr)
        return 2
    print(result.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
