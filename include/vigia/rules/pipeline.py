"""The regulation_decisions DAG's steps, one function per task, free of Airflow.

Tasks hand data through Parquet files in the run's staging folder; XCom carries
small summaries. The pending batch is staged with the beneficiary id already
pseudonymised (``vigia.pseudonym``): raw ids stay in the source database, where the
engine's SQL reads history. :func:`publish` replaces the interval's partition of
``regulation_decisions``, ``rule_activations`` and ``dq_quarantine`` in one transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from vigia import paths, runs
from vigia.dq import quarantine, validate
from vigia.dq.results import RunInfo, record
from vigia.pseudonym import pseudonymise
from vigia.rules import backtest, db, engine, linter, quality
from vigia.rules.ruleset import load
from vigia.warehouse import PartitionWrite, Warehouse

log = logging.getLogger(__name__)

DAG_ID = "regulation_decisions"
DEFAULT_RULES = paths.PROJECT_ROOT / "include" / "rules"
NO_RULE_ID = "(nenhuma regra)"


class RulesetError(ValueError):
    """The ruleset failed the linter; the message lists every error."""


def rules_path(value: str | None) -> Path:
    """The rules folder: a Param or Variable value (relative to the project) or include/rules/."""
    if not value:
        return DEFAULT_RULES
    p = Path(value)
    return p if p.is_absolute() else paths.PROJECT_ROOT / p


@dataclass(frozen=True)
class DecisionRun:
    run_id: str
    inicio: datetime          # naive, plan's local time
    fim: datetime
    rules: str
    tolerance: float = quality.DEFAULT_TOLERANCE
    dag_id: str = DAG_ID

    @property
    def dir(self) -> Path:
        return runs.run_dir(self.dag_id, self.run_id)

    def file(self, name: str) -> Path:
        return self.dir / name

    @property
    def partition(self) -> dict:
        return {"intervalo_inicio": self.inicio, "intervalo_fim": self.fim}

    @property
    def partition_key(self) -> str:
        return f"{self.inicio.isoformat()}/{self.fim.isoformat()}"

    def info(self, task_id: str) -> RunInfo:
        return RunInfo(self.dag_id, self.run_id, task_id, self.partition_key)


def interval(start, end, tz: str, hours: int | None = None, moment=None) -> tuple[datetime, datetime]:
    """The naive local [inicio, fim) of a run: the data interval, or, with ``hours``, the
    ``hours`` whole hours before ``moment`` (for runs triggered more often than daily)."""
    import pendulum

    if hours:
        end_local = pendulum.instance(moment).in_timezone(tz).replace(minute=0, second=0, microsecond=0)
        start_local = end_local.subtract(hours=int(hours))
    else:
        start_local, end_local = pendulum.instance(start).in_timezone(tz), pendulum.instance(end).in_timezone(tz)
    naive = lambda d: datetime(d.year, d.month, d.day, d.hour, d.minute, d.second)  # noqa: E731
    return naive(start_local), naive(end_local)


def catalogue_codes(spec) -> set:
    return set(db.query_file(spec, "rules/raw_procedimentos.sql")["codigo_procedimento"].astype(str))


# --- tasks -----------------------------------------------------------------------------------
def lint_step(run: DecisionRun, spec) -> dict:
    report = linter.lint(rules_path(run.rules), catalogue_codes(spec))
    for f in report.warnings:
        log.warning(f.text())
    if not report.ok:
        raise RulesetError(f"o conjunto de regras em {rules_path(run.rules)} tem erros; nada foi decidido:\n"
                           + report.text())
    log.info(report.text())
    return {"version": report.ruleset.version, "rules": len(report.ruleset.rules), "warnings": len(report.warnings)}


def extract(run: DecisionRun, spec) -> dict:
    params = {"inicio": run.inicio, "fim": run.fim, "pendentes": True}
    batch = db.query(spec, db.requests_sql(spec), params, "rules/requests.sql")
    staged = pd.DataFrame({
        "id_guia": batch["id_guia"].astype(str),
        "beneficiario": pseudonymise(batch["id_beneficiario"], "beneficiario"),
        "momento_solicitacao": pd.to_datetime(batch["momento_solicitacao"]),
        "procedimento": batch["procedimento"].astype("string"),
        "valor": pd.to_numeric(batch["valor"], errors="coerce"),
    })
    staged.to_parquet(run.file("batch.parquet"), index=False)
    log.info("extract: %d pending request(s) in [%s, %s)", len(staged), run.inicio, run.fim)
    return {"pending": len(staged)}


def gate(run: DecisionRun, spec, warehouse: Warehouse) -> dict:
    batch = pd.read_parquet(run.file("batch.parquet"))
    if batch.empty:
        clean, bad = batch, batch.iloc[0:0]
        log.info("no pending requests in [%s, %s): nothing to validate", run.inicio, run.fim)
    else:
        suite = quality.batch_suite(sorted(catalogue_codes(spec)), run.inicio, run.fim, run.tolerance)
        report = validate(batch, suite)
        clean, bad = quarantine.split(batch, report) if report.success else (batch, batch.iloc[0:0])
        record(warehouse, report, run.info("dq_requests"), quarantined=len(bad))
        report.raise_for_failure()
    clean.to_parquet(run.file("clean.parquet"), index=False)
    if len(bad):
        bad = bad.assign(suite="regulation_requests")
        bad.to_parquet(run.file("quarantine.parquet"), index=False)
        quarantine.save(bad, paths.quarantine_dir() / "regulation" / f"{runs.safe_name(run.run_id)}.parquet")
        log.warning("regulation_requests: %d request(s) quarantined", len(bad))
    else:
        run.file("quarantine.parquet").unlink(missing_ok=True)
    return {"clean": len(clean), "quarantined": len(bad)}


def evaluate(run: DecisionRun, spec) -> dict:
    rs = load(rules_path(run.rules))
    clean = pd.read_parquet(run.file("clean.parquet"))
    result = engine.evaluate(spec, rs.rules, run.inicio, run.fim, pendentes=True)
    keep = set(clean["id_guia"].astype(str))
    decisions = result.decisions.assign(id_guia=result.decisions["id_guia"].astype(str))
    decisions = decisions[decisions["id_guia"].isin(keep)]
    fired = result.fired.assign(id_guia=result.fired["id_guia"].astype(str))
    fired = fired[fired["id_guia"].isin(keep)]
    decisions.to_parquet(run.file("decisions.parquet"), index=False)
    fired.to_parquet(run.file("fired.parquet"), index=False)
    (run.file("version.json")).write_text(json.dumps({"version": rs.version}))
    counts = decisions["resultado"].value_counts().to_dict()
    log.info("evaluate: %d decision(s) %s with ruleset %s", len(decisions), counts, rs.version)
    return {"decisions": len(decisions), "version": rs.version, **{k: int(v) for k, v in counts.items()}}


def model_hint(run: DecisionRun, spec, models_dir=None) -> dict:
    """Champion's probability of 'autorizado' for analise_tecnica requests, when a champion exists.

    ``models_dir``: the model registry's root (None: ``$VIGIA_MODELS_DIR`` or the default)."""
    decisions = pd.read_parquet(run.file("decisions.parquet"))
    review = decisions.loc[decisions["resultado"] == "analise_tecnica", "id_guia"].astype(str)
    hints = pd.DataFrame({"id_guia": pd.Series([], dtype=str), "dica_modelo": pd.Series([], dtype=float),
                          "versao_modelo": pd.Series([], dtype=str)})
    out = {"review": len(review), "hints": 0, "model": None}
    champion = None
    if len(review):
        try:
            from vigia.regulation.features import build_features
            from vigia.regulation.registry import load_champion

            champion = load_champion(models_dir)
        except ImportError as exc:
            log.info("no model hint: the regulation model package is not available (%s)", exc)
        if champion is None:
            log.info("no model hint: no champion regulation model yet; %d analise_tecnica request(s) keep a null hint",
                     len(review))
        else:
            start = run.inicio.date()
            end = (run.fim - timedelta(microseconds=1)).date() + timedelta(days=1)
            features = build_features(spec, start, end, only_pending=True)
            features = features[features["id_guia"].astype(str).isin(set(review))]
            if len(features):
                proba = champion.predict_proba_authorized(features)
                hints = pd.DataFrame({"id_guia": features["id_guia"].astype(str).to_numpy(),
                                      "dica_modelo": proba, "versao_modelo": champion.version})
            out.update(hints=len(hints), model=champion.version)
            log.info("model hint: champion %s scored %d of %d analise_tecnica request(s)", champion.version,
                     len(hints), len(review))
    hints.to_parquet(run.file("hints.parquet"), index=False)
    return out


def _json_lists(fired: pd.DataFrame) -> pd.DataFrame:
    fired = fired.sort_values(["id_guia", "ordem"])
    g = fired.groupby("id_guia", sort=False)
    dump = lambda s: json.dumps(list(s), ensure_ascii=False)  # noqa: E731
    return pd.DataFrame({"regras_disparadas": g["regra"].agg(dump), "mensagens": g["mensagem"].agg(dump),
                         "porques": g["porque"].agg(dump)}).reset_index()


def decision_rows(run: DecisionRun, batch, decisions, fired, hints, version: str, now: datetime) -> pd.DataFrame:
    rows = decisions.merge(batch, on="id_guia", how="left").merge(_json_lists(fired), on="id_guia", how="left")
    rows = rows.merge(hints, on="id_guia", how="left")
    for col in ("regras_disparadas", "mensagens", "porques"):
        rows[col] = rows[col].fillna("[]")
    return pd.DataFrame({
        "id_guia": rows["id_guia"], "beneficiario": rows["beneficiario"],
        "data_solicitacao": rows["momento_solicitacao"], "codigo_procedimento": rows["procedimento"],
        "valor": rows["valor"], "resultado": rows["resultado"], "regra_decisiva": rows["regra"],
        "mensagem": rows["mensagem"], "regras_disparadas": rows["regras_disparadas"],
        "mensagens": rows["mensagens"], "porques": rows["porques"], "dica_modelo": rows["dica_modelo"],
        "versao_modelo": rows["versao_modelo"], "versao_regras": version, "run_id": run.run_id, "avaliado_em": now,
    })


def activation_rows(run: DecisionRun, batch, decisions, fired, version: str) -> pd.DataFrame:
    """Rule x day x outcome: disparos (fired) and decisoes (won)."""
    day = batch.set_index("id_guia")["momento_solicitacao"].dt.date
    f = fired.assign(dia=fired["id_guia"].map(day))
    won = decisions.assign(dia=decisions["id_guia"].map(day), regra=decisions["regra"].fillna(NO_RULE_ID))
    a = f.groupby(["dia", "regra", "resultado"]).size().rename("disparos")
    b = won.groupby(["dia", "regra", "resultado"]).size().rename("decisoes")
    out = pd.concat([a, b], axis=1).fillna(0).astype("int64").reset_index()
    out = out.rename(columns={"regra": "id_regra"})
    return out.assign(versao_regras=version, run_id=run.run_id)[
        ["dia", "id_regra", "resultado", "disparos", "decisoes", "versao_regras", "run_id"]]


def _quarantine_rows(run: DecisionRun) -> pd.DataFrame:
    cols = ["run_id", "suite", "dq_reason", "row_json"]
    path = run.file("quarantine.parquet")
    if not path.exists():
        return pd.DataFrame(columns=cols)
    bad = pd.read_parquet(path)
    payload = bad.drop(columns=[quarantine.REASON_COLUMN, "suite"])
    return pd.DataFrame({"run_id": run.run_id, "suite": bad["suite"], "dq_reason": bad[quarantine.REASON_COLUMN],
                         "row_json": [json.dumps(r, ensure_ascii=False, default=str) for r in payload.to_dict("records")]})


def publish(run: DecisionRun, warehouse: Warehouse) -> dict:
    batch = pd.read_parquet(run.file("batch.parquet"))
    decisions = pd.read_parquet(run.file("decisions.parquet"))
    fired = pd.read_parquet(run.file("fired.parquet"))
    hints = pd.read_parquet(run.file("hints.parquet"))
    version = json.loads(run.file("version.json").read_text())["version"]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    writes = [
        PartitionWrite("regulation_decisions", run.partition,
                       decision_rows(run, batch, decisions, fired, hints, version, now)),
        PartitionWrite("rule_activations", run.partition, activation_rows(run, batch, decisions, fired, version)),
        PartitionWrite("dq_quarantine", {"dag_id": run.dag_id, "partition_key": run.partition_key},
                       _quarantine_rows(run)),
    ]
    return warehouse.replace_partitions(writes)


def backtest_step(run: DecisionRun, spec, warehouse: Warehouse, days: int) -> dict:
    """Backtest the ruleset on the ``days`` days of decided guias before the interval; publish it."""
    rs = load(rules_path(run.rules))
    fim = run.inicio.date()
    inicio = fim - timedelta(days=int(days))
    bt = backtest.run(rs, spec, inicio, fim)
    log.info("\n%s", bt.text())
    rows = bt.rows().assign(run_id=run.run_id, calculado_em=datetime.now(timezone.utc).replace(tzinfo=None))
    part = {"versao_regras": rs.version, "periodo_inicio": inicio, "periodo_fim": fim}
    warehouse.replace_partitions([PartitionWrite("rule_backtests", part, rows)])
    return {"version": rs.version, "from": inicio.isoformat(), "to": fim.isoformat(),
            "requests": bt.solicitacoes, "automation": bt.taxa_automacao, "agreement": bt.concordancia}
