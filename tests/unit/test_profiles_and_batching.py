"""Cluster profiles (money ranking, descriptions) and the bounded batching of segments."""

import pandas as pd
import pytest

from vigia.glosa.batching import MAX_BATCHES, plan_batches
from vigia.glosa.profiles import build_profiles, describe


def cells(segment, cluster, glosa, ind, salto):
    h, c, t = segment
    return {"HOSPITAL": h, "CONVENIO": c, "TIPO_GLOSA": t, "cluster": cluster, "GLOSA_ATUAL": glosa,
            "IND_GLOSA": ind, "SALTO_VALOR": salto, "SALTO_INDICE": 0.0}


def test_profiles_rank_clusters_by_money_lost():
    a, b = ("H1", "Unimed", "Técnica"), ("H2", "Amil", "Linear")
    df = pd.DataFrame([
        cells(a, 0, 100.0, 0.10, 0.0), cells(a, 0, 300.0, 0.30, 0.0),     # total 400
        cells(a, 1, 1000.0, 0.90, 500.0),                                   # total 1000
        cells(b, 0, 50.0, 0.05, -10.0), cells(b, 0, 50.0, 0.05, -10.0),     # total 100
        cells(b, 1, None, None, None) | {"cluster": None},                 # skipped rows are ignored
    ])
    df.loc[5, ["GLOSA_ATUAL", "IND_GLOSA", "SALTO_VALOR"]] = 1e9
    p = build_profiles(df)
    assert p[["HOSPITAL", "cluster", "size", "total_glosa", "rank_in_segment", "rank_overall"]].values.tolist() == [
        ["H1", 1, 1, 1000.0, 1, 1], ["H1", 0, 2, 400.0, 2, 2], ["H2", 0, 2, 100.0, 1, 3]]
    h1 = p[p["HOSPITAL"] == "H1"].set_index("cluster")
    assert h1.loc[1, "share_of_segment_glosa"] == pytest.approx(1000 / 1400)
    assert h1.loc[0, "mean_glosa_atual"] == 200.0 and h1.loc[0, "mean_ind_glosa"] == pytest.approx(0.2)
    # segment means: glosa 466.7, index 0.433 -> cluster 1 is 2.1x on value and 2.1x on index, rising
    assert h1.loc[1, "descricao"] == "valor alto, índice alto, em alta"
    assert p.loc[p["HOSPITAL"] == "H2", "share_of_segment_glosa"].item() == 1.0


@pytest.mark.parametrize("args, text", [
    ((100, 0.1, 0, 100, 0.1), "valor médio, índice médio, estável"),
    ((10, 0.01, -5, 100, 0.1), "valor baixo, índice baixo, em queda"),
    ((200, 0.5, 50, 100, 0.1), "valor alto, índice alto, em alta"),
])
def test_descriptions(args, text):
    assert describe(*args) == text


def seg_table(sizes):
    return pd.DataFrame({"segment_id": range(len(sizes)), "rows": sizes})


def test_batches_are_bounded_cover_every_segment_once_and_balance_cost():
    sizes = [40_000, 30_000] + [50] * 2000
    batches = plan_batches(seg_table(sizes))
    assert len(batches) == MAX_BATCHES
    flat = sorted(s for b in batches for s in b)
    assert flat == list(range(len(sizes)))
    assert all(batches)
    assert [0] in batches and [1] in batches  # the two giants get a batch of their own
    costs = [sum(sizes[s] + 300 for s in b) for b in batches if 0 not in b and 1 not in b]
    assert max(costs) - min(costs) <= 400


def test_fewer_segments_than_the_bound_give_one_batch_each():
    assert plan_batches(seg_table([5, 7, 9]), max_batches=32) == [[2], [1], [0]]
    assert plan_batches(seg_table([])) == []
    with pytest.raises(ValueError, match="at least 1"):
        plan_batches(seg_table([1]), max_batches=0)
