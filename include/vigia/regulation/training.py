"""The retraining pipeline's steps, one function per DAG task, free of Airflow.

Window: a run has a ``cutoff`` (exclusive; by default the first day of the run's month) and uses
the guias requested in the ``window_months`` before it. The last ``holdout_months`` (default 1)
are the temporal holdout; the earlier months are the training part. Everything the tasks hand
each other is a file in the run's staging folder (``vigia.runs.run_dir``), pseudonymised
(``beneficiario`` is already a pseudonym when build_features returns).

Steps: :func:`extract` -> :func:`gate` -> :func:`train_candidate` (one per model) ->
:func:`decide` -> :func:`register` -> :func:`publish` -> :func:`export_tree`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from vigia import runs
from vigia.regulation import model_card, promotion, registry, tree_export, tree_to_rules
from vigia.regulation.evaluation import METRICS, PROTOCOLS, CVResult, cross_validate_models, kappa_band, scores
from vigia.regulation.models import MODEL_NAMES, TREE, check_names, make_model
from vigia.regulation.preprocessing import build_pipeline, feature_report

log = logging.getLogger(__name__)

DAG_ID = "regulation_model_retraining"
TABLE = "regulation_model_runs"
LABEL = "autorizado"
DEFAULT_WINDOW_MONTHS = 12
DEFAULT_MAX_ROWS = 200_000


@dataclass(frozen=True)
class RetrainingRun:
    run_id: str
    cutoff: date
    window_months: int = DEFAULT_WINDOW_MONTHS
    holdout_months: int = 1
    margin: float = promotion.DEFAULT_MARGIN
    models: tuple = tuple(MODEL_NAMES)
    max_rows: int = DEFAULT_MAX_ROWS
    folds: int = 10
    random_state: int = 0
    models_dir: str | None = None
    dag_id: str = DAG_ID

    def __post_init__(self):
        check_names(self.models)
        if self.window_months <= self.holdout_months:
            raise ValueError(f"training window of {self.window_months} month(s) leaves nothing to train on "
                             f"before the {self.holdout_months}-month holdout; use at least {self.holdout_months + 1}")
        if self.margin < 0:
            raise ValueError(f"promotion margin must be >= 0; got {self.margin}")

    @property
    def train_start(self) -> date:
        return runs.add_months(self.cutoff, -self.window_months)

    @property
    def holdout_start(self) -> date:
        return runs.add_months(self.cutoff, -self.holdout_months)

    @property
    def dir(self):
        return runs.run_dir(self.dag_id, self.run_id)

    def file(self, name: str):
        return self.dir / name

    @property
    def partition_key(self) -> str:
        return self.cutoff.isoformat()

    def info(self, task_id: str):
        from vigia.dq.results import RunInfo

        return RunInfo(self.dag_id, self.run_id, task_id, self.partition_key)

    def version(self, model: str) -> str:
        """Version id: cutoff, model and a hash of the run id (a rerun of the same run overwrites it)."""
        digest = hashlib.sha1(self.run_id.encode()).hexdigest()[:8]
        return f"{self.cutoff:%Y%m%d}_{model}_{digest}"

    def describe(self) -> dict:
        out = {k: getattr(self, k) for k in ("run_id", "window_months", "holdout_months", "margin", "max_rows",
                                             "folds", "random_state", "dag_id")}
        out.update(models_dir=str(self.models_dir) if self.models_dir is not None else None,
                   cutoff=self.cutoff.isoformat(), train_start=self.train_start.isoformat(),
                   holdout_start=self.holdout_start.isoformat(), models=list(self.models))
        return out


# --- extract and gates --------------------------------------------------------------------------
def extract(run: RetrainingRun, source) -> dict:
    """build_features over the whole window -> features.parquet (pseudonymised)."""
    from vigia.regulation.features import build_features

    features = build_features(source, run.train_start, run.cutoff)
    features.to_parquet(run.file("features.parquet"), index=False)
    return {"rows": len(features), "path": str(run.file("features.parquet")),
            "window": [run.train_start.isoformat(), run.cutoff.isoformat()]}


def gate(run: RetrainingRun, source, warehouse) -> dict:
    """The source and training-batch gates; record every report; split training / holdout.

    Events dated after the cutoff only warn (``eventos_after_cutoff='warn'``): a live source always
    has events after the first day of the month, and build_features never reads them (only events
    strictly before each request). They are counted in ``dq_results``.
    """
    from vigia.regulation import quality

    src = quality.gate_source(source, run.train_start, run.cutoff, eventos_after_cutoff="warn")
    src.record(warehouse, run.info("dq_gates"))
    src.raise_for_failure()
    features = pd.read_parquet(run.file("features.parquet"))
    if src.quarantined_ids:
        features = features[~features["id_guia"].isin(src.quarantined_ids)]
    training = quality.gate_training(features, run.cutoff)
    training.record(warehouse, run.info("dq_gates"))
    training.raise_for_failure()
    quarantined = pd.concat([src.quarantine_rows(run.run_id), training.quarantine_rows(run.run_id)],
                            ignore_index=True)
    quarantined.to_parquet(run.file("quarantine.parquet"), index=False)
    return {**split(run, training.clean), "quarantined": len(quarantined)}


def split(run: RetrainingRun, clean: pd.DataFrame) -> dict:
    """Training part (capped at ``max_rows``, stratified sample) and temporal holdout -> parquet."""
    when = pd.to_datetime(clean["data_solicitacao"])
    holdout = clean[when >= pd.Timestamp(run.holdout_start)]
    train = clean[when < pd.Timestamp(run.holdout_start)]
    available = len(train)
    if len(train) > run.max_rows:
        share = run.max_rows / len(train)
        train = (train.groupby(LABEL, group_keys=False)
                 .sample(frac=share, random_state=run.random_state).sort_values(["data_solicitacao", "id_guia"]))
    for name, part in (("train", train), ("holdout", holdout)):
        if part[LABEL].nunique() < 2:
            raise ValueError(f"regulation retraining: the {name} part [{run.train_start if name == 'train' else run.holdout_start}, "
                             f"{run.holdout_start if name == 'train' else run.cutoff}) holds {len(part)} guias of "
                             f"{part[LABEL].nunique()} class(es); both 'autorizado' and 'negado' are needed")
    train.to_parquet(run.file("train.parquet"), index=False)
    holdout.to_parquet(run.file("holdout.parquet"), index=False)
    data = {
        "train_start": run.train_start.isoformat(), "holdout_start": run.holdout_start.isoformat(),
        "cutoff": run.cutoff.isoformat(), "train_rows": len(train), "train_rows_available": available,
        "train_authorised": int((train[LABEL] == 1).sum()), "train_denied": int((train[LABEL] == 0).sum()),
        "train_share_authorised": float(train[LABEL].mean()), "holdout_rows": len(holdout),
        "holdout_share_authorised": float(holdout[LABEL].mean()),
    }
    run.file("data.json").write_text(json.dumps(data))
    return data


# --- candidates ---------------------------------------------------------------------------------
def train_candidate(run: RetrainingRun, model: str) -> dict:
    """CV in both protocols on the training part, fit on all of it, score the holdout; stage the results."""
    train = pd.read_parquet(run.file("train.parquet"))
    holdout = pd.read_parquet(run.file("holdout.parquet"))
    y = train[LABEL].astype(int)
    start = time.perf_counter()
    cv = cross_validate_models(train, y, [model], folds=run.folds, random_state=run.random_state)
    with threadpool_limits(limits=1):
        pipe = build_pipeline(make_model(model, run.random_state), random_state=run.random_state).fit(train, y)
        proba = pipe.predict_proba(holdout)[:, list(pipe.classes_).index(1)]
    held = scores(holdout[LABEL].astype(int), proba)
    (run.file(f"model_{model}.skops")).write_bytes(registry.dumps_model(pipe))
    result = {
        "model": model,
        "fold_scores": {p: cv.fold_scores[(p, model)] for p in PROTOCOLS},
        "rows": cv.rows,
        "cv": {r["protocol"]: {k: v for k, v in r.items() if k not in ("protocol", "model")}
               for r in cv.summary().to_dict("records")},
        "holdout": held,
        "features": feature_report(pipe),
        "seconds": time.perf_counter() - start,
    }
    run.file(f"candidate_{model}.json").write_text(json.dumps(result, default=_plain))
    log.info("candidate %s: CV kappa in_fold %.3f, paper %.3f; holdout kappa %.3f", model,
             result["cv"]["in_fold"]["kappa_mean"], result["cv"]["paper"]["kappa_mean"], held["kappa"])
    return {"model": model, "holdout_kappa": held["kappa"], "cv_kappa": result["cv"]["in_fold"]["kappa_mean"],
            "seconds": round(result["seconds"], 1)}


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return str(v)


def candidates(run: RetrainingRun) -> dict[str, dict]:
    out = {}
    for model in run.models:
        path = run.file(f"candidate_{model}.json")
        if not path.exists():
            raise FileNotFoundError(f"candidate {model}: {path} not found (did its training task run?)")
        out[model] = json.loads(path.read_text())
    return out


def significance(results: dict[str, dict], folds: int) -> dict:
    """The corrected t-tests across candidates, per protocol (the folds are paired: same splits)."""
    cv = CVResult(folds=folds, rows=next(iter(results.values()))["rows"])
    for model, r in results.items():
        for protocol, per_metric in r["fold_scores"].items():
            cv.fold_scores[(protocol, model)] = per_metric
    return cv.significance("kappa")


# --- decision -----------------------------------------------------------------------------------
def decide(run: RetrainingRun, dq_passed: bool = True, dq_message: str = "") -> dict:
    """Score the current champion on the holdout and decide the promotion -> decision.json."""
    results = candidates(run)
    holdout = pd.read_parquet(run.file("holdout.parquet"))
    champion_version = registry.champion_version(run.models_dir)
    champion_metrics, champion_error = None, None
    if champion_version is not None:
        try:
            champion = registry.load_champion(run.models_dir)
            champion_metrics = scores(holdout[LABEL].astype(int), champion.predict_proba_authorized(holdout))
        except Exception as exc:  # a champion trained on another schema must not block a retraining
            champion_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("champion %s could not score the holdout: %s", champion_version, champion_error)
    decision = promotion.decide({m: r["holdout"] for m, r in results.items()},
                                champion_version=champion_version, champion_metrics=champion_metrics,
                                margin=run.margin, dq_passed=dq_passed, dq_message=dq_message,
                                champion_error=champion_error)
    out = {**decision.as_dict(), "champion_metrics": champion_metrics,
           "significance": significance(results, run.folds)}
    run.file("decision.json").write_text(json.dumps(out, default=_plain))
    log.info("promotion: %s", decision.reason)
    return {"promoted": decision.promoted, "challenger": decision.challenger,
            "champion_before": champion_version, "reason": decision.reason}


# --- registry -----------------------------------------------------------------------------------
def register(run: RetrainingRun) -> dict:
    """Every candidate becomes a version with its model card; the promoted one becomes the champion."""
    results = candidates(run)
    decision = json.loads(run.file("decision.json").read_text())
    data = json.loads(run.file("data.json").read_text())
    data["quarantined"] = len(pd.read_parquet(run.file("quarantine.parquet"))) \
        if run.file("quarantine.parquet").exists() else 0
    outcomes = {o["model"]: o for o in decision["outcomes"]}
    versions = {}
    for model, r in results.items():
        version = run.version(model)
        card = model_card.build_card(
            version=version, model=model, run=run.describe(), data=data, features=r["features"], cv=r["cv"],
            significance=decision["significance"], holdout=r["holdout"], outcome=outcomes[model],
            champion_before=decision["champion_version"])
        pipe = registry.loads_model(run.file(f"model_{model}.skops").read_bytes(), f"staged model {model}")
        registry.save_version(run.models_dir, version, pipe, card, model_card.render_markdown(card))
        versions[model] = version
    promoted = decision["promoted"]
    if promoted:
        registry.set_champion(run.models_dir, versions[promoted])
    champion = registry.champion_version(run.models_dir)
    registry.append_history(run.models_dir, {
        "run_id": run.run_id, "cutoff": run.cutoff.isoformat(), "versions": versions,
        "promoted": versions.get(promoted) if promoted else None, "champion": champion,
        "champion_before": decision["champion_version"], "reason": decision["reason"],
        "outcomes": decision["outcomes"],
    })
    report = registry.write_report(run.models_dir, f"{run.cutoff:%Y%m%d}_{run.version('run').split('_')[-1]}.md",
                                   run_report(run, results, decision))
    summary = {"versions": versions, "champion": champion, "report": report,
               "promoted": versions.get(promoted) if promoted else None}
    run.file("registered.json").write_text(json.dumps(summary))
    return summary


def run_report(run: RetrainingRun, results: dict, decision: dict) -> str:
    """The run's comparison in the shape of the seed's Tables 3-5, the t-tests and the decision."""
    from vigia.regulation.evaluation import PROTOCOL_LABELS, markdown_tables

    rows = [{"protocol": p, "model": m, **cv} for m, r in results.items() for p, cv in r["cv"].items()]
    summary = pd.DataFrame(rows).sort_values(["protocol", "model"], key=lambda s: s.map(
        {**{p: i for i, p in enumerate(PROTOCOLS)}, **{m: i for i, m in enumerate(MODEL_NAMES)}}))
    lines = [f"# Retreino de {run.cutoff}: treino [{run.train_start}, {run.holdout_start}), "
             f"holdout [{run.holdout_start}, {run.cutoff})", "", f"Run `{run.run_id}`, {run.folds} folds.", "",
             markdown_tables(summary), "## Teste t corrigido (Nadeau-Bengio), kappa, 5%", ""]
    for protocol, sig in decision["significance"].items():
        lines.append(f"- {PROTOCOL_LABELS.get(protocol, protocol)}: melhor `{sig['best']}`")
        lines += [f"  - vs `{t['other']}`: {t['mean_difference']:+.4f}, p = {t['p_value']:.4f}"
                  f"{' (significativo)' if t['significant'] else ''}" for t in sig["tests"]]
    lines += ["", "## Holdout e promoção", "", "| Modelo | Kappa no holdout | Promovido | Motivo |", "|---|---|---|---|"]
    lines += [f"| {o['model']} | {o['holdout_kappa']:.4f} | {'sim' if o['promoted'] else 'não'} | {o['reason']} |"
              for o in decision["outcomes"]]
    if decision.get("champion_version"):
        k = (decision.get("champion_metrics") or {}).get("kappa")
        lines.append(f"\nCampeão anterior `{decision['champion_version']}`: kappa no holdout "
                     f"{'-' if k is None else f'{k:.4f}'}.")
    return "\n".join(lines) + "\n"


# --- warehouse ----------------------------------------------------------------------------------
RUN_COLUMNS = ["cutoff", "run_id", "model_version", "model_name", "protocol", "train_start", "holdout_start",
               "train_rows", "holdout_rows", "folds"] + \
              [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + \
              ["kappa_band", "significantly_worse_than_best", "p_value_vs_best"] + \
              [f"holdout_{m}" for m in METRICS] + ["promoted", "is_champion", "reason"]


def run_rows(run: RetrainingRun) -> pd.DataFrame:
    """One row per candidate and protocol: CV means/stds, the t-test against the protocol's best,
    holdout metrics (the same on both rows of a model), promoted and the reason."""
    results = candidates(run)
    decision = json.loads(run.file("decision.json").read_text())
    data = json.loads(run.file("data.json").read_text())
    registered = json.loads(run.file("registered.json").read_text())
    outcomes = {o["model"]: o for o in decision["outcomes"]}
    rows = []
    for model, r in results.items():
        for protocol, cv in r["cv"].items():
            sig = decision["significance"].get(protocol, {})
            test = next((t for t in sig.get("tests", []) if t["other"] == model), None)
            row = {"cutoff": run.cutoff, "run_id": run.run_id, "model_version": registered["versions"][model],
                   "model_name": model, "protocol": protocol, "train_start": run.train_start,
                   "holdout_start": run.holdout_start, "train_rows": data["train_rows"],
                   "holdout_rows": data["holdout_rows"], "folds": run.folds}
            row.update({f"{m}_{s}": cv[f"{m}_{s}"] for m in METRICS for s in ("mean", "std")})
            row["kappa_band"] = kappa_band(cv["kappa_mean"])["landis_koch"]
            row["significantly_worse_than_best"] = bool(test["significant"]) if test else False
            row["p_value_vs_best"] = test["p_value"] if test else None
            row.update({f"holdout_{m}": r["holdout"][m] for m in METRICS})
            row["promoted"] = bool(outcomes[model]["promoted"])
            row["is_champion"] = registered["champion"] == registered["versions"][model]
            row["reason"] = outcomes[model]["reason"]
            rows.append(row)
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def publish(run: RetrainingRun, warehouse) -> dict:
    """Replace the cutoff's partition of regulation_model_runs and the run's quarantine, in one transaction."""
    from vigia.warehouse import PartitionWrite

    rows = run_rows(run)
    writes = [PartitionWrite(TABLE, {"cutoff": run.cutoff}, rows)]
    if run.file("quarantine.parquet").exists():
        q = pd.read_parquet(run.file("quarantine.parquet"))
        writes.append(PartitionWrite("dq_quarantine", {"dag_id": run.dag_id, "partition_key": run.partition_key},
                                     q[["run_id", "suite", "dq_reason", "row_json"]]))
    return warehouse.replace_partitions(writes)


# --- regulator-readable export ------------------------------------------------------------------
def export_tree(run: RetrainingRun) -> dict:
    """The champion tree's rules next to its model card; if the champion is not a tree, this run's
    decision-tree candidate's rules, marked as such (a readable view, not the model in use)."""
    registered = json.loads(run.file("registered.json").read_text())
    champion = registered["champion"]
    card = registry.load_card(run.models_dir, champion) if champion else {}
    if card.get("model") == TREE:
        version, note = champion, f"Regras do campeão {champion} (árvore de decisão)."
    elif TREE in registered["versions"]:
        version = registered["versions"][TREE]
        note = (f"O campeão ({champion or 'nenhum'}) não é uma árvore de decisão: estas são as regras da árvore "
                f"candidata {version} desta execução, para leitura; as decisões usam o campeão.")
    else:
        return {"exported": None, "reason": "nenhuma árvore de decisão entre os candidatos nem como campeão"}
    pipe = registry.load_model(run.models_dir, version)
    train = pd.read_parquet(run.file("train.parquet"))
    with threadpool_limits(limits=1):
        rules = tree_export.extract_rules(pipe, train, train[LABEL].astype(int))
    note += (f" Suporte e precisão medidos nas {len(train)} guias de treino "
             f"[{run.train_start}, {run.holdout_start}), sem sobreamostragem.")
    md = registry.write_file(run.models_dir, version, "regras.md",
                             tree_export.rules_markdown(rules, f"Regras da árvore {version}", note))
    registry.write_file(run.models_dir, version, "regras.json", tree_export.rules_json(rules))
    missing, fills = tree_to_rules.missing_context(pipe, train)
    registry.write_file(run.models_dir, version, "regras_ymir.yaml",
                        tree_to_rules.render_ymir(rules, version, run.train_start, missing, fills))
    return {"exported": version, "rules": len(rules), "path": md}

