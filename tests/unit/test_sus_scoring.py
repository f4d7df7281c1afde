"""From DATASUS-layout files to the ranking: the planted anomalies come out on top, the benign one flagged."""

from __future__ import annotations


import pandas as pd
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


def test_a_target_measure_keeps_only_its_oscillation_scores(tmp_path):
    # alvos.csv's medida: a 'quantidade' target gets the count oscillations only, a 'valor' one the value
    # ones, an 'ambos' one both; the per-capita and price scores do not depend on it
    from tests.unit.sus_sample import END, MONTHS
    from vigia.sus import datasus, targets

    month = scored_month(tmp_path, municipalities=100, sia_rows_per_month=20_000, seed=3)
    both = month["result"]  # no measures: every target gets both
    defaults = targets.measures(targets.load())
    osc = both.scores[both.scores["score"].str.startswith("oscilacao_")]
    by_target = osc[osc["alvo"].map(defaults) == "ambos"].groupby("alvo").size().sort_values(ascending=False)
    count_only, value_only = by_target.index[:2]
    measures = {**defaults, count_only: "quantidade", value_only: "valor"}
    pop = datasus.read_population(tmp_path)
    base = scoring.score_month(month["cube"], END, pop, month["registry"], MONTHS, measures=defaults).scores
    got = scoring.score_month(month["cube"], END, pop, month["registry"], MONTHS, measures=measures).scores

    def names(scores, alvo):
        return set(scores.loc[scores["alvo"] == alvo, "score"])

    value, count = {"oscilacao_valor_m12", "oscilacao_valor_m6"}, {"oscilacao_quantidade_m12", "oscilacao_quantidade_m6"}
    assert value | count <= names(base, count_only) and value | count <= names(base, value_only)
    assert names(got, count_only) == names(base, count_only) - value
    assert names(got, value_only) == names(base, value_only) - count
    others = lambda df: df[~df["alvo"].isin([count_only, value_only])].reset_index(drop=True)
    pd.testing.assert_frame_equal(others(got), others(base))
    # the default table's 'valor' target (medicines: counts of units mean little) has no count oscillation
    valor = [a for a, m in defaults.items() if m == "valor"]
    assert valor and not base[base["alvo"].isin(valor) & base["score"].isin(count)].shape[0]
    assert both.scores[both.scores["alvo"].isin(valor) & both.scores["score"].isin(count)].shape[0] > 0
