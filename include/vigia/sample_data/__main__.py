"""Command line: ``python -m vigia.sample_data glosa [--segments N] [--rows N] ...``.

Writes the sample source into a connection (the embedded default DuckDB file
unless ``--target`` gives a URI) and the planted truth next to it.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from vigia import paths, runs
from vigia.connections import ConnectionSpec, default_uri
from vigia.sample_data import glosa
from vigia.warehouse import open_warehouse


def _months(end: str | None, count: int) -> list[date]:
    last = runs.month_start(end) if end else runs.previous_month(date.today())
    return [runs.add_months(last, -i) for i in reversed(range(count))]


def write_glosa(sample: glosa.GlosaSample, target_uri: str) -> str:
    spec = ConnectionSpec.from_uri("glosa_source", target_uri)
    open_warehouse(spec).replace_table("glosa/sample_source.sql", "tasy.tb_glosa_apriori_recente", sample.rows)
    truth_path = paths.data_dir() / "sources" / "glosa_truth.parquet"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    sample.truth.to_parquet(truth_path, index=False)
    return spec.describe()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.sample_data", description=__doc__)
    sub = parser.add_subparsers(dest="source", required=True)
    g = sub.add_parser("glosa", help="TASY.TB_GLOSA_APRIORI_RECENTE for the glosa clustering DAG")
    g.add_argument("--segments", type=int, default=60, help="hospital x convênio x tipo de glosa segments")
    g.add_argument("--rows", type=int, default=20_000, help="cells per month (the size knob)")
    g.add_argument("--months", type=int, default=3, help="how many months, ending at --end-month")
    g.add_argument("--end-month", default=None, help="last month, YYYY-MM (default: the month before today)")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--target", default=os.environ.get("AIRFLOW_CONN_GLOSA_SOURCE") or default_uri("glosa_source"),
                   help="connection URI to load (default: AIRFLOW_CONN_GLOSA_SOURCE or the embedded DuckDB file)")
    sub.add_parser("sus", help="DATASUS SIA/SIH/CNES files and IBGE population for sus_anomaly_scoring "
                               "(options: python -m vigia.sample_data sus --help)", add_help=False)
    sub.add_parser("regulation", help="beneficiarios, procedimentos, guias and eventos for the regulation DAGs "
                                      "(options: python -m vigia.sample_data regulation --help)", add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["regulation"]:
        from vigia.sample_data import regulation

        return regulation.main(argv[1:])
    if argv[:1] == ["sus"]:  # its own options live with its generator
        from vigia.sample_data import sus

        rest = argv[1:]
        if not any(a.startswith("--landing") for a in rest):
            rest = ["--landing", str(paths.data_dir() / "sources" / "sus"), *rest]
        return sus.main(rest)
    args = parser.parse_args(argv)

    if args.source == "glosa":
        months = _months(args.end_month, args.months)
        sample = glosa.generate(months, n_segments=args.segments, n_rows=args.rows, seed=args.seed)
        where = write_glosa(sample, args.target)
        print(f"glosa sample: {len(sample.rows):,} source rows, {args.segments} segments, months "
              f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}, seed {args.seed} -> {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
