"""Metrics, kappa bands, the corrected t-test (hand-computed) and the two CV protocols."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.unit.regulation_frames import synthetic_frame
from vigia.regulation.evaluation import (cross_validate_models, kappa_band, markdown_tables, scores)
from vigia.regulation.significance import compare_best, corrected_t


def test_scores_by_hand_with_denial_as_positive_class():
    y = [0, 0, 0, 1, 1, 1, 1, 1]
    proba = [0.1, 0.2, 0.9, 0.8, 0.7, 0.6, 0.3, 0.9]          # predicted: 0 0 1 1 1 1 0 1
    s = scores(y, proba)
    # VP (negado right) 2, FN 1 (negado predicted autorizado), FP 1, VN 4
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["accuracy"] == pytest.approx(6 / 8)
    assert s["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    expected = (3 / 8) * (3 / 8) + (5 / 8) * (5 / 8)             # chance agreement from the margins
    assert s["kappa"] == pytest.approx((6 / 8 - expected) / (1 - expected))   # 0.4667
    # AUC: of the 15 (negado, autorizado) pairs, those where the autorizado gets the higher P(autorizado)
    # (0.1 and 0.2 lose to all 5; 0.9 ties one (1/2) and beats four): 10.5 / 15
    assert s["roc_auc"] == pytest.approx(10.5 / 15)


@pytest.mark.parametrize("kappa,en,pt,seed", [
    (-0.1, "poor", "pobre", "Ruim"), (0.10, "slight", "leve", "Ruim"), (0.20, "slight", "leve", "Ruim"),
    (0.30, "fair", "razoável", "Razoável"), (0.45, "moderate", "moderada", "Bom"),
    (0.73, "substantial", "substancial", "Muito boa"), (0.82, "almost perfect", "quase perfeita", "Excelente"),
])
def test_landis_koch_bands(kappa, en, pt, seed):
    assert kappa_band(kappa) == {"landis_koch": en, "landis_koch_pt": pt, "qualidade_artigo": seed}


def test_corrected_resampled_t_test_by_hand():
    a = np.array([0.82, 0.84, 0.81, 0.83, 0.85, 0.82, 0.83, 0.84, 0.81, 0.85])
    b = a - np.array([0.02, 0.04, 0.01, 0.03, 0.05, 0.02, 0.03, 0.04, 0.01, 0.05])
    # d_bar = 0.03; sum of squared deviations = 20e-4 -> s2 = 20e-4 / 9
    # t = 0.03 / sqrt((1/10 + 100/900) * s2) = 0.03 / 0.0068494 = 4.3800
    mean, t, p = corrected_t(a, b, n_train=900, n_test=100)
    assert mean == pytest.approx(0.03)
    assert t == pytest.approx(0.03 / math.sqrt((0.1 + 1 / 9) * 20e-4 / 9))
    assert t == pytest.approx(4.3800, abs=1e-4)
    assert p == pytest.approx(2 * stats.t.sf(4.3800, 9), rel=1e-3) and 0.001 < p < 0.01
    naive_t = 0.03 / math.sqrt(0.1 * 20e-4 / 9)                  # 6.364: the uncorrected test is overconfident
    assert t < naive_t
    # a small difference with the same spread is not significant once corrected
    _, t_small, p_small = corrected_t(b + 0.005 + (a - b - 0.03), b, 900, 100)
    assert p_small > 0.05


def test_compare_best_names_the_best_and_tests_the_rest():
    folds = {"arvore": [0.82, 0.84, 0.83, 0.85, 0.82], "nb": [0.60, 0.62, 0.58, 0.61, 0.59],
             "mlp": [0.80, 0.81, 0.82, 0.84, 0.81]}
    best, tests = compare_best(folds, n_train=400, n_test=100)
    assert best == "arvore"
    by_other = {t.other: t for t in tests}
    assert by_other["nb"].significant and not by_other["mlp"].significant
    # arvore - mlp: d = .02 .03 .01 .01 .01, mean .016, s2 = 80e-6; t = .016 / sqrt((1/5 + 100/400) * 80e-6) = 2.667
    assert by_other["mlp"].t == pytest.approx(0.016 / math.sqrt(0.45 * 80e-6))
    assert by_other["mlp"].p_value == pytest.approx(2 * stats.t.sf(by_other["mlp"].t, 4)) and by_other["mlp"].p_value > 0.05
    assert "significativamente melhor" in by_other["nb"].sentence()


def imbalanced(n=5000, seed=1, share=0.8):
    df = synthetic_frame(n, seed=seed, noise=0.08)
    pos, neg = df[df.autorizado == 1], df[df.autorizado == 0]
    neg = neg.sample(n=int(len(pos) * (1 - share) / share), random_state=0)
    return pd.concat([pos, neg]).sort_values("data_solicitacao", ignore_index=True)


def test_paper_protocol_is_optimistic_on_imbalanced_data():
    df = imbalanced()
    assert df["autorizado"].mean() == pytest.approx(0.8, abs=0.01)
    cv = cross_validate_models(df, df["autorizado"], ["decision_tree", "naive_bayes"], folds=5)
    assert cv.rows["in_fold"] == len(df)
    assert cv.rows["paper"] == 2 * int((df["autorizado"] == 1).sum())     # replicated before the split
    s = cv.summary().set_index(["protocol", "model"])
    for model in ("decision_tree", "naive_bayes"):
        honest, paper = s.loc[("in_fold", model)], s.loc[("paper", model)]
        assert paper["precision_mean"] > honest["precision_mean"] + 0.05, model
        assert paper["f1_mean"] > honest["f1_mean"], model
    assert s.loc[("paper", "decision_tree"), "kappa_mean"] > s.loc[("in_fold", "decision_tree"), "kappa_mean"]
    sig = cv.significance()
    for protocol in ("in_fold", "paper"):
        (test,) = sig[protocol]["tests"]
        assert {test["better"], test["other"]} == {"decision_tree", "naive_bayes"}
        assert test["better"] == sig[protocol]["best"]
    tables = markdown_tables(cv.summary())
    assert tables.count("| Protocolo | Modelo |") == 3
    for title in ("Tabela 3 - Precisão e Recall", "Tabela 4 - Acurácia e F-Measure", "Tabela 5 - AUC e índice Kappa"):
        assert title in tables
    assert "Replicado antes do CV (protocolo do artigo)" in tables and "**" in tables


def test_unknown_protocol_is_refused():
    df = synthetic_frame(200)
    with pytest.raises(ValueError, match="unknown protocol 'smote'"):
        cross_validate_models(df, df["autorizado"], ["naive_bayes"], protocols=("smote",), folds=3)
