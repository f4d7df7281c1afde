"""SUS scoring core (InfoSAS) checked against hand-computed values; the arithmetic is in the comments."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from vigia.sus import scores
from vigia.sus.scores import (
    attribute_to_establishments,
    benign_flags,
    empirical_bayes_rates,
    excess_count,
    lognormal_cutoff,
    municipal_excess,
    municipal_rate_scores,
    oscillation,
    provider_ranking,
    share_excess,
    value_per_admission,
)


def month(i: int) -> date:
    """month(0) = 2023-01-01, month(12) = 2024-01-01."""
    return date(2023 + i // 12, i % 12 + 1, 1)


def value_of(df, **where):
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, sel
    return sel.iloc[0]


# ----------------------------------------------------------------------------- oscillation

# Establishment A, target X, Jan/2023 .. Jan/2024 (13 months, all covered).
# Quantities 10, 20, <no row in Mar = 0>, 40, 50, ..., 120 and 199 in Jan/2024; valor = 2 x quantidade.
A_QTY = {0: 10, 1: 20, 3: 40, 4: 50, 5: 60, 6: 70, 7: 80, 8: 90, 9: 100, 10: 110, 11: 120, 12: 199}


def osc_cube():
    rows = [dict(cnes="A", alvo="X", competencia=month(i), quantidade=float(q), valor=2.0 * q)
            for i, q in A_QTY.items()]
    rows.append(dict(cnes="B", alvo="X", competencia=month(12), quantidade=5.0, valor=5.0))
    return pd.DataFrame(rows)


COVERED = [month(i) for i in range(13)]


def test_oscillation_on_a_13_month_series():
    out = oscillation(osc_cube(), COVERED)
    assert list(out.columns) == ["cnes", "alvo", "competencia", "score", "value", "reason"]
    assert len(out) == 13 * 4  # 12 rows of A + 1 row of B, 4 scores each
    # score order inside one row: m12 quantidade, m12 valor, m6 quantidade, m6 valor
    jan24 = out[(out["cnes"] == "A") & (out["competencia"] == month(12))]
    assert list(jan24["score"]) == ["oscilacao_quantidade_m12", "oscilacao_valor_m12",
                                    "oscilacao_quantidade_m6", "oscilacao_valor_m6"]
    assert jan24["reason"].isna().all()
    v = dict(zip(jan24["score"], jan24["value"]))
    # m12: previous 12 = 10,20,0,40,...,120 -> sorted 0,10,20,40,50,60 | 70,... -> median (60+70)/2 = 65
    assert v["oscilacao_quantidade_m12"] == pytest.approx(200 / 66)   # (199+1)/(65+1) = 3.0303
    assert v["oscilacao_valor_m12"] == pytest.approx(399 / 131)       # (398+1)/(130+1)
    # m6: Jul..Dec = 70,80,90,100,110,120 -> median 95
    assert v["oscilacao_quantidade_m6"] == pytest.approx(200 / 96)    # 2.0833
    assert v["oscilacao_valor_m6"] == pytest.approx(399 / 191)

    # Jul/2023, m6: Jan..Jun = 10,20,0(Mar, no row),40,50,60 -> sorted 0,10,20,40,50,60 -> median 30
    r = value_of(out, cnes="A", competencia=month(6), score="oscilacao_quantidade_m6")
    assert r["value"] == pytest.approx(71 / 31)
    # Dec/2023, m6: Jun..Nov = 60..110 -> median 85 -> 121/86; m12 needs Dec/2022 (not covered): 11 of 12
    assert value_of(out, cnes="A", competencia=month(11), score="oscilacao_quantidade_m6")["value"] \
        == pytest.approx(121 / 86)
    r = value_of(out, cnes="A", competencia=month(11), score="oscilacao_quantidade_m12")
    assert math.isnan(r["value"])
    assert r["reason"] == "sem histórico: 11 de 12 meses anteriores disponíveis"
    r = value_of(out, cnes="A", competencia=month(0), score="oscilacao_valor_m6")
    assert math.isnan(r["value"]) and r["reason"] == "sem histórico: 0 de 6 meses anteriores disponíveis"

    # B has no past rows in covered months: median of twelve zeros = 0 -> (5+1)/(0+1) = 6 (no leak from A)
    assert value_of(out, cnes="B", score="oscilacao_quantidade_m12")["value"] == pytest.approx(6.0)
    # ... and without an established line (count median 0 < 5 units) the score keeps its value, says why
    # it stays out of the ranking, on the count and on the value alike
    for score in ("oscilacao_quantidade_m12", "oscilacao_valor_m12"):
        assert value_of(out, cnes="B", score=score)["reason"] == \
            "sem base: mediana de 12 meses = 0 unidade(s) < 5; fora do ranking"
    assert value_of(out, cnes="B", score="oscilacao_valor_m6")["value"] == pytest.approx(6.0)
    # A in Jul/2023, m6: count median 30 >= 5 -> ranked, no reason
    assert pd.isna(value_of(out, cnes="A", competencia=month(6), score="oscilacao_valor_m6")["reason"])
    assert isinstance(out["competencia"].iloc[0], date)


def test_oscillation_reports_partial_history_instead_of_a_fake_score():
    # only Sep..Dec/2023 (4 months) plus Jan/2024 exist in the warehouse
    out = oscillation(osc_cube(), [month(i) for i in range(8, 13)])
    r = value_of(out, cnes="A", competencia=month(12), score="oscilacao_quantidade_m12")
    assert math.isnan(r["value"])
    assert r["reason"] == "sem histórico: 4 de 12 meses anteriores disponíveis"
    assert out.loc[out["score"] == "oscilacao_quantidade_m12", "value"].isna().all()


def test_oscillation_matches_a_brute_force_loop():
    rng = np.random.default_rng(3)
    rows = []
    for c in range(6):
        for a in ("X", "Y"):
            for i in range(30):
                if rng.random() < 0.7:
                    rows.append(dict(cnes=f"C{c}", alvo=a, competencia=month(i),
                                     quantidade=float(rng.integers(0, 50)), valor=float(rng.integers(0, 900))))
    cube = pd.DataFrame(rows)
    covered = [month(i) for i in range(30) if i != 20]
    out = oscillation(cube, covered, windows=(12, 6, 3))
    lookup = {(r.cnes, r.alvo, r.competencia): r for r in cube.itertuples()}
    for r in out.sample(200, random_state=0).itertuples():
        meas, m = r.score.split("_")[1], int(r.score.split("_m")[1])
        i = (r.competencia.year - 2023) * 12 + r.competencia.month - 1
        prev = [month(i - lag) for lag in range(1, m + 1)]
        if not all(p in covered for p in prev):
            assert math.isnan(r.value)
            continue
        hist = [getattr(lookup[(r.cnes, r.alvo, p)], meas) if (r.cnes, r.alvo, p) in lookup else 0.0 for p in prev]
        t = getattr(lookup[(r.cnes, r.alvo, r.competencia)], meas)
        assert r.value == pytest.approx((t + 1) / (np.median(hist) + 1))


def test_oscillation_rejects_duplicate_rows():
    cube = pd.concat([osc_cube(), osc_cube().iloc[[0]]])
    with pytest.raises(ValueError, match="duplicadas"):
        oscillation(cube, COVERED)



def window_of(cube: pd.DataFrame, scored) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month ``scored`` numbered by par (in reverse order: par is any numbering) and the earlier
    months of its pairs, as the score step's window SQL gives them."""
    rows = cube[cube["competencia"] == scored].reset_index(drop=True)
    rows = rows.assign(par=np.arange(len(rows))[::-1])
    earlier = cube[cube["competencia"] < scored].merge(rows[["cnes", "alvo", "par"]], on=["cnes", "alvo"])
    lag = [(scored.year - d.year) * 12 + scored.month - d.month for d in earlier["competencia"]]
    return rows, earlier.assign(defasagem=lag)[["par", "defasagem", "quantidade", "valor"]]


def test_oscillation_from_a_window_given_apart_is_the_oscillation():
    # the hand-computed month (Jan/2024: A's medians 65 and 95, B with twelve zeros) and partial coverage
    for covered in (COVERED, [month(i) for i in range(8, 13)]):
        rows, window = window_of(osc_cube(), month(12))
        got = scores.oscillation_from_window(rows, window, covered)
        want = oscillation(osc_cube(), covered, only_months=[month(12)])
        pd.testing.assert_frame_equal(got, want)
    assert value_of(got, cnes="A", score="oscilacao_quantidade_m12")["reason"] == \
        "sem histórico: 4 de 12 meses anteriores disponíveis"
    full = scores.oscillation_from_window(rows, window, COVERED)
    assert value_of(full, cnes="A", score="oscilacao_quantidade_m12")["value"] == pytest.approx(200 / 66)
    assert value_of(full, cnes="A", score="oscilacao_valor_m6")["value"] == pytest.approx(399 / 191)
    # a random cube, three windows, one month with history gaps: every value and reason the same
    rng = np.random.default_rng(5)
    cube = pd.DataFrame([dict(cnes=f"C{c}", alvo=a, competencia=month(i), quantidade=float(rng.integers(0, 50)),
                              valor=float(rng.integers(0, 900)))
                         for c in range(8) for a in ("X", "Y") for i in range(20) if rng.random() < 0.7])
    covered = [month(i) for i in range(20) if i != 12]
    for scored in (month(19), month(15)):
        rows, window = window_of(cube, scored)
        pd.testing.assert_frame_equal(scores.oscillation_from_window(rows, window, covered, windows=(12, 6, 3)),
                                      oscillation(cube, covered, windows=(12, 6, 3), only_months=[scored]))


def test_oscillation_from_a_window_rejects_bad_input():
    rows, window = window_of(osc_cube(), month(12))
    with pytest.raises(ValueError, match="duplicadas para cnes x alvo"):
        scores.oscillation_from_window(pd.concat([rows, rows.iloc[[0]].assign(par=2)]), window, COVERED)
    with pytest.raises(ValueError, match="numerar as 2 linhas"):
        scores.oscillation_from_window(rows.assign(par=[0, 0]), window, COVERED)
    with pytest.raises(ValueError, match="duplicadas para par x defasagem"):
        scores.oscillation_from_window(rows, pd.concat([window, window.iloc[[0]]]), COVERED)
    with pytest.raises(ValueError, match="window.par fora"):
        scores.oscillation_from_window(rows, window.assign(par=7), COVERED)
    with pytest.raises(ValueError, match="colunas ausentes"):
        scores.oscillation_from_window(rows.drop(columns="par"), window, COVERED)


# ----------------------------------------------------------------------------- empirical Bayes


def eb_frame():
    m = month(12)
    return pd.DataFrame([
        # alvo X: y = 10, 40, 50 ; n = 1000, 2000, 1000
        dict(municipio="110001", alvo="X", competencia=m, quantidade=10.0, populacao=1000),
        dict(municipio="110002", alvo="X", competencia=m, quantidade=40.0, populacao=2000),
        dict(municipio="110003", alvo="X", competencia=m, quantidade=50.0, populacao=1000),
        # alvo Y: y = 1, 2, 1 ; n = 100 each (spread smaller than Poisson noise)
        dict(municipio="110001", alvo="Y", competencia=m, quantidade=1.0, populacao=100),
        dict(municipio="110002", alvo="Y", competencia=m, quantidade=2.0, populacao=100),
        dict(municipio="110003", alvo="Y", competencia=m, quantidade=1.0, populacao=100),
    ])


def test_empirical_bayes_three_areas_by_hand():
    out = empirical_bayes_rates(eb_frame())
    x = out[out["alvo"] == "X"]
    # r = .01, .02, .05 ; b = 100/4000 = .025
    # s2 = (1000*.015^2 + 2000*.005^2 + 1000*.025^2)/4000 = (.225 + .05 + .625)/4000 = .000225
    # n_bar = 4000/3 ; b/n_bar = .075/4000 = .00001875 ; a = .000225 - .00001875 = .00020625
    # C1 = a/(a + .025/1000) = .00020625/.00023125 = 33/37 ; C2 = a/(a + .0000125) = 33/35 ; C3 = 33/37
    assert list(x["taxa"]) == pytest.approx([1000.0, 2000.0, 5000.0])
    assert list(x["taxa_brasil"]) == pytest.approx([2500.0] * 3)
    assert list(x["eb_variancia_entre"]) == pytest.approx([0.00020625] * 3)
    assert not x["eb_clamped"].any()
    assert list(x["taxa_eb"]) == pytest.approx([
        2500 + 33 / 37 * (1000 - 2500),   # 1162.16
        2500 + 33 / 35 * (2000 - 2500),   # 2028.57
        2500 + 33 / 37 * (5000 - 2500),   # 4729.73
    ])


def test_empirical_bayes_negative_a_is_clamped_so_every_rate_is_b():
    out = empirical_bayes_rates(eb_frame())
    y = out[out["alvo"] == "Y"]
    # b = 4/300 ; deviations -1/300, 2/300, -1/300 -> s2 = 100*(1+4+1)/300^2/300 = 1/45000 = .0000222
    # b/n_bar = (4/300)/100 = .000133 -> a = -.000111 < 0 -> clamped to 0 -> C = 0 -> EB = b.
    # (unclamped, C would be -.000111/(-.000111 + .000133) = -5: rates pushed AWAY from b)
    assert y["eb_clamped"].all()
    assert (y["eb_variancia_entre"] == 0).all()
    assert (y["taxa_eb"] == y["taxa_brasil"]).all()
    assert y["taxa_brasil"].iloc[0] == pytest.approx(4 / 300 * 100_000)  # 1333.33
    assert list(y["taxa"]) == pytest.approx([1000.0, 2000.0, 1000.0])


def test_empirical_bayes_rejects_non_positive_population_naming_the_municipality():
    df = eb_frame()
    df.loc[1, "populacao"] = 0
    df.loc[1, "municipio"] = "355030"
    with pytest.raises(ValueError, match="355030"):
        empirical_bayes_rates(df)


# ----------------------------------------------------------------------------- municipal EB score


def test_municipal_rate_scores_rolling_sum_of_excess_over_k_times_brazil():
    # taxa_brasil 100, k=3 -> limiar 300 ; taxa_eb 350, 200, 500, 320 -> dif 50, 0, 200, 20
    # months Jan, Feb, (Mar absent), Apr, May
    mun = pd.DataFrame(dict(
        municipio="111111", alvo="X", competencia=[month(0), month(1), month(3), month(4)],
        quantidade=1.0, populacao=1000, taxa_eb=[350.0, 200.0, 500.0, 320.0], taxa_brasil=100.0,
    ))
    out = municipal_rate_scores(mun, k=3.0, window=3)
    assert list(out.columns) == ["municipio", "alvo", "competencia", "taxa_eb", "limiar", "dif", "escore_municipal"]
    assert list(out["limiar"]) == [300.0] * 4
    assert list(out["dif"]) == [50.0, 0.0, 200.0, 20.0]
    # window 3: Jan 50 ; Feb 50+0 ; Apr = Feb+Mar+Apr = 0+0+200 ; May = Mar+Apr+May = 0+200+20
    assert list(out["escore_municipal"]) == [50.0, 50.0, 200.0, 220.0]
    # default window 12: May = 50+0+200+20 = 270
    assert municipal_rate_scores(mun)["escore_municipal"].iloc[-1] == 270.0
    # only_months: the rows of those months, still summed over the earlier months' rows
    some = municipal_rate_scores(mun, k=3.0, window=3, only_months=[month(3), month(4)])
    assert list(some["competencia"]) == [month(3), month(4)]
    assert list(some["escore_municipal"]) == [200.0, 220.0]
    assert municipal_rate_scores(mun, only_months=[month(2)]).empty


def test_municipal_rate_scores_computes_eb_when_missing():
    out = municipal_rate_scores(eb_frame())
    # alvo Y is clamped: taxa_eb = b < 3b -> dif 0 ; alvo X: limiar 7500 > every EB rate -> 0
    assert (out["dif"] == 0).all() and (out["escore_municipal"] == 0).all()
    assert list(out.loc[out["alvo"] == "X", "limiar"]) == pytest.approx([7500.0] * 3)


# ----------------------------------------------------------------------------- attribution


def test_attribute_to_establishments_uses_window_shares():
    mun_scores = pd.DataFrame([
        dict(municipio="M1", alvo="X", competencia=month(2), escore_municipal=100.0),
        dict(municipio="M2", alvo="X", competencia=month(2), escore_municipal=40.0),
        dict(municipio="M1", alvo="X", competencia=month(1), escore_municipal=10.0),
    ])
    shares = pd.DataFrame([
        dict(cnes="A", municipio="M1", alvo="X", competencia=month(1), quantidade=30.0),
        dict(cnes="A", municipio="M1", alvo="X", competencia=month(2), quantidade=10.0),
        dict(cnes="B", municipio="M1", alvo="X", competencia=month(2), quantidade=60.0),
        dict(cnes="A", municipio="M2", alvo="X", competencia=month(2), quantidade=20.0),
        dict(cnes="C", municipio="M2", alvo="X", competencia=month(1), quantidade=20.0),
        dict(cnes="C", municipio="M2", alvo="X", competencia=month(0), quantidade=1000.0),  # outside window
    ])
    out = attribute_to_establishments(mun_scores, shares, window=2)
    assert list(out.columns) == ["cnes", "alvo", "competencia", "score", "value"]
    assert set(out["score"]) == {"taxa_per_capita_eb"}
    got = {(r.cnes, r.competencia): r.value for r in out.itertuples()}
    # Mar, window Feb..Mar: M1: A 30+10=40, B 60 -> .4/.6 ; M2: A 20, C 20 (Jan excluded) -> .5/.5
    # A = .4*100 + .5*40 = 60 ; B = .6*100 = 60 ; C = .5*40 = 20
    # Feb, window Jan..Feb: M1 only A (30) -> share 1 -> 10 ; M2 has no Feb score
    assert got == pytest.approx({("A", month(1)): 10.0, ("A", month(2)): 60.0,
                                 ("B", month(2)): 60.0, ("C", month(2)): 20.0})


# ----------------------------------------------------------------------------- log-normal excess


def test_lognormal_cutoff_against_direct_computation():
    rates = [0.0, 1.0, 2.0, 4.0, 8.0]
    # zero excluded; log2 rates 0,1,2,3 -> mu = 1.5 ln2, sigma = ln2 * sqrt(1.25) (population std)
    mu, sigma = 1.5 * math.log(2), math.log(2) * math.sqrt(1.25)
    expected = math.exp(mu + sigma * norm.ppf(0.99))   # 2^(1.5 + 1.118*2.3263) = 2^4.1009 = 17.16
    assert lognormal_cutoff(rates, 0.99) == pytest.approx(expected)
    assert lognormal_cutoff(rates, 0.99) == pytest.approx(17.16, abs=0.01)
    assert lognormal_cutoff(rates, 0.5) == pytest.approx(2 ** 1.5)   # Φ⁻¹(.5) = 0 -> geometric mean
    assert math.isnan(lognormal_cutoff([0.0, 0.0, 3.0, 5.0]))        # only 2 positive rates


def test_seed_example_80_anomalous_attendances():
    # 100,000 people, 400 attendances, cutoff 3.2 per 1,000 -> 320 expected at most -> 80
    assert excess_count(400, 100_000, 3.2, per=1000) == 80.0
    assert excess_count(300, 100_000, 3.2, per=1000) == 0.0


def test_municipal_excess_applies_excess_count_with_the_fitted_cutoff(monkeypatch):
    monkeypatch.setattr(scores.excess, "lognormal_cutoff", lambda rates, q=0.99: 3.2)
    mun = pd.DataFrame([dict(municipio="123456", alvo="X", competencia=month(12),
                             quantidade=400.0, valor=4000.0, populacao=100_000)])
    out = municipal_excess(mun, per=1000)
    assert out["excesso_quantidade"].iloc[0] == 80.0
    assert out["excesso_valor"].iloc[0] == 800.0     # 80 x (4000/400)


def test_municipal_excess_by_hand():
    m = month(12)
    rows = [dict(municipio=f"10000{i}", alvo="X", competencia=m, quantidade=q, valor=10 * q, populacao=100_000)
            for i, q in enumerate([0.0, 100.0, 200.0, 400.0, 800.0])]
    rows += [dict(municipio=f"20000{i}", alvo="Y", competencia=m, quantidade=q, valor=q, populacao=1000)
             for i, q in enumerate([0.0, 5.0, 9.0])]
    out = municipal_excess(pd.DataFrame(rows), q=0.5, per=1000)
    x = out[out["alvo"] == "X"]
    # rates per 1000: 0,1,2,4,8 ; q=.5 -> cutoff = geometric mean of 1,2,4,8 = 2^1.5 = 2.8284
    assert list(x["taxa"]) == pytest.approx([0, 1, 2, 4, 8])
    assert list(x["cutoff"]) == pytest.approx([2 ** 1.5] * 5)
    # expected at most 2.8284 * 100 = 282.84 -> excess 0,0,0, 400-282.84, 800-282.84 ; valor unit 10 (0 for q=0)
    exp_q = [0, 0, 0, 400 - 100 * 2 ** 1.5, 800 - 100 * 2 ** 1.5]
    assert list(x["excesso_quantidade"]) == pytest.approx(exp_q)
    assert list(x["excesso_valor"]) == pytest.approx([10 * e for e in exp_q])
    assert x["reason"].isna().all()
    y = out[out["alvo"] == "Y"]
    assert y["cutoff"].isna().all() and y["excesso_quantidade"].isna().all()
    assert y["reason"].iloc[0].startswith("corte log-normal indisponível: 2 município(s)")


def test_share_excess_same_month_production_shares():
    mun_excess = pd.DataFrame([dict(municipio="M1", alvo="X", competencia=month(2),
                                    excesso_quantidade=80.0, excesso_valor=800.0)])
    shares = pd.DataFrame([
        dict(cnes="A", municipio="M1", alvo="X", competencia=month(2), quantidade=30.0),
        dict(cnes="B", municipio="M1", alvo="X", competencia=month(2), quantidade=10.0),
        dict(cnes="A", municipio="M1", alvo="X", competencia=month(1), quantidade=100.0),  # other month
    ])
    out = share_excess(mun_excess, shares)
    assert list(out.columns) == ["cnes", "municipio", "alvo", "competencia", "share",
                                 "excesso_quantidade", "excesso_valor"]
    # A 30/40 = .75 -> 60, 600 ; B .25 -> 20, 200
    assert list(out["cnes"]) == ["A", "B"]
    assert list(out["share"]) == pytest.approx([0.75, 0.25])
    assert list(out["excesso_quantidade"]) == pytest.approx([60.0, 20.0])
    assert list(out["excesso_valor"]) == pytest.approx([600.0, 200.0])


# ----------------------------------------------------------------------------- value per admission


def test_value_per_admission_robust_z_on_five_establishments():
    m = month(12)
    means = {"A": 1000, "B": 2000, "C": 4000, "D": 8000, "E": 64000}
    rows = [dict(cnes=c, alvo="X", competencia=m, valor=10.0 * v, n_aih=10) for c, v in means.items()]
    rows.append(dict(cnes="F", alvo="X", competencia=m, valor=3e6, n_aih=3))   # too few AIH: not in the fit
    rows += [dict(cnes=c, alvo="Y", competencia=m, valor=500.0, n_aih=5) for c in ("A", "B", "C")]
    out = value_per_admission(pd.DataFrame(rows))
    x = out[out["alvo"] == "X"].set_index("cnes")
    # logs: ln1000, ln2000, ln4000, ln8000, ln64000 -> median ln4000
    # |dev| = 2ln2, ln2, 0, ln2, 4ln2 -> sorted 0, ln2, ln2, 2ln2, 4ln2 -> MAD = ln2
    # z = dev / (1.4826 ln2): A -2/1.4826, B -1/1.4826, C 0, D 1/1.4826, E 4/1.4826 = 2.698
    assert x.loc["C", "mediana_nacional"] == pytest.approx(4000.0)
    assert list(x.loc[list("ABCDE"), "z_robusto"]) == pytest.approx(
        [-2 / 1.4826, -1 / 1.4826, 0.0, 1 / 1.4826, 4 / 1.4826])
    assert x.loc["E", "valor_medio_aih"] == 64000.0
    assert math.isnan(x.loc["F", "z_robusto"]) and x.loc["F", "reason"] == "menos de 5 AIH no mês (3)"
    assert x.loc["F", "valor_medio_aih"] == 1e6
    assert x.loc[list("ABCDE"), "reason"].isna().all()
    y = out[out["alvo"] == "Y"]
    assert y["z_robusto"].isna().all()                 # all means 100 -> MAD 0
    assert y["reason"].str.startswith("MAD nula").all()


# ----------------------------------------------------------------------------- ranking


def test_provider_ranking_and_concentration():
    jan, feb = month(12), month(13)
    excess = pd.DataFrame([
        dict(cnes="A", alvo="X", competencia=jan, excesso_valor=100.0),
        dict(cnes="A", alvo="Y", competencia=jan, excesso_valor=50.0),
        dict(cnes="B", alvo="X", competencia=jan, excesso_valor=150.0),
        dict(cnes="C", alvo="X", competencia=jan, excesso_valor=30.0),
        dict(cnes="D", alvo="X", competencia=jan, excesso_valor=0.0),
        dict(cnes="A", alvo="X", competencia=feb, excesso_valor=10.0),
    ])
    scores_long = pd.DataFrame([
        dict(cnes="A", alvo="X", competencia=jan, score="s1", value=5.0),
        dict(cnes="A", alvo="Y", competencia=jan, score="s1", value=7.0),   # A's s1 = max over alvos = 7
        dict(cnes="B", alvo="X", competencia=jan, score="s1", value=9.0),
        dict(cnes="C", alvo="X", competencia=jan, score="s1", value=1.0),
        dict(cnes="E", alvo="X", competencia=jan, score="s1", value=3.0),
        dict(cnes="D", alvo="X", competencia=jan, score="s1", value=float("nan")),  # ignored
        dict(cnes="A", alvo="X", competencia=jan, score="s2", value=0.2),
        dict(cnes="B", alvo="X", competencia=jan, score="s2", value=0.1),
    ])
    ranking, conc = provider_ranking(excess, scores_long, top=(2, 5))
    r = ranking[ranking["competencia"] == jan].set_index("cnes")
    # totals: A 150, B 150, C 30, D 0, E 0 (scores only)
    # s1 pct ranks among C1,E3,A7,B9: .25, .5, .75, 1 ; s2 among B.1, A.2: .5, 1
    # combined: A (.75+1)/2 = .875 ; B (1+.5)/2 = .75 ; C .25 ; E .5 ; D none (NaN)
    assert r.loc["A", "excesso_valor"] == 150.0 and r.loc["E", "excesso_valor"] == 0.0
    assert r.loc["A", "escore_combinado"] == pytest.approx(0.875)
    assert r.loc["B", "escore_combinado"] == pytest.approx(0.75)
    assert r.loc["E", "escore_combinado"] == pytest.approx(0.5)
    assert math.isnan(r.loc["D", "escore_combinado"]) and r.loc["D", "n_escores"] == 0
    assert r.loc["A", "n_escores"] == 2
    # A and B tie on 150: A wins on combined score; E (0, .5) before D (0, NaN)
    assert list(ranking.loc[ranking["competencia"] == jan, "cnes"]) == ["A", "B", "C", "E", "D"]
    assert list(ranking.loc[ranking["competencia"] == jan, "rank"]) == [1, 2, 3, 4, 5]
    c = conc.set_index("competencia")
    # Jan total 330: top2 = 300/330 ; top5 = 1 ; 3 establishments with excess
    assert c.loc[jan, "excesso_total"] == 330.0
    assert c.loc[jan, "participacao_top2"] == pytest.approx(300 / 330)
    assert c.loc[jan, "participacao_top5"] == 1.0
    assert c.loc[jan, "n_com_excesso"] == 3
    assert c.loc[feb, "participacao_top2"] == 1.0
    assert list(conc.columns) == ["competencia", "excesso_total", "n_com_excesso",
                                  "participacao_top2", "participacao_top5"]


def test_provider_ranking_leaves_scores_with_a_reason_out_of_the_percentiles():
    jan = month(12)
    excess = pd.DataFrame([dict(cnes="A", alvo="X", competencia=jan, excesso_valor=0.0)])
    scores_long = pd.DataFrame([
        dict(cnes="A", alvo="X", competencia=jan, score="s1", value=2.0, reason=None),
        dict(cnes="B", alvo="X", competencia=jan, score="s1", value=4.0, reason=None),
        # C's ratio is the highest, but it has no baseline: it must not push A and B down
        dict(cnes="C", alvo="X", competencia=jan, score="s1", value=900.0,
             reason="sem base: mediana de 12 meses = 0 unidade(s) < 5; fora do ranking"),
    ])
    ranking, _ = provider_ranking(excess, scores_long)
    r = ranking.set_index("cnes")
    # s1 among A 2, B 4 only: .5, 1 ; C has no ranked score and no excess row: not in the ranking
    assert r.loc["B", "escore_maximo"] == 1.0 and r.loc["A", "escore_maximo"] == 0.5
    assert list(ranking.sort_values("rank_escore")["cnes"]) == ["B", "A"]


# ----------------------------------------------------------------------------- benign flags


def flag_inputs():
    m = month(12)
    est = pd.DataFrame(dict(cnes=["A", "B", "C", "D", "E"], uf=["SP", "SP", "SP", "RJ", "SP"],
                            tp_unid=["40", "05", 36, "02", 5]))
    osc = []
    for alvo, vals in {"X": dict(A=2.5, B=3.0, C=1.0, D=1.9),
                       "Y": dict(A=2.0, B=2.1, C=1.0, E=float("nan"))}.items():
        for c, v in vals.items():
            osc.append(dict(cnes=c, alvo=alvo, competencia=m, score="oscilacao_quantidade_m12", value=v))
            osc.append(dict(cnes=c, alvo=alvo, competencia=m, score="oscilacao_valor_m12", value=9.0))
    mun_excess = pd.DataFrame(dict(municipio=["M1", "M2", "M3", "M4"], alvo="X", competencia=m,
                                   populacao=[3000, 3000, 50_000, 5000],
                                   excesso_quantidade=[5.0, 0.0, 10.0, 7.0]))
    shares = pd.DataFrame(dict(cnes=["A", "B", "C", "E"], municipio=["M1", "M1", "M1", "M3"], alvo="X",
                               competencia=m, excesso_quantidade=[3.0, 2.0, 0.0, 10.0]))
    return est, pd.DataFrame(osc), mun_excess, shares


def test_flag_mobile_unit():
    est, osc, _, _ = flag_inputs()
    out = benign_flags(estabelecimentos=est, oscilacao=osc)
    mob = out[out["flag"] == "unidade_movel"]
    # only A is TP_UNID 40; it has rows for X and Y
    assert sorted(zip(mob["cnes"], mob["alvo"])) == [("A", "X"), ("A", "Y")]
    assert (mob["detail"] == "TP_UNID 40: unidade móvel terrestre").all()


def test_flag_regional_spike():
    est, osc, _, _ = flag_inputs()
    out = benign_flags(estabelecimentos=est, oscilacao=osc)
    pico = out[out["flag"] == "pico_regional"]
    # SP x X: A 2.5, B 3.0 >= 2 of 3 establishments (> half) -> A, B, C flagged
    # SP x Y: A 2.0, B 2.1 of 4 (E has NaN) = exactly half -> no flag ; RJ x X: 0 of 1
    assert sorted(zip(pico["cnes"], pico["alvo"])) == [("A", "X"), ("B", "X"), ("C", "X")]
    assert pico["detail"].iloc[0].startswith("2 de 3 estabelecimentos com produção na UF SP")


def test_flag_small_municipality():
    est, _, mun_excess, shares = flag_inputs()
    out = benign_flags(mun_excess=mun_excess, excess_shares=shares)
    small = out[out["flag"] == "municipio_pequeno"]
    # M1 (3000 hab, excess 5) flagged; M2 (no excess), M3 (50,000) and M4 (5000, not < 5000) not.
    # establishments with positive excess from M1: A, B (C received 0)
    assert sorted(zip(small["cnes"].fillna("-"), small["municipio"])) == [("-", "M1"), ("A", "M1"), ("B", "M1")]
    assert "3000 habitantes" in small["detail"].iloc[0]
    assert set(out["flag"]) == {"municipio_pequeno"}
    assert list(out.columns) == ["cnes", "municipio", "alvo", "competencia", "flag", "detail"]


def test_jump_excess_is_production_above_three_times_the_median():
    from vigia.sus.scores import jump_excess

    # A: 13 months, previous 12 all 10 units (median 10), now 50 units at R$ 2 each
    #    oscilacao_m12 = 51 / 11; median = 51 / (51/11) - 1 = 10; excess = 50 - 3 x 10 = 20 units = R$ 40
    # B: median 2 < 5 units: a small producer's doubling is noise, no excess
    rows = [dict(cnes="A", alvo="X", competencia=month(i), quantidade=10.0, valor=20.0) for i in range(12)]
    rows.append(dict(cnes="A", alvo="X", competencia=month(12), quantidade=50.0, valor=100.0))
    rows += [dict(cnes="B", alvo="X", competencia=month(i), quantidade=2.0, valor=2.0) for i in range(12)]
    rows.append(dict(cnes="B", alvo="X", competencia=month(12), quantidade=20.0, valor=20.0))
    cube = pd.DataFrame(rows)
    osc = oscillation(cube, COVERED)
    now = cube[cube["competencia"] == month(12)]
    out = jump_excess(now, osc[osc["competencia"] == month(12)]).set_index("cnes")
    assert out.loc["A", "mediana_12m"] == pytest.approx(10.0)
    assert out.loc["A", "excesso_quantidade"] == pytest.approx(20.0)
    assert out.loc["A", "excesso_valor"] == pytest.approx(40.0)
    assert out.loc["B", "excesso_quantidade"] == 0.0 and out.loc["B", "excesso_valor"] == 0.0


def test_per_capita_window_reason_counts_the_months_in_the_warehouse():
    from vigia.sus.scoring import per_capita_window_reason

    oct26 = date(2026, 10, 1)
    full = [date(2025, 10, 1) + pd.DateOffset(months=i) for i in range(13)]  # 2025-10 .. 2026-10
    assert per_capita_window_reason(oct26, [d.date() for d in full]) is None
    # 2025-10 is outside the window (2025-11 .. 2026-10): losing it changes nothing; losing 2026-03 does
    assert per_capita_window_reason(oct26, [d.date() for d in full[1:]]) is None
    assert per_capita_window_reason(oct26, [d.date() for d in full if d.month != 3]) == \
        "janela parcial: 11 de 12 meses no armazém; fora do ranking"
    assert per_capita_window_reason(oct26, [oct26]) == "janela parcial: 1 de 12 meses no armazém; fora do ranking"
