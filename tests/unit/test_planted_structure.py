"""The generated sample plants cluster structure; clustering must recover it (ARI >= 0.9)."""

from datetime import date

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from vigia.glosa.clustering import CLUSTERED, SILHOUETTE_SAMPLE, cluster_matrix
from vigia.glosa.features import FEATURES, build_features
from vigia.sample_data import glosa as sample

KEYS = ["HOSPITAL", "CONVENIO", "TIPO_GLOSA", "TIPO_DESPESA", "SETOR_N2", "TIPO_GRUPO", "TIPO_ATENDIMENTO"]


def test_generator_is_deterministic_and_skewed():
    a = sample.generate([date(2026, 10, 1)], n_segments=40, n_rows=8000, seed=3)
    b = sample.generate([date(2026, 10, 1)], n_segments=40, n_rows=8000, seed=3)
    pd.testing.assert_frame_equal(a.rows, b.rows)
    c = sample.generate([date(2026, 10, 1)], n_segments=40, n_rows=8000, seed=4)
    assert not a.rows["VALOR_GLOSA"].equals(c.rows["VALOR_GLOSA"])
    sizes = build_features(a.rows).groupby(["HOSPITAL", "CONVENIO", "TIPO_GLOSA"]).size()
    assert len(sizes) == 40
    assert sizes.max() > 5 * sizes.median()   # a few big segments, most small
    assert (sizes < 4).sum() >= 1              # the seed's failure case is present


def test_clustering_recovers_planted_clusters():
    data = sample.generate([date(2026, 10, 1)], n_segments=30, n_rows=150_000, seed=11)
    features = build_features(data.rows)
    truth = data.truth.rename(columns={"I_ITEM_CATEGORIA": "TIPO_DESPESA"})
    planted = features.merge(truth, on=["MES_RECEBIMENTO", *KEYS], how="inner", validate="1:1")
    assert planted.groupby(["HOSPITAL", "CONVENIO", "TIPO_GLOSA"]).ngroups >= 3
    assert planted.groupby(["HOSPITAL", "CONVENIO", "TIPO_GLOSA"]).size().max() > SILHOUETTE_SAMPLE

    for key, seg in planted.groupby(["HOSPITAL", "CONVENIO", "TIPO_GLOSA"]):
        result = cluster_matrix(seg[FEATURES].to_numpy(float))
        assert result.status == CLUSTERED, key
        ari = adjusted_rand_score(seg["planted_cluster"], result.labels)
        assert ari >= 0.9, f"{key}: ARI {ari:.3f}, k chosen {result.k}, planted {seg['planted_k'].iloc[0]}"
        assert result.k == seg["planted_k"].iloc[0], key
