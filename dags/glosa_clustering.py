"""
### Weekly glosa clustering (`glosa_clustering`)

For each **hospital x convênio x tipo de glosa**, clusters last month's glosa
cells with K-Means (k = 2..14 chosen by silhouette) and ranks the clusters by
the money they lose, so billing teams know where to look first. Replaces the
Windows Task Scheduler script that wrote `base_cluster_por_hospital.csv`.

**Flow:** `extract` → `dq_extract` → `build_features` → `dq_features` →
`plan_batches` → `cluster_batch` (mapped, one task per batch of segments) →
`dq_clusters` → `publish` → `export_csv`.

**Connections:** `glosa_source` (Oracle/Tasy `TASY.TB_GLOSA_APRIORI_RECENTE`,
or DuckDB/PostgreSQL with the same table) and `warehouse` (DuckDB or
PostgreSQL). Override either with `AIRFLOW_CONN_GLOSA_SOURCE` /
`AIRFLOW_CONN_WAREHOUSE`; without them the embedded DuckDB files under `data/`
are used.

**Outputs** (partition = month analysed, replaced in one transaction on rerun):
`glosa_clusters`, `glosa_cluster_profiles` (ranked by money lost, with a
description in Portuguese), `glosa_segment_runs` (k, silhouette, status and
skip reason per segment), `dq_quarantine`, plus
`data/exports/base_cluster_por_hospital.csv` for existing Power BI reports.
Every data-quality validation lands in `dq_results`.

**Params:** `competencia` (YYYY-MM; default the month before the logical date),
`hospital` (one hospital; default all), `max_batches`, `quarantine_tolerance`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from common.vigia_airflow import fail_fast, logical_moment, read_source, warehouse, warehouse_asset

SOURCE_CONN_ID = "glosa_source"
PUBLISHED = ["glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs", "dq_quarantine"]
DQ_RESULTS = warehouse_asset("dq_results")  # every gate appends its validation result


def _run():
    """The GlosaRun of the current task: month, filters and ids from the context and Params."""
    from vigia import runs
    from vigia.glosa.pipeline import GlosaRun

    context = get_current_context()
    params = context["params"]
    with fail_fast():
        month = (runs.month_start(params["competencia"]) if params.get("competencia")
                 else runs.previous_month(logical_moment(context)))
    return GlosaRun(
        run_id=context["run_id"],
        competencia=month,
        hospital=params.get("hospital") or None,
        tolerance=float(params["quarantine_tolerance"]),
        max_batches=int(params["max_batches"]),
    )


@dag(
    dag_id="glosa_clustering",
    schedule="0 6 * * 1",  # Mondays 06:00, São Paulo time
    start_date=pendulum.datetime(2026, 1, 5, tz="America/Sao_Paulo"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=8,
    default_args={
        "owner": "faturamento-auditoria",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=2),
    },
    tags=["vigia", "glosa", "clustering", "weekly"],
    params={
        "competencia": Param(
            None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
            title="Competência (YYYY-MM)",
            description="Month analysed, e.g. 2026-10. Empty: the month before the run's logical date.",
        ),
        "hospital": Param(
            None, type=["null", "string"], title="Hospital",
            description="Only this hospital, spelled as in the source's HOSPITAL column. Empty: all hospitals.",
        ),
        "max_batches": Param(
            32, type="integer", minimum=1, maximum=256, title="Max. mapped batches",
            description="Upper bound on cluster_batch tasks; segments are packed into at most this many.",
        ),
        "quarantine_tolerance": Param(
            0.01, type="number", minimum=0, maximum=0.5, title="Quarantine tolerance",
            description="Share of rows a gate may quarantine (null keys, negative money, IND_GLOSA > 1) "
                        "before it fails the run.",
        ),
    },
    doc_md=__doc__,
)
def glosa_clustering():
    @task
    def extract() -> dict:
        from vigia.glosa import pipeline

        run = _run()
        with fail_fast():
            raw = read_source(SOURCE_CONN_ID, pipeline.extract_sql_name, pipeline.extract_params(run))
        return pipeline.land_raw(run, raw)

    @task(outlets=[DQ_RESULTS])
    def dq_extract(_extracted: dict) -> dict:
        from vigia.glosa import pipeline

        with fail_fast():
            return pipeline.gate_extract(_run(), warehouse())

    @task
    def build_features(_checked: dict) -> dict:
        from vigia.glosa import pipeline

        return pipeline.build_features_step(_run())

    @task(outlets=[DQ_RESULTS])
    def dq_features(_features: dict) -> dict:
        from vigia.glosa import pipeline

        with fail_fast():
            return pipeline.gate_features(_run(), warehouse())

    @task
    def plan_batches(_checked: dict) -> list[dict]:
        from vigia.glosa import pipeline

        return pipeline.plan(_run())

    @task(map_index_template="{{ batch_label }}", max_active_tis_per_dag=4)
    def cluster_batch(batch: dict) -> dict:
        from vigia.glosa import pipeline

        get_current_context()["batch_label"] = batch["label"]
        return pipeline.cluster_batch(_run(), batch["batch"], batch["segment_ids"])

    @task(trigger_rule="none_failed", outlets=[DQ_RESULTS])
    def dq_clusters(batches: list[dict], _clustered) -> dict:
        from vigia.glosa import pipeline

        with fail_fast():
            return pipeline.gate_clusters(_run(), warehouse(), len(batches))

    @task(outlets=[warehouse_asset(t) for t in PUBLISHED])
    def publish(_checked: dict) -> dict:
        from vigia.glosa import pipeline

        return pipeline.publish(_run(), warehouse())

    @task
    def export_csv(_published: dict) -> dict:
        from vigia.glosa import pipeline

        return pipeline.export_csv(warehouse())

    batches = plan_batches(dq_features(build_features(dq_extract(extract()))))
    clustered = cluster_batch.expand(batch=batches)
    export_csv(publish(dq_clusters(batches, clustered)))


dag = glosa_clustering()

if __name__ == "__main__":
    dag.test()
