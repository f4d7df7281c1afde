"""
### Monthly retraining of the prior-authorisation model (`regulation_model_retraining`)

Learns the regulators' decisions (autorizado / negado) from the guias of the last
`window_months`, compares the seed's three models (C4.5-style tree, Naive Bayes, MLP) and a
gradient-boosting challenger with stratified 10-fold CV in two protocols (honest oversampling
inside each training fold, and the seed's replication before CV), and lets the most recent
month, never seen in training, decide champion / challenger. The decisions DAG
(`regulation_decisions`) loads the champion with `vigia.regulation.registry.load_champion`.

**Flow:** `extract_features` → `dq_gates` → `train_candidate` (mapped over `candidate_models`,
one task per model, labelled with the model's name) →
`decide_promotion` → `register` → `publish` → `export_tree`.

**Schedule:** 05:00 on the 1st of every month (São Paulo), *and* whenever the Asset
`regulation_source.guias` (`vigia://regulation_source/guias`) is updated: the process that
loads decided guias into the source emits it: the plan's ETL DAG through a task with
`outlets=[GUIAS]`, or, after a manual load (e.g. `python -m vigia.sample_data regulation`),
an asset event created through the REST API (`POST /api/v2/assets/events`).
The cutoff (exclusive end of the window) is the first day of the run's month unless the
`cutoff` Param says otherwise; a second run in the same month replaces that month's rows.

**Connections:** `regulation_source` (DuckDB or PostgreSQL with the four contract tables),
`warehouse`, `pseudonym_key` (beneficiary ids are pseudonymised before anything is staged).

**Outputs:** model versions, model cards (Markdown + JSON), the `champion` pointer and the
tree's rules in plain Portuguese under the registry folder (`models_dir` Param, else the
Variable `regulation_models_dir`, else `$VIGIA_MODELS_DIR`, else `include/models/regulation/`;
an object-storage URL such as `s3://bucket/models/regulation` works too); warehouse tables
`regulation_model_runs` (one row per model and protocol; partition = cutoff), `dq_quarantine`
and `dq_results`. See docs/regulation_model.md.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, Variable, dag, get_current_context,
                         task)

from common.vigia_airflow import (connection_spec, fail_fast, logical_moment, use_pseudonym_key, warehouse,
                                  warehouse_asset)

SOURCE_CONN_ID = "regulation_source"
GUIAS = Asset(name="regulation_source.guias", uri="vigia://regulation_source/guias", group="regulation_source")
DQ_RESULTS = warehouse_asset("dq_results")
PUBLISHED = ["regulation_model_runs", "dq_quarantine"]
MODELS = ["decision_tree", "naive_bayes", "mlp", "gradient_boosting"]


def _models_dir(params):
    """The registry root: Param, Variable, env/default (resolved in vigia.regulation.registry).

    Object-storage URLs become an Airflow ObjectStoragePath (credentials from its connection)."""
    value = params.get("models_dir") or Variable.get("regulation_models_dir", default=None)
    if value and "://" in value and not value.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(value)
    return value or None


def _run():
    from vigia import runs
    from vigia.regulation.training import RetrainingRun

    context = get_current_context()
    params = context["params"]
    with fail_fast():
        text = params.get("cutoff")
        if text and len(text) == 10:
            from datetime import date

            cutoff = date.fromisoformat(text)
        else:
            cutoff = runs.month_start(text or logical_moment(context))
        return RetrainingRun(
            run_id=context["run_id"], cutoff=cutoff, window_months=int(params["window_months"]),
            margin=float(params["promotion_margin"]), models=tuple(params["models"]),
            max_rows=int(params["max_rows"]), folds=int(params["cv_folds"]), models_dir=_models_dir(params),
        )


@dag(
    dag_id="regulation_model_retraining",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 5 1 * *", timezone="America/Sao_Paulo"), assets=[GUIAS]),
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Sao_Paulo"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=2,   # CV is CPU-bound; the mapped candidates share the workers' cores
    default_args={
        "owner": "regulacao-medica",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=3),
    },
    tags=["vigia", "regulation", "ml", "monthly"],
    params={
        "window_months": Param(
            12, type="integer", minimum=2, maximum=60, title="Training window (months)",
            description="Months of decided guias before the cutoff; the last one is the temporal holdout "
                        "that decides champion/challenger, the others are the training part.",
        ),
        "promotion_margin": Param(
            0.01, type="number", minimum=0, maximum=0.5, title="Promotion margin (kappa)",
            description="A challenger replaces the champion only if its holdout kappa exceeds the "
                        "champion's by more than this.",
        ),
        "models": Param(
            MODELS, type="array", items={"type": "string", "enum": MODELS}, minItems=1, uniqueItems=True,
            title="Models to try",
            description="Candidate models, one mapped training task each: decision_tree (C4.5-style), "
                        "naive_bayes, mlp, gradient_boosting.",
        ),
        "max_rows": Param(
            200_000, type="integer", minimum=1_000, maximum=5_000_000, title="Max. training rows",
            description="Training guias above this are sampled down (stratified by class, fixed seed); "
                        "the holdout is never sampled.",
        ),
        "cv_folds": Param(
            10, type="integer", minimum=3, maximum=20, title="Cross-validation folds",
            description="Stratified folds of the cross-validation (the seed used 10).",
        ),
        "cutoff": Param(
            None, type=["null", "string"], pattern=r"^\d{4}-\d{2}(-\d{2})?$", title="Cutoff (YYYY-MM[-DD])",
            description="Exclusive end of the training window. Empty: the first day of the run's month.",
        ),
        "models_dir": Param(
            None, type=["null", "string"], title="Model registry",
            description="Folder or object-storage URL of the registry. Empty: the Variable "
                        "regulation_models_dir, else $VIGIA_MODELS_DIR, else include/models/regulation/.",
        ),
    },
    doc_md=__doc__,
)
def regulation_model_retraining():
    @task
    def extract_features() -> dict:
        from vigia.regulation import training

        run = _run()
        use_pseudonym_key()
        with fail_fast():
            return training.extract(run, connection_spec(SOURCE_CONN_ID))

    @task(outlets=[DQ_RESULTS])
    def dq_gates(_extracted: dict) -> dict:
        from vigia.regulation import training

        run = _run()
        use_pseudonym_key()
        with fail_fast():
            return training.gate(run, connection_spec(SOURCE_CONN_ID), warehouse())

    @task
    def candidate_models() -> list[str]:
        return list(_run().models)

    @task(map_index_template="{{ model_name }}", max_active_tis_per_dag=2)
    def train_candidate(split: dict, model: str) -> dict:
        from vigia.regulation import training

        get_current_context()["model_name"] = model
        return training.train_candidate(_run(), model)

    @task
    def decide_promotion(trained: list[dict]) -> dict:
        from vigia.regulation import training

        return training.decide(_run())

    @task
    def register(decision: dict) -> dict:
        from vigia.regulation import training

        return training.register(_run())

    @task(outlets=[warehouse_asset(t) for t in PUBLISHED])
    def publish(registered: dict) -> dict:
        from vigia.regulation import training

        return training.publish(_run(), warehouse())

    @task
    def export_tree(_published: dict) -> dict:
        from vigia.regulation import training

        return training.export_tree(_run())

    checked = dq_gates(extract_features())
    trained = train_candidate.partial(split=checked).expand(model=candidate_models())
    export_tree(publish(register(decide_promotion(trained))))


dag = regulation_model_retraining()

if __name__ == "__main__":
    dag.test()
