"""From DATASUS-layout files to the ranking: the planted anomalies come out on top, the benign one flagged."""

from __future__ import annotations


import pytest

from tests.unit.sus_sample import scored_month
from vigia.sus import scoring

@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    month = scored_month(tmp_path_factory.mktemp("landing"), municipalities=150, sia_rows_per_month=60_000)
    return month["planted"], month["result"]


def rank_of(result, cnes, column="rank"):
    return int(result.ranking.loc[result.ranking["cnes"] == cnes, column].iloc[0])


def test_every_planted_anomaly_ranks_in_the_top_5(scored):
    planted, result = scored
    top5 = set(result.ranking.nsmallest(5, "rank")["cnes"])
    found = {kind for kind, p in planted.items() if p["cnes"] in top5}
    assert found == set(planted), {k: rank_of(result, p["cnes"]) for k, p in planted.items()}  # precision@5 = 4/5
    conc = result.concentration.iloc[0]
    assert 0 < conc["participacao_top5"] <= conc["participacao_top100"] <= 1.0


def test_the_mobile_unit_campaign_is_flagged_benign(scored):
    planted, result = scored
    mobile = planted["campanha_unidade_movel"]["cnes"]
    assert "unidade_movel" in set(result.flags.loc[result.flags["cnes"] == mobile, "flag"])
    for kind in ("excesso_per_capita", "salto_abrupto"):
        cnes = planted[kind]["cnes"]
        assert "unidade_movel" not in set(result.flags.loc[result.flags["cnes"] == cnes, "flag"])


def test_the_abrupt_jump_is_caught_by_the_oscillation_score(scored):
    planted, result = scored
    jump = planted["salto_abrupto"]
    s = result.scores
    value = s[(s["cnes"] == jump["cnes"]) & (s["alvo"] == jump["alvo"])
              & (s["score"] == "oscilacao_quantidade_m12")]["value"].item()
    assert value > 4.0  # production ~6x its 12-month median
    assert result.ranking.loc[result.ranking["cnes"] == jump["cnes"], "excesso_valor"].item() > 0
    # by its most extreme score it is in the top 3% of the 2,118 establishments (47th): lines without an
    # established production (a median under 5 units) no longer outrank it with huge ratios (83rd before)
    assert rank_of(result, jump["cnes"], "rank_escore") <= 0.03 * len(result.ranking)


def test_the_overpriced_hospital_has_the_top_price_score(scored):
    planted, result = scored
    h = planted["hospital_caro"]
    s = result.scores[(result.scores["score"] == scoring.SCORE_VALOR_AIH) & (result.scores["alvo"] == h["alvo"])]
    assert s.sort_values("value", ascending=False)["cnes"].iloc[0] == h["cnes"]


def test_municipal_table_holds_rates_threshold_cutoff_and_excess(scored):
    planted, result = scored
    m = result.municipal
    small = m[m["municipio"].isin(planted["excesso_per_capita"]["municipios"])
              & (m["alvo"] == planted["excesso_per_capita"]["alvo"])]
    assert len(small) == len(planted["excesso_per_capita"]["municipios"])
    assert (small["excesso_quantidade"] > 0).all() and (small["taxa"] > small["cutoff"]).all()
    assert (small["taxa_eb"] > small["limiar"]).any() and (small["escore_municipal"] > 0).all()


def test_regional_spike_needs_the_region_itself_to_jump():
    from datetime import date

    import pandas as pd

    from vigia import runs
    from vigia.sus import cubes, scores
    from vigia.sus.scoring import _spike_candidates, regional_totals

    months = [runs.add_months(date(2025, 10, 1), i) for i in range(13)]
    end = months[-1]
    rows = []
    for i, m in enumerate(months):
        for cnes in ("1000001", "1000002", "1000003"):        # MG: everyone triples in the last month
            rows.append((m, cnes, "310620", "MG", 60.0 if m == end else 20.0))
        for j, cnes in enumerate(("3000001", "3000002", "3000003", "3000004")):  # SP: producers take turns
            rows.append((m, cnes, "355030", "SP", 40.0 if (i + j) % 4 == 0 else 10.0))
    cube = pd.DataFrame(rows, columns=["competencia", "cnes", "municipio", "uf", "quantidade"]).assign(
        alvo="SIA-020201", alvo_versao=1, sistema="SIA", valor=lambda d: d["quantidade"], n_aih=0)
    est = cubes.by_establishment(cube)
    osc = scores.oscillation(est[["cnes", "alvo", "competencia", "quantidade", "valor"]], months)
    osc = osc[osc["competencia"] == end]
    registry = cube[["cnes", "uf"]].drop_duplicates().assign(tp_unid="05")
    candidates = _spike_candidates(regional_totals(cubes.by_municipality(cube)), est, osc, registry, end, months)
    flags = scores.benign_flags(estabelecimentos=registry, oscilacao=candidates)
    flagged = set(flags.loc[flags["flag"] == "pico_regional", "cnes"])
    assert flagged == {"1000001", "1000002", "1000003"}
    # in SP some producers "double" (40 after a median of 10) but the state's total does not move
    sp = osc[osc["cnes"].str.startswith("3") & (osc["score"] == "oscilacao_quantidade_m12")]
    assert (sp["value"] >= 2).any()
