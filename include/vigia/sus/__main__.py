"""Command line for auditors: ``python -m vigia.sus sheet --cnes C --alvo A --competencia YYYY-MM``.

Renders the fact sheet of any establishment x target x competência on demand,
scored like the DAG's score step does, from the cubes and the IBGE population in the
warehouse (``AIRFLOW_CONN_WAREHOUSE`` or the embedded default; the command writes no
score and no population there) and the CNES registry of the landing folder
(``--landing``, by default ``$AIRFLOW_VAR_SUS_LANDING_PATH``, the DAG's ``sus_landing_path``).
"""

from __future__ import annotations

import argparse
import os
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


def sheet(cnes: str, alvo: str, competencia: str, landing: str, out: Path | None,
          history_months: int = 12, k: float | None = None) -> Path:
    """Score ``competencia`` as the DAG's score step does (:func:`vigia.sus.scoring.score_from_warehouse`:
    the GROUP BYs in the warehouse, pandas on aggregates) and write the sheet of ``cnes`` x ``alvo``.
    ``k``: the per-capita threshold multiplier; by default the one the month was published with, else 3."""
    month = runs.month_start(competencia)
    wh = open_warehouse(ConnectionSpec.from_uri(
        "warehouse", os.environ.get("AIRFLOW_CONN_WAREHOUSE") or default_uri("warehouse")))
    start = runs.add_months(month, -history_months)
    covered = cubes.ensure_coarse_cubes(wh, start, month)
    if month not in covered:
        raise SystemExit(f"no cube for {competencia} in the warehouse: run sus_anomaly_scoring for it first")
    population = scoring.warehouse_population(wh, month)
    if population.empty:
        raise SystemExit(f"no IBGE population for {competencia} in the warehouse (sus_population): "
                         "run sus_anomaly_scoring for it first")
    registry, _ = datasus.read_registry(landing, month)
    tgt = targets.load()
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
    s.add_argument("--out", type=Path, default=None)
    s.add_argument("--k", type=float, default=None, help="per-capita threshold multiplier (default: the one the "
                   "month's published scores used, else 3)")
    args = parser.parse_args(argv)
    path = sheet(args.cnes, args.alvo, args.competencia, args.landing, args.out, k=args.k)
    print(f"fact sheet: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
