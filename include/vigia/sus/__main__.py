"""Command line for auditors: ``python -m vigia.sus sheet --cnes C --alvo A --competencia YYYY-MM``.

Renders the fact sheet of any establishment x target x competência on demand,
scored like the DAG's score step does, from the cubes and the IBGE population in the
warehouse (``--warehouse``, by default ``$AIRFLOW_CONN_WAREHOUSE``, else the embedded
default; the command writes no score and no population there) and the CNES registry of the
landing folder (``--landing``, by default ``$AIRFLOW_VAR_SUS_LANDING_PATH``, the DAG's
``sus_landing_path``). It runs outside Airflow: a connection or Variable kept in Airflow's
metadata database (created in the UI) reaches it through those options, e.g.
``--warehouse "$(airflow connections export - --file-format env --serialization-format uri |
sed -n 's/^warehouse=//p')" --landing "$(airflow variables get sus_landing_path)"``; the
command says which warehouse and landing it read.

It refuses, naming what is wrong, a CNES that is not 7 digits, a target not in
``alvos.csv``, a competência that is not YYYY-MM, and an establishment with no production
of the target in the competência.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import pandas as pd

from vigia import paths, runs
from vigia.connections import ConnectionSpec, default_uri
from vigia.sus import cubes, datasus, fact_sheets, scoring, targets
from vigia.sus.pipeline import default_landing
from vigia.warehouse import open_warehouse


def published_k(wh, month) -> float | None:
    """The k (``k_limiar``) the month's published scores used, if the warehouse records one."""
    with wh.connect(read_only=True) as con:
        if "k" not in wh.columns(con, "sus_municipal_excess"):
            return None
    got = wh.query_file("sus/published_k.sql", {"competencia": month})["k"]
    return float(got.iloc[0]) if len(got) == 1 else None


def warehouse_uri(given: str | None = None) -> str:
    """``given``, else ``$AIRFLOW_CONN_WAREHOUSE``, else the embedded default (``data/warehouse.duckdb``)."""
    return given or os.environ.get("AIRFLOW_CONN_WAREHOUSE") or default_uri("warehouse")


def check_request(cnes: str, alvo: str, tgt: pd.DataFrame) -> None:
    """SystemExit naming the argument when ``cnes`` is not 7 digits or ``alvo`` is not a target of ``tgt``."""
    if not re.fullmatch(r"[0-9]{7}", cnes):
        raise SystemExit(f"--cnes {cnes!r}: expected the establishment's 7-digit CNES code, e.g. 2000296")
    if alvo not in set(tgt["alvo"]):
        system = alvo.split("-", 1)[0].upper()
        near = sorted(a for a in tgt["alvo"] if a.startswith(system + "-"))[:8] or sorted(tgt["alvo"])[:8]
        raise SystemExit(f"--alvo {alvo!r}: not a target of {targets.DEFAULT_PATH.name} "
                         f"(e.g. {', '.join(near)}; the column alvo lists them all)")


def sheet(cnes: str, alvo: str, competencia: str, landing: str, out: Path | None,
          history_months: int = 12, k: float | None = None, warehouse: str | None = None) -> Path:
    """Score ``competencia`` as the DAG's score step does (:func:`vigia.sus.scoring.score_from_warehouse`:
    the GROUP BYs in the warehouse, pandas on aggregates) and write the sheet of ``cnes`` x ``alvo``.
    ``k``: the per-capita threshold multiplier; by default the one the month was published with, else 3.
    ``warehouse``: its URI (:func:`warehouse_uri`). Refuses (SystemExit) what :func:`check_request` does, and
    an establishment with no production of ``alvo`` in ``competencia``."""
    month = runs.month_start(competencia)
    tgt = targets.load()
    check_request(cnes, alvo, tgt)
    spec = ConnectionSpec.from_uri("warehouse", warehouse_uri(warehouse))
    print(f"warehouse: {spec.describe()}; CNES registry from the landing {landing}", file=sys.stderr)
    wh = open_warehouse(spec)
    start = runs.add_months(month, -history_months)
    covered = cubes.ensure_coarse_cubes(wh, start, month)
    if month not in covered:
        raise SystemExit(f"no cube for {competencia} in the warehouse: run sus_anomaly_scoring for it first")
    own = scoring.establishment_series(wh, month, runs.add_months(month, 1), [cnes])  # its cube of the month
    if not (own["alvo"] == alvo).any():
        raise SystemExit(f"CNES {cnes} has no production of {alvo} in {competencia} in the warehouse's cube "
                         f"({spec.describe()}): no sheet to draw (see sus_provider_excess for the month's "
                         "establishments and targets)")
    population = scoring.warehouse_population(wh, month)
    if population.empty:
        raise SystemExit(f"no IBGE population for {competencia} in the warehouse (sus_population): "
                         "run sus_anomaly_scoring for it first")
    registry, _ = datasus.read_registry(landing, month)
    if not (registry["cnes"].astype(str) == cnes).any():
        print(f"CNES {cnes} is not in the CNES registry of {landing} for {competencia}: the sheet shows no unit "
              "type, UF or municipality for it and no mobile-unit flag", file=sys.stderr)
    k = k or published_k(wh, month) or scoring.K
    result, month_cubes = scoring.score_from_warehouse(wh, month, population, registry, covered,
                                                       history_months=history_months, k=k, publish=False,
                                                       measures=targets.measures(tgt))
    result.municipal = result.municipal.assign(k=k)
    cube = scoring.fact_sheet_cube(month_cubes.month, scoring.establishment_series(wh, start, month, [cnes]))
    html = fact_sheets.render(cnes, alvo, month, cube, result, dict(zip(tgt["alvo"], tgt["nome"])), registry,
                              months=[pd.Timestamp(m) for m in covered], population=population)
    out = out or paths.data_dir() / "reports" / "sus" / f"{month:%Y-%m}" / fact_sheets.file_name(month, cnes, alvo)
    return fact_sheets.write(out, html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.sus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheet", help="render one fact sheet")
    s.add_argument("--cnes", required=True)
    s.add_argument("--alvo", required=True, help="target id, e.g. SIA-020403 (see include/vigia/sus/alvos.csv)")
    s.add_argument("--competencia", required=True, help="YYYY-MM")
    s.add_argument("--landing", help="the landing folder of the CNES files (default: $AIRFLOW_VAR_SUS_LANDING_PATH, "
                   "$SUS_LANDING_PATH, else the generated sample)",
                   default=os.environ.get("AIRFLOW_VAR_SUS_LANDING_PATH") or os.environ.get("SUS_LANDING_PATH")
                   or default_landing())
    s.add_argument("--warehouse", default=None, help="the warehouse URI, as in AIRFLOW_CONN_WAREHOUSE (default: "
                   "$AIRFLOW_CONN_WAREHOUSE, else the embedded data/warehouse.duckdb)")
    s.add_argument("--out", type=Path, default=None)
    s.add_argument("--k", type=float, default=None, help="per-capita threshold multiplier (default: the one the "
                   "month's published scores used, else 3)")
    args = parser.parse_args(argv)
    try:
        runs.month_start(args.competencia)
    except ValueError as exc:
        parser.error(f"--competencia: {exc}")
    path = sheet(args.cnes, args.alvo, args.competencia, args.landing, args.out, k=args.k, warehouse=args.warehouse)
    print(f"fact sheet: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
