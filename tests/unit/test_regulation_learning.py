"""The pipeline learns the generator's hidden policy; the retraining steps promote and keep champions.

Floors derived from the generator's documented noise: LABEL_NOISE_RATE (5%) of the labels are
flipped, and about REVIEW_SHARE_APPROX (5%) of the guias are decided by their attachment text, which
the features do not carry (a model guesses those: half wrong). So the best reachable accuracy is
about 1 - 0.05 - 0.05 / 2 = 0.925; the floor allows SLACK for a small sample and a pruned tree.
The kappa floor is the kappa of a classifier at the accuracy floor whose predicted class shares
match the real ones: (acc - pe) / (1 - pe) with pe = p^2 + (1 - p)^2.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from vigia.connections import ConnectionSpec
from vigia.regulation import registry, training
from vigia.regulation.evaluation import scores
from vigia.regulation.models import make_model
from vigia.regulation.preprocessing import build_pipeline
from vigia.sample_data import regulation as sample

SLACK = 0.03
END = date(2026, 11, 15)
CUTOFF = date(2026, 11, 1)
HOLDOUT_START = date(2026, 10, 1)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regulation_source")
    out = folder / "regulation.duckdb"
    sample.generate(out, beneficiaries=2000, requests=12000, end=END, seed=11)
    spec = ConnectionSpec.from_uri("regulation_source", f"duckdb:///{out.as_posix().lstrip('/')}")
    return spec, out


@pytest.fixture(scope="module")
def features(source, tmp_path_factory):
    import os

    os.environ.setdefault("VIGIA_PSEUDONYM_KEY", "chave-de-teste-da-regulacao")
    from vigia.regulation.features import build_features

    frame = build_features(source[0], date(2025, 11, 1), CUTOFF)
    truth = pd.read_parquet(sample.truth_path(source[1]))
    return frame.merge(truth[["id_guia", "decisao_politica"]], on="id_guia", how="left")


def floors(y) -> tuple[float, float]:
    acc = 1 - sample.LABEL_NOISE_RATE - sample.REVIEW_SHARE_APPROX / 2 - SLACK
    p = float(np.mean(y))
    pe = p * p + (1 - p) * (1 - p)
    return acc, (acc - pe) / (1 - pe)


@pytest.mark.parametrize("model", ["decision_tree", "gradient_boosting"])
def test_the_pipeline_learns_the_generated_policy_on_the_temporal_holdout(features, model):
    when = pd.to_datetime(features["data_solicitacao"])
    train = features[when < pd.Timestamp(HOLDOUT_START)]
    holdout = features[when >= pd.Timestamp(HOLDOUT_START)]
    assert len(train) > 8000 and len(holdout) > 700
    pipe = build_pipeline(make_model(model)).fit(train, train["autorizado"])
    proba = pipe.predict_proba(holdout)[:, list(pipe.classes_).index(1)]
    s = scores(holdout["autorizado"], proba)
    acc_floor, kappa_floor = floors(holdout["autorizado"])
    assert acc_floor == pytest.approx(0.895)
    assert s["accuracy"] >= acc_floor, s
    assert s["kappa"] >= kappa_floor, (s, kappa_floor)
    # it learned the policy, not the noise: it agrees more with the noise-free decisions than with the labels
    policy = (holdout["decisao_politica"] == "autorizado").astype(int)
    against_policy = float(((proba >= 0.5).astype(int) == policy).mean())
    assert against_policy > s["accuracy"]


def test_retraining_steps_promote_then_keep_the_champion(source, warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIA_PSEUDONYM_KEY", "chave-de-teste-da-regulacao")
    spec = source[0]
    models_dir = str(tmp_path / "models")

    def run_all(run):
        training.extract(run, spec)
        training.gate(run, spec, warehouse)
        for m in run.models:
            training.train_candidate(run, m)
        decision = training.decide(run)
        registered = training.register(run)
        training.publish(run, warehouse)
        return decision, registered, training.export_tree(run)

    first = training.RetrainingRun(run_id="primeiro", cutoff=CUTOFF, folds=3, models_dir=models_dir,
                                   models=("decision_tree", "naive_bayes"))
    decision, registered, exported = run_all(first)
    assert decision["promoted"] == "decision_tree" and decision["champion_before"] is None
    assert registered["champion"] == first.version("decision_tree")
    champion = registry.load_champion(models_dir)
    assert champion.version == first.version("decision_tree")
    assert exported["exported"] == champion.version and exported["rules"] > 3
    rules = (tmp_path / "models" / "versions" / champion.version / "regras.md").read_text()
    assert "ENTÃO negado (suporte" in rules
    rows = warehouse.query("SELECT model_name, protocol, promoted, is_champion, reason FROM regulation_model_runs "
                           "WHERE cutoff = :c ORDER BY model_name, protocol", {"c": CUTOFF})
    assert rows[["model_name", "protocol"]].values.tolist() == [
        ["decision_tree", "in_fold"], ["decision_tree", "paper"], ["naive_bayes", "in_fold"], ["naive_bayes", "paper"]]
    assert rows["promoted"].tolist() == [True, True, False, False]
    assert rows["reason"].iloc[0].startswith("promovido: primeiro modelo")

    # a second run whose only candidate is worse than the champion: not promoted, champion stays, reason kept
    second = training.RetrainingRun(run_id="segundo", cutoff=CUTOFF, folds=3, models_dir=models_dir,
                                    models=("naive_bayes",), margin=0.0)
    decision, registered, exported = run_all(second)
    assert decision["promoted"] is None and decision["champion_before"] == first.version("decision_tree")
    assert registry.load_champion(models_dir).version == first.version("decision_tree")
    assert "o campeão continua" in decision["reason"]
    assert exported["exported"] == first.version("decision_tree")     # the champion is still a tree
    rows = warehouse.query("SELECT run_id, model_name, promoted, is_champion, reason FROM regulation_model_runs "
                           "WHERE cutoff = :c", {"c": CUTOFF})
    assert rows.values.tolist()[0][:4] == ["segundo", "naive_bayes", False, False]     # partition replaced
    assert len(rows) == 2
    history = registry.history(models_dir)
    assert [h["run_id"] for h in history] == ["primeiro", "segundo"]
    assert history[1]["promoted"] is None and history[1]["champion"] == first.version("decision_tree")


def test_run_parameters_are_checked():
    with pytest.raises(ValueError, match="not valid; choose from"):
        training.RetrainingRun(run_id="x", cutoff=CUTOFF, models=("svm",))
    with pytest.raises(ValueError, match="leaves nothing to train on"):
        training.RetrainingRun(run_id="x", cutoff=CUTOFF, window_months=1)
    run = training.RetrainingRun(run_id="x", cutoff=CUTOFF, window_months=6)
    assert (run.train_start, run.holdout_start) == (date(2026, 5, 1), date(2026, 10, 1))
