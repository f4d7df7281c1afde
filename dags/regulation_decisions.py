"""
### Regulation decisions with the Ymir rules engine (`regulation_decisions`)

Every day, takes the **pending** requests (guias with a null `decisao`) whose
`data_solicitacao` falls in the run's interval, runs the active ruleset (rules
written by regulators in YAML, see `docs/rules.md`) and publishes one decision per
request: **autorizar**, **negar**, **bloquear** or **analise_tecnica**, with the
message, every rule that fired and why. Requests sent to análise técnica get the
champion regulation model's probability of authorisation as a hint for the
reviewer, when a champion exists.

**Flow:** `lint_rules` → `extract` → `dq_requests` → `evaluate` → `model_hint` →
`publish`; `backtest` (only when the `executar_backtest` Param is on) after `lint_rules`.
The linter fails the run, with its messages, before anything is decided.

**Interval:** the previous day in the plan's local time (America/Sao_Paulo), e.g. the
run of 2026-10-31 00:00 decides the requests of 2026-10-30. For more frequent runs,
trigger the DAG with `intervalo_horas` (e.g. hourly from an external scheduler:
`airflow dags trigger regulation_decisions -c '{"intervalo_horas": 1}'`): the run then
decides the whole hours before it. Each interval is its own partition.

**Rules:** Airflow Variable `regulation_rules_path` (default `include/rules/`;
relative paths are taken from the project root), or the `regras` Param for one run.

**Connections:** `regulation_source` (DuckDB or PostgreSQL with the four contract
tables) and `warehouse`; the `pseudonym_key` connection keys pseudonyms.

**Outputs** (partition = interval, replaced in one transaction on rerun):
`regulation_decisions`, `rule_activations`, `dq_quarantine`; `rule_backtests`
(partition = ruleset version x backtest window) when requested; every gate in `dq_results`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from common.vigia_airflow import (connection_spec, fail_fast, logical_moment, use_pseudonym_key, warehouse,
                                  warehouse_asset)

SOURCE_CONN_ID = "regulation_source"
TZ = "America/Sao_Paulo"
RULES_VARIABLE = "regulation_rules_path"
DQ_RESULTS = warehouse_asset("dq_results")


def _run():
    """The DecisionRun of the current task: interval, rules folder and tolerance."""
    from airflow.sdk import Variable

    from vigia.rules.pipeline import DecisionRun, interval

    context = get_current_context()
    params = context["params"]
    inicio, fim = interval(context["data_interval_start"], context["data_interval_end"], TZ,
                           hours=params.get("intervalo_horas"), moment=logical_moment(context))
    rules = params.get("regras") or Variable.get(RULES_VARIABLE, default=None)
    return DecisionRun(run_id=context["run_id"], inicio=inicio, fim=fim, rules=rules or "",
                       tolerance=float(params["quarantine_tolerance"]))


def _source():
    use_pseudonym_key()
    return connection_spec(SOURCE_CONN_ID)


@dag(
    dag_id="regulation_decisions",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=TZ),   # daily, the previous local day
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "regulacao",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=1),
    },
    tags=["vigia", "regulation", "rules", "ymir", "daily"],
    params={
        "regras": Param(
            None, type=["null", "string"], title="Rules folder",
            description="Rules folder for this run only (absolute, or relative to the project). "
                        "Empty: the Airflow Variable regulation_rules_path, else include/rules/.",
        ),
        "intervalo_horas": Param(
            None, type=["null", "integer"], minimum=1, maximum=24, title="Interval (hours)",
            description="Decide the requests of this many whole hours before the run instead of the "
                        "daily interval (for hourly triggers). Empty: the daily data interval.",
        ),
        "executar_backtest": Param(
            False, type="boolean", title="Run a backtest",
            description="Also backtest the ruleset against human decisions and publish rule_backtests.",
        ),
        "backtest_dias": Param(
            90, type="integer", minimum=1, maximum=730, title="Backtest window (days)",
            description="Days of decided requests before the interval's start that the backtest covers.",
        ),
        "quarantine_tolerance": Param(
            0.05, type="number", minimum=0, maximum=0.5, title="Quarantine tolerance",
            description="Share of pending requests the DQ gate may quarantine (no beneficiary, unknown "
                        "procedure, date outside the interval) before it fails the run.",
        ),
    },
    doc_md=__doc__,
)
def regulation_decisions():
    @task
    def lint_rules() -> dict:
        from vigia.rules import pipeline

        with fail_fast():
            return pipeline.lint_step(_run(), _source())

    @task
    def extract(_linted: dict) -> dict:
        from vigia.rules import pipeline

        with fail_fast():
            return pipeline.extract(_run(), _source())

    @task(outlets=[DQ_RESULTS])
    def dq_requests(_extracted: dict) -> dict:
        from vigia.rules import pipeline

        with fail_fast():
            return pipeline.gate(_run(), _source(), warehouse())

    @task
    def evaluate(_checked: dict) -> dict:
        from vigia.rules import pipeline

        with fail_fast():
            return pipeline.evaluate(_run(), _source())

    @task
    def model_hint(_evaluated: dict) -> dict:
        from airflow.sdk import Variable

        from vigia.rules import pipeline

        # the same registry the retraining DAG writes to (its Variable), else $VIGIA_MODELS_DIR/default
        models_dir = Variable.get("regulation_models_dir", default=None)
        return pipeline.model_hint(_run(), _source(), models_dir)

    @task(outlets=[warehouse_asset(t) for t in ("regulation_decisions", "rule_activations", "dq_quarantine")])
    def publish(_hinted: dict) -> dict:
        from vigia.rules import pipeline

        return pipeline.publish(_run(), warehouse())

    @task(outlets=[warehouse_asset("rule_backtests")])
    def backtest(_linted: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from vigia.rules import pipeline

        params = get_current_context()["params"]
        if not params["executar_backtest"]:
            raise AirflowSkipException("backtest not requested (Param executar_backtest is off)")
        with fail_fast():
            return pipeline.backtest_step(_run(), _source(), warehouse(), int(params["backtest_dias"]))

    linted = lint_rules()
    publish(model_hint(evaluate(dq_requests(extract(linted)))))
    backtest(linted)


dag = regulation_decisions()

if __name__ == "__main__":
    dag.test()
