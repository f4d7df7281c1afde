"""Gain ratio (hand-computed), the preprocessing transformers and the Pipeline's oversampling."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from tests.unit.regulation_frames import synthetic_frame
from vigia.regulation.gain_ratio import (GainRatioSelector, categorical_gain_ratio, entropy, gain_ratios,
                                         numeric_gain_ratio)
from vigia.regulation.models import make_model
from vigia.regulation.preprocessing import (DropUninformative, RegulatoryAttributes, build_pipeline,
                                            feature_report, replicate_minority)


def h(*p):
    return -sum(x * math.log2(x) for x in p if x > 0)


def test_entropy_of_counts():
    assert entropy([3, 3]) == pytest.approx(1.0)
    assert entropy([4, 0]) == 0.0
    assert entropy([1, 2]) == pytest.approx(h(1 / 3, 2 / 3))


def test_categorical_gain_ratio_by_hand():
    # a: [1, 1] pure; b: [0, 0, 1]; c: [0] pure; classes 3/3 -> H = 1 bit
    x = ["a", "a", "b", "b", "b", "c"]
    y = [1, 1, 0, 0, 1, 0]
    gain = 1.0 - 3 / 6 * h(1 / 3, 2 / 3)                    # 0.54085
    split = h(2 / 6, 3 / 6, 1 / 6)                           # 1.45915
    r = categorical_gain_ratio(x, y)
    assert r["gain"] == pytest.approx(gain)
    assert r["split_info"] == pytest.approx(split)
    assert r["gain_ratio"] == pytest.approx(gain / split) and r["gain_ratio"] == pytest.approx(0.37067, abs=1e-5)


def test_numeric_gain_ratio_best_binary_threshold_with_and_without_mdl():
    x, y = [1, 2, 3, 4], [0, 0, 1, 1]
    plain = numeric_gain_ratio(x, y, mdl_correction=False)
    assert plain["threshold"] == 2.5
    assert plain["gain"] == pytest.approx(1.0) and plain["split_info"] == pytest.approx(1.0)
    assert plain["gain_ratio"] == pytest.approx(1.0)
    mdl = numeric_gain_ratio(x, y)                           # C4.5 R8: gain - log2(N - 1) / |D|, N = 4 values
    assert mdl["gain"] == pytest.approx(1.0 - math.log2(3) / 4)
    assert mdl["gain_ratio"] == pytest.approx(1.0 - math.log2(3) / 4)


def test_missing_values_as_c45_treats_them():
    # known: 4 cases, perfectly split (gain 1 bit); F = 4/6; split info counts the unknown as a branch
    x = [1, 2, 3, 4, None, None]
    y = [0, 0, 1, 1, 0, 1]
    r = numeric_gain_ratio(x, y, mdl_correction=False)
    assert r["gain"] == pytest.approx(4 / 6)
    assert r["split_info"] == pytest.approx(math.log2(3))
    assert r["gain_ratio"] == pytest.approx((4 / 6) / math.log2(3))
    c = categorical_gain_ratio(["a", "a", "b", "b", None, None], y)
    assert c["gain_ratio"] == pytest.approx((4 / 6) / math.log2(3))


def test_useless_numeric_attribute_has_zero_gain_ratio_and_is_dropped():
    frame = pd.DataFrame({"useful": [1, 2, 3, 4, 5, 6, 7, 8], "noise": [1, 2, 1, 2, 1, 2, 1, 2],
                          "grupo": ["x", "x", "x", "x", "y", "y", "y", "y"]})
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    assert numeric_gain_ratio(frame["noise"], y)["gain_ratio"] == 0.0
    sel = GainRatioSelector().fit(frame, y)
    assert sel.selected_ == ["useful", "grupo"] and sel.dropped_ == ["noise"]
    assert list(sel.transform(frame).columns) == ["useful", "grupo"]
    assert list(sel.get_feature_names_out()) == ["useful", "grupo"]
    table = sel.table()
    assert table.loc[table["feature"] == "grupo", "gain_ratio"].item() == pytest.approx(1.0)
    assert table.loc[table["feature"] == "noise", "selected"].item() == np.False_
    assert set(gain_ratios(frame, y)["kind"]) == {"numeric", "categorical"}


def test_selector_needs_labels():
    with pytest.raises(ValueError, match="needs the class labels"):
        GainRatioSelector().fit(pd.DataFrame({"a": [1, 2]}))


def test_drop_uninformative_keeps_a_value_or_null_column():
    frame = pd.DataFrame({"vazia": [None, None, None], "fixa": [1, 1, 1], "sexo_permitido": ["F", None, None],
                          "idade": [1, 2, 3]})
    drop = DropUninformative().fit(frame)
    assert drop.kept_ == ["sexo_permitido", "idade"]
    assert drop.dropped_ == {"vazia": "todos os valores nulos", "fixa": "constante (1)"}


def test_regulatory_attributes_month_and_flags_by_hand():
    frame = synthetic_frame(6).iloc[:3].copy()
    frame["data_solicitacao"] = [datetime(2026, 3, 5), datetime(2026, 7, 1), datetime(2026, 12, 31)]
    frame["dias_desde_mesmo_procedimento"] = [10.0, 40.0, np.nan]
    frame["periodicidade_dias"] = [30, 30, 30]
    frame["idade"], frame["idade_minima"], frame["idade_maxima"] = [5, 20, 70], [6.0, np.nan, 12.0], [18.0, np.nan, 55.0]
    frame["sexo"], frame["sexo_permitido"] = ["M", "F", "F"], ["F", None, "F"]
    frame["dias_de_adesao"], frame["carencia_dias"] = [10, 400, 179], [180, 180, 180]
    frame["especial"] = [True, False, True]
    out = RegulatoryAttributes().fit(frame).transform(frame)
    assert out["mes_solicitacao"].tolist() == [3.0, 7.0, 12.0]
    assert out["fora_da_periodicidade"].tolist() == [1.0, 0.0, 0.0]   # 10 < 30; 40 >= 30; never done
    assert out["fora_da_faixa_etaria"].tolist() == [1.0, 0.0, 1.0]    # 5 < 6; no limits; 70 > 55
    assert out["sexo_nao_permitido"].tolist() == [1.0, 0.0, 0.0]
    assert out["em_carencia"].tolist() == [1.0, 0.0, 1.0]
    assert out["especial"].tolist() == ["sim", "não", "sim"]


def test_missing_feature_column_is_named():
    frame = synthetic_frame(20).drop(columns=["guias_ano"])
    with pytest.raises(ValueError, match=r"missing feature column\(s\) \['guias_ano'\]"):
        RegulatoryAttributes().fit(frame)


def test_pipeline_report_and_oversampling_only_in_fit():
    frame = synthetic_frame(600, seed=2)
    y = frame["autorizado"]
    pipe = build_pipeline(make_model("decision_tree")).fit(frame, y)
    report = feature_report(pipe)
    assert report["dropped_uninformative"] == {"ordem": "constante (1.0)", "pericia_inicial": "constante ('não')"}
    assert "fora_da_periodicidade" in report["kept"]
    assert {g["feature"] for g in report["gain_ratios"]} >= {"idade", "mes_solicitacao", "em_carencia"}
    names = pipe.named_steps["codificacao"].get_feature_names_out()
    assert report["encoded_features"] == len(names) and "num__fora_da_periodicidade" in names
    assert any(n.startswith("cat__grupo_") for n in names)
    # the sampler changes what the model is fitted on, never what it predicts
    assert pipe.steps[-1][1].tree_.n_node_samples[0] == 2 * max((y == 1).sum(), (y == 0).sum())
    assert len(pipe.predict(frame)) == len(frame)


def test_replicate_minority_balances_before_any_split():
    frame = pd.DataFrame({"a": range(10)})
    y = pd.Series([1] * 8 + [0] * 2)
    X2, y2 = replicate_minority(frame, y)
    assert len(X2) == 16 and (y2 == 0).sum() == 8 and (y2 == 1).sum() == 8
    assert set(X2.loc[y2 == 0, "a"]) == {8, 9}                   # copies of the two minority rows
