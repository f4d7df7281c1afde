"""Champion / challenger: the promotion rule and its reasons."""

from __future__ import annotations

import pytest

from vigia.regulation.promotion import decide

HOLDOUT = {"decision_tree": {"kappa": 0.80}, "naive_bayes": {"kappa": 0.55}, "mlp": {"kappa": 0.78}}


def test_first_model_without_champion_is_promoted():
    d = decide(HOLDOUT, champion_version=None, champion_metrics=None)
    assert d.promoted == "decision_tree" and d.challenger == "decision_tree"
    assert d.reason.startswith("promovido: primeiro modelo")
    assert d.outcome("mlp").promoted is False
    assert d.outcome("mlp").reason == "não promovido: decision_tree teve kappa maior no holdout (0.8000 contra 0.7800)"


def test_better_challenger_is_promoted():
    d = decide(HOLDOUT, champion_version="v1", champion_metrics={"kappa": 0.70}, margin=0.05)
    assert d.promoted == "decision_tree"
    assert d.reason == ("promovido: kappa no holdout 0.8000 supera o do campeão v1 (0.7000) "
                        "por mais que a margem 0.0500")


def test_worse_challenger_is_not_promoted_and_the_champion_stays():
    d = decide(HOLDOUT, champion_version="v1", champion_metrics={"kappa": 0.85}, margin=0.01)
    assert d.promoted is None
    assert all(not o.promoted for o in d.outcomes)
    assert "o campeão continua" in d.reason and "0.8500" in d.reason


def test_better_but_within_the_margin_is_not_promoted():
    d = decide(HOLDOUT, champion_version="v1", champion_metrics={"kappa": 0.78}, margin=0.02)
    assert d.promoted is None                                   # 0.80 - 0.78 = 0.02, not more than the margin
    d = decide(HOLDOUT, champion_version="v1", champion_metrics={"kappa": 0.78}, margin=0.019)
    assert d.promoted == "decision_tree"


def test_failed_dq_is_never_promoted():
    for champion in (None, "v1"):
        d = decide(HOLDOUT, champion_version=champion, champion_metrics={"kappa": 0.1} if champion else None,
                   dq_passed=False, dq_message="regulation_training: column decisao")
        assert d.promoted is None
        assert all(o.reason.startswith("não promovido: os gates de qualidade falharam (regulation_training")
                   for o in d.outcomes)


def test_champion_that_cannot_score_the_holdout_is_replaced_with_the_reason():
    d = decide(HOLDOUT, champion_version="v1", champion_metrics=None, champion_error="KeyError: 'grupo'")
    assert d.promoted == "decision_tree" and "KeyError: 'grupo'" in d.reason


def test_ties_and_bad_margin():
    d = decide({"mlp": {"kappa": 0.7}, "decision_tree": {"kappa": 0.7}}, champion_version=None,
               champion_metrics=None)
    assert d.challenger == "decision_tree"                      # ties: the name that sorts first
    with pytest.raises(ValueError, match="margin must be >= 0"):
        decide(HOLDOUT, champion_version=None, champion_metrics=None, margin=-0.1)
    assert d.as_dict()["reason"] == d.reason
