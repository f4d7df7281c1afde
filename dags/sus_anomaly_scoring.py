"""
### Monthly SUS anomaly scoring (`sus_anomaly_scoring`, InfoSAS)

Scores the SUS production of one competência (by default the month before the
run's logical date) for statistical anomalies, ranks establishments for audit
by the estimated value of their anomalous production, and renders fact sheets
for the top of the ranking. **Anomalies are not fraud**: campaigns, epidemics
and mobile units explain many of them, and findings carry benign flags.

**Flow:** `list_ufs` → `ingest_uf` (mapped, one task per UF) → `dq_ingest` →
`build_cube` → `dq_cube` → `publish_cube` → (`find_missing_history` →
`build_history_cube`, mapped per month) → `score` → `dq_scores` →
`fact_sheet_parts` → `fact_sheets` (mapped, up to 4 parts of the top of the
ranking, 2 at a time; each returns its sheets' paths) → `publish_scores`.

**Inputs:** DATASUS files under the landing folder (Airflow Variable
`sus_landing_path`, a local path or an object-storage URL; default: the
generated sample in `data/sources/sus`): `SIA/PA<UF><AA><MM>[a|b…].{dbc,parquet,csv}`,
`SIH/RD<UF><AA><MM>.*`, `CNES/ST<UF><AA><MM>.*`, `IBGE/populacao.csv`. SIA is
keyed on PA_CMP, so a competência reads the files of that month and the three
after it. Mining targets: `include/vigia/sus/alvos.csv` (versioned).

**History:** the scores use the cubes of the 12 earlier competências already in
the warehouse; a backfill over earlier months builds them. With the Param
`build_missing_history`, the run builds the missing ones itself
(`build_history_cube`, mapped, one task per month). Scores that still lack
history carry a reason instead of a value. With `refresh_late_records` (on by
default) it also rebuilds the cubes of the 3 earlier competências when files
that can hold their late records have landed since they were built
(`sus_cube_files` records each cube's files). A rebuilt month that was already
scored keeps its scores: the task's result (`scores_to_rerun`) and log say
which trigger rescores it.

**Outputs** (connection `warehouse`; partition = competência, replaced in one
transaction on rerun): the cubes `sus_production_monthly` (establishment x
municipality x target), `sus_production_by_establishment` and
`sus_production_by_municipality` (its sums), with `sus_cube_files` and `sus_cube_uf_coverage` (the
UFs whose files of the month landed: a UF that has not landed is left out of the per-capita rates,
not counted as zero production), then `sus_anomaly_scores`,
`sus_municipal_excess`, `sus_provider_ranking`, `sus_provider_excess` (the excess money per
establishment x target, by part), `sus_benign_flags`, `sus_excess_concentration`; fact sheets in `data/reports/sus/<YYYY-MM>/`.
`score` also writes the IBGE population of its window's years to `sus_population`
(partition = year), where the per-capita rates are computed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, Variable, dag, get_current_context, task

from common.vigia_airflow import fail_fast, logical_moment, warehouse, warehouse_asset

CUBES = ["sus_production_monthly", "sus_production_by_establishment", "sus_production_by_municipality"]
SCORES = ["sus_anomaly_scores", "sus_municipal_excess", "sus_provider_ranking", "sus_provider_excess",
          "sus_benign_flags", "sus_excess_concentration"]
DQ_RESULTS = warehouse_asset("dq_results")
# the landing files of each cube and the UFs it covers, published with it
CUBE_FILES = [warehouse_asset("sus_cube_files"), warehouse_asset("sus_cube_uf_coverage")]


def _run():
    """The SusRun of the current task: competência, landing and thresholds from context and Params."""
    from vigia import runs
    from vigia.sus.pipeline import SusRun, default_landing

    context = get_current_context()
    params = context["params"]
    with fail_fast():
        month = (runs.month_start(params["competencia"]) if params.get("competencia")
                 else runs.previous_month(logical_moment(context)))
    landing = params.get("landing") or Variable.get("sus_landing_path", default=None) or default_landing()
    return SusRun(run_id=context["run_id"], competencia=month, landing=str(landing),
                  max_bad_share=float(params["max_bad_share"]), top_fact_sheets=int(params["top_fact_sheets"]),
                  k=float(params["k_limiar"]))


@dag(
    dag_id="sus_anomaly_scoring",
    schedule="0 4 10 * *",  # the 10th of every month, 04:00 São Paulo time
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Sao_Paulo"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "controle-avaliacao-sus",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=3),
    },
    tags=["vigia", "sus", "infosas", "monthly"],
    params={
        "competencia": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$", title="Competência (YYYY-MM)",
                             description="Month scored, e.g. 2026-09. Empty: the month before the logical date."),
        "landing": Param(None, type=["null", "string"], title="Landing folder",
                         description="Overrides the Variable sus_landing_path for this run (local path or URL)."),
        "max_bad_share": Param(0.01, type="number", minimum=0, maximum=0.5, title="Max. quarantined share",
                               description="Share of a file's rows that may be quarantined for bad codes or "
                                           "negative values before the run fails."),
        "build_missing_history": Param(
            False, type="boolean", title="Build missing history",
            description="Build the cubes of earlier competências missing from the warehouse (up to 12) from the "
                        "landing files in this run, instead of leaving their scores without history."),
        "refresh_late_records": Param(
            True, type="boolean", title="Take in late records",
            description="Rebuild the cubes of the 3 earlier competências when SIA/SIH files that can hold their "
                        "late records have landed since those cubes were built (SIA accepts records up to 3 "
                        "months late)."),
        "k_limiar": Param(3.0, type="number", minimum=1, maximum=20, title="Per-capita threshold k",
                          description="limiar = k x the month's national rate (empirical-Bayes per-capita score); "
                                      "the seed's value is 3. Recorded in sus_municipal_excess.k."),
        "top_fact_sheets": Param(20, type="integer", minimum=0, maximum=500, title="Fact sheets",
                                 description="How many establishments at the top of the ranking get a fact sheet."),
    },
    doc_md=__doc__,
)
def sus_anomaly_scoring():
    @task
    def list_ufs() -> list[str]:
        from vigia.sus import pipeline

        with fail_fast():
            return pipeline.list_ufs(_run())

    @task(map_index_template="{{ uf }}", max_active_tis_per_dag=4)
    def ingest_uf(uf: str) -> dict:
        from vigia.sus import pipeline

        get_current_context()["uf"] = uf
        with fail_fast():  # a malformed file (missing column, cut .dbc) fails at once: a retry reads it again
            return pipeline.ingest_uf(_run(), uf)

    @task(outlets=[DQ_RESULTS])
    def dq_ingest(ufs: list[str], _ingested) -> dict:
        from vigia.sus import pipeline

        with fail_fast():
            return pipeline.gate_ingest(_run(), warehouse(), ufs)

    @task
    def build_cube(ufs: list[str], _checked: dict) -> dict:
        from vigia.sus import pipeline

        return pipeline.build_cube(_run(), ufs)

    @task(outlets=[DQ_RESULTS])
    def dq_cube(_cube: dict) -> dict:
        from vigia.sus import pipeline

        with fail_fast():
            return pipeline.gate_cube(_run(), warehouse())

    @task(outlets=[*(warehouse_asset(t) for t in CUBES), *CUBE_FILES, warehouse_asset("dq_quarantine")])
    def publish_cube(_checked: dict) -> dict:
        from vigia.sus import pipeline

        return pipeline.publish_cube(_run(), warehouse())

    @task
    def find_missing_history(_published: dict) -> list[str]:
        from vigia.sus import pipeline

        params = get_current_context()["params"]
        return pipeline.history_to_build(_run(), warehouse(), missing=params["build_missing_history"],
                                         late=params["refresh_late_records"])

    @task(map_index_template="{{ competencia }}", max_active_tis_per_dag=2,
          outlets=[*(warehouse_asset(t) for t in CUBES), *CUBE_FILES, warehouse_asset("dq_quarantine"), DQ_RESULTS])
    def build_history_cube(month: str) -> dict:
        from vigia.sus import pipeline

        get_current_context()["competencia"] = month
        with fail_fast():
            return pipeline.build_history_cube(_run(), warehouse(), month)

    # the coarse cubes too: the step derives those of an earlier month that lack them (cubes.ensure_coarse_cubes)
    @task(trigger_rule="none_failed", outlets=[warehouse_asset("sus_population"),
                                               *(warehouse_asset(t) for t in CUBES[1:])])
    def score(_published: dict, _history) -> dict:
        from vigia.sus import pipeline

        with fail_fast():
            return pipeline.score(_run(), warehouse())

    @task(outlets=[DQ_RESULTS])
    def dq_scores(_scored: dict) -> dict:
        from vigia.sus import pipeline

        with fail_fast():
            return pipeline.gate_scores(_run(), warehouse())

    @task
    def fact_sheet_parts(_checked: dict) -> list[dict]:
        from vigia.sus import pipeline

        return pipeline.fact_sheet_parts(_run())

    @task(map_index_template="{{ fact_sheet_label }}", max_active_tis_per_dag=2)
    def fact_sheets(part: dict) -> dict:
        from vigia.sus import pipeline

        get_current_context()["fact_sheet_label"] = part["label"]
        return pipeline.fact_sheets(_run(), part["part"], part["parts"])

    @task(trigger_rule="none_failed", outlets=[warehouse_asset(t) for t in SCORES])
    def publish_scores(sheet_parts) -> dict:
        from vigia.sus import pipeline

        return pipeline.publish_scores(_run(), warehouse(), sheet_parts)  # the parts' results (their XCom)

    ufs = list_ufs()
    ingested = ingest_uf.expand(uf=ufs)
    cube = build_cube(ufs, dq_ingest(ufs, ingested))
    published = publish_cube(dq_cube(cube))
    history = build_history_cube.expand(month=find_missing_history(published))
    sheets = fact_sheets.expand(part=fact_sheet_parts(dq_scores(score(published, history))))
    publish_scores(sheets)  # none_failed: runs when the map is empty (top_fact_sheets = 0, skipped: no results)


dag = sus_anomaly_scoring()

if __name__ == "__main__":
    dag.test()
