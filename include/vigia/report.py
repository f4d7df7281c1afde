"""Print what landed in the warehouse: ``python -m vigia.report`` (the end of ``make demo``)."""

from __future__ import annotations

import os

from vigia import paths
from vigia.connections import ConnectionSpec, default_uri
from vigia.warehouse import open_warehouse


def main() -> int:
    uri = os.environ.get("AIRFLOW_CONN_WAREHOUSE") or default_uri("warehouse")
    spec = ConnectionSpec.from_uri("warehouse", uri)
    wh = open_warehouse(spec)
    print(f"\nWhat landed in the warehouse ({spec.describe()}):")
    tables = ("glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs", "sus_production_monthly",
              "sus_production_by_establishment", "sus_production_by_municipality", "sus_anomaly_scores", "sus_municipal_excess", "sus_provider_ranking",
              "sus_provider_excess", "sus_benign_flags",
              "sus_excess_concentration", "regulation_model_runs", "regulation_decisions", "rule_activations",
              "rule_backtests", "dq_results", "dq_quarantine")
    for table in tables:
        if wh.table_exists(table):
            n = wh.query(f"SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0]  # table name from the list above
            print(f"  {table:<32} {int(n):>9,} rows")
    if wh.table_exists("glosa_segment_runs"):
        print("\nglosa_clustering, per month:")
        print(wh.query_file("glosa/report_summary.sql").to_string(index=False))
        print("\nTop 5 clusters by money lost (glosa_cluster_profiles, latest month):")
        print(wh.query_file("glosa/report_top_clusters.sql").to_string(index=False))
    if wh.table_exists("sus_provider_ranking"):
        print("\nsus_anomaly_scoring, scored months (sus_excess_concentration):")
        print(wh.query_file("sus/report_summary.sql").to_string(index=False))
        print("\nTop of the audit ranking (sus_provider_ranking, latest month; anomalies are not fraud):")
        top = wh.query_file("sus/report_top_ranking.sql")
        top["folha_de_fatos"] = top["folha_de_fatos"].map(lambda p: os.path.basename(p) if isinstance(p, str) else "")
        top["flags"] = top["flags"].fillna("")
        print(top.to_string(index=False))
        print(f"  fact sheets: {paths.data_dir() / 'reports' / 'sus'}")
    if wh.table_exists("regulation_model_runs"):
        print("\nregulation_model_retraining, latest run (CV: in-fold oversampling; paper: replicated before CV):")
        print(wh.query_file("regulation/report_model_runs.sql").to_string(index=False))
    if wh.table_exists("regulation_decisions"):
        print("\nregulation_decisions, latest interval (analise_tecnica carries the champion's hint):")
        print(wh.query_file("regulation/report_decisions.sql").to_string(index=False))
        print("\nRules that decided most (rule_activations, latest interval):")
        print(wh.query_file("regulation/report_top_rules.sql").to_string(index=False))
    if wh.table_exists("dq_results"):
        print("\nData-quality gates (dq_results, latest run of each suite):")
        print(wh.query_file("report_dq_latest.sql").to_string(index=False))
    csv = paths.exports_dir() / "base_cluster_por_hospital.csv"
    if csv.exists():
        lines = sum(1 for _ in csv.open(encoding="utf-8")) - 1
        print(f"\nPower BI export: {csv} ({lines:,} rows)")
    print("\nExplore in the Airflow UI: make airflow  (http://localhost:8080)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
