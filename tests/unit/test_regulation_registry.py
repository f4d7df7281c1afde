"""The registry: versions, model cards, the champion pointer, safe loading, object storage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.unit.regulation_frames import synthetic_frame
from vigia.regulation import model_card, registry
from vigia.regulation.models import make_model
from vigia.regulation.preprocessing import build_pipeline


@pytest.fixture(scope="module")
def fitted():
    frame = synthetic_frame(400, seed=4)
    return frame, build_pipeline(make_model("decision_tree")).fit(frame, frame["autorizado"])


def card(version="v1"):
    c = model_card.build_card(
        version=version, model="decision_tree", run={"run_id": "r1", "folds": 10},
        data={"train_start": "2025-11-01", "holdout_start": "2026-10-01", "cutoff": "2026-11-01",
              "train_rows": 100, "train_rows_available": 100, "train_authorised": 70, "train_denied": 30,
              "train_share_authorised": 0.7, "holdout_rows": 10, "holdout_share_authorised": 0.6},
        features={"dropped_uninformative": {"ordem": "constante (1)"}, "dropped_zero_gain_ratio": ["idade"],
                  "gain_ratios": [{"feature": "em_carencia", "kind": "numeric", "gain": 0.1, "split_info": 0.5,
                                   "gain_ratio": 0.2, "threshold": 0.5, "selected": True}], "encoded_features": 3},
        cv={p: {f"{m}_{s}": 0.5 for m in ("precision", "recall", "accuracy", "f1", "roc_auc", "kappa")
                for s in ("mean", "std")} for p in ("in_fold", "paper")},
        significance={"in_fold": {"best": "decision_tree", "tests": []}},
        holdout={"precision": 0.9, "recall": 0.8, "accuracy": 0.85, "f1": 0.85, "roc_auc": 0.9, "kappa": 0.7},
        outcome={"model": "decision_tree", "promoted": True, "reason": "promovido: primeiro modelo"},
        champion_before=None)
    return c, model_card.render_markdown(c)


def test_no_champion_yet(tmp_path):
    assert registry.load_champion(tmp_path / "vazio") is None
    assert registry.versions(tmp_path / "vazio") == []


def test_round_trip_and_load_champion(tmp_path, fitted):
    frame, pipe = fitted
    c, md = card()
    registry.save_version(tmp_path, "v1", pipe, c, md)
    registry.set_champion(tmp_path, "v1")
    assert (tmp_path / "champion").read_text() == "v1\n"
    champion = registry.load_champion(tmp_path)
    assert champion.version == "v1" and champion.model_name == "decision_tree"
    expected = pipe.predict_proba(frame)[:, list(pipe.classes_).index(1)]
    got = champion.predict_proba_authorized(frame.assign(coluna_extra=1))   # extra columns are ignored
    np.testing.assert_allclose(got, expected)
    assert got.shape == (len(frame),) and ((got >= 0) & (got <= 1)).all()
    saved = json.loads((tmp_path / "versions" / "v1" / "model_card.json").read_text())
    assert saved["holdout"]["landis_koch"] == "substantial" and saved["git_commit"]
    assert saved["libraries"]["scikit-learn"] and saved["libraries"]["skops"]
    text = (tmp_path / "versions" / "v1" / "model_card.md").read_text()
    assert "# Model card: v1" in text and "| em_carencia | numeric | 0.2000 |" in text
    assert "Descartados por razão de ganho nula: idade" in text


def test_models_dir_from_environment(tmp_path, fitted, monkeypatch):
    monkeypatch.setenv("VIGIA_MODELS_DIR", str(tmp_path / "env"))
    c, md = card("v2")
    registry.save_version(None, "v2", fitted[1], c, md)
    registry.set_champion(None, "v2")
    assert (tmp_path / "env" / "champion").exists()
    assert registry.load_champion().version == "v2"


def test_champion_pointer_needs_a_saved_model(tmp_path):
    with pytest.raises(registry.RegistryError, match="has no model.skops"):
        registry.set_champion(tmp_path, "nao_existe")


class Intruso:  # a type outside the allow-list
    pass


def test_untrusted_types_are_refused(tmp_path):
    data = registry.dumps_model({"x": Intruso()})
    with pytest.raises(registry.RegistryError, match=r"untrusted type\(s\) \['tests.unit.test_regulation_registry.Intruso'\]"):
        registry.loads_model(data, "arquivo.skops")


def test_functions_are_refused_even_from_trusted_modules():
    # skops calls what a file names while loading: an allow-list by module prefix ("builtins.", "numpy.")
    # would let a crafted model.skops run eval or exec on a worker
    data = registry.dumps_model({"f": eval, "g": np.save})
    with pytest.raises(registry.RegistryError, match=r"\['builtins.eval', 'numpy.save'\]"):
        registry.loads_model(data, "arquivo.skops")


@pytest.mark.parametrize("oversample", [True, False])
def test_every_candidate_pipeline_loads(oversample):
    # TRUSTED_TYPES must cover what every candidate is made of, or a retrained champion could not be loaded
    from vigia.regulation.models import MODEL_NAMES

    frame = synthetic_frame(300, seed=5)
    for name in MODEL_NAMES:
        pipe = build_pipeline(make_model(name), oversample=oversample).fit(frame, frame["autorizado"])
        loaded = registry.loads_model(registry.dumps_model(pipe), name)
        np.testing.assert_array_equal(loaded.predict(frame), pipe.predict(frame))


def test_object_storage_url(fitted):
    root = "memory://vigia-test-registry/regulation"
    c, md = card("v3")
    registry.save_version(root, "v3", fitted[1], c, md)
    registry.set_champion(root, "v3")
    registry.append_history(root, {"run_id": "a", "promoted": "v3"})
    registry.append_history(root, {"run_id": "b", "promoted": None})
    assert registry.load_champion(root).version == "v3"
    assert [h["run_id"] for h in registry.history(root)] == ["a", "b"]
    assert registry.versions(root) == ["v3"]
