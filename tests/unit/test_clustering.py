"""k selection on hand-made data, the seed's flaws fixed, degenerate segments."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from vigia.glosa import clustering
from vigia.glosa.clustering import CLUSTERED, SKIPPED, cluster_matrix


def blobs(centres, per, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([np.asarray(c) + rng.normal(0, spread, size=(per, len(c))) for c in centres])
    return X, np.repeat(np.arange(len(centres)), per)


@pytest.mark.parametrize("k_true", [2, 3, 5])
def test_chooses_the_k_of_well_separated_clusters(k_true):
    # centres differ in every feature, as StandardScaler puts all four on the same footing
    centres = [(0, 0, 0, 0), (10, 10, 10, 10), (0, 10, 20, 10), (20, 0, 10, 20), (10, 20, 0, 0)][:k_true]
    X, truth = blobs(centres, per=30)
    result = cluster_matrix(X)
    assert result.status == CLUSTERED
    assert result.k == k_true
    assert adjusted_rand_score(truth, result.labels) == 1.0
    assert result.silhouette > 0.9
    assert set(result.scores) == set(range(2, 15))


def test_labels_are_those_of_the_seeded_fit_that_was_scored():
    X, _ = blobs([(0, 0, 0, 0), (3, 3, 0, 0), (0, 3, 3, 0)], per=40, spread=0.8, seed=3)
    result = cluster_matrix(X)
    expected = KMeans(n_clusters=result.k, random_state=clustering.SEED, n_init="auto").fit(
        StandardScaler().fit_transform(X)).labels_
    assert np.array_equal(result.labels, expected)
    again = cluster_matrix(X)
    assert again.k == result.k and np.array_equal(again.labels, result.labels)
    assert again.scores == result.scores


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_zero_to_three_rows_are_skipped_with_a_reason(n):
    result = cluster_matrix(np.ones((n, 4)) * np.arange(n).reshape(-1, 1))
    assert result.status == SKIPPED
    assert result.labels is None and result.k is None
    assert f"{n} linha(s)" in result.reason and "ao menos 4" in result.reason


def test_identical_rows_are_skipped_not_crashing():
    result = cluster_matrix(np.tile([100.0, 0.1, 5.0, 0.0], (25, 1)))
    assert result.status == SKIPPED
    assert "mesmas features" in result.reason


def test_two_distinct_points_repeated_give_k_two():
    X = np.vstack([np.tile([1.0, 0.1, 0, 0], (5, 1)), np.tile([50.0, 0.9, 3, 1], (4, 1))])
    result = cluster_matrix(X)
    assert result.status == CLUSTERED and result.k == 2
    assert list(result.scores) == [2]  # k is capped by the number of distinct points
    assert adjusted_rand_score([0] * 5 + [1] * 4, result.labels) == 1.0


def test_four_rows_try_only_k_two():
    result = cluster_matrix(np.array([[0, 0, 0, 0], [0.1, 0, 0, 0], [9, 9, 9, 9], [9.1, 9, 9, 9]], float))
    assert result.k == 2 and list(result.scores) == [2]


def test_non_finite_features_are_skipped_with_a_reason():
    X = np.ones((10, 4)) * np.arange(10).reshape(-1, 1)
    X[3, 1] = np.nan
    result = cluster_matrix(X)
    assert result.status == SKIPPED and "não finitos" in result.reason


def test_big_segments_score_silhouette_on_a_fixed_sample():
    X, truth = blobs([(0, 0, 0, 0), (6, 0, 0, 0), (0, 6, 0, 0)], per=1500, spread=1.0, seed=1)
    result = cluster_matrix(X, sample_size=1000)
    assert result.silhouette_rows == 1000
    assert len(result.labels) == len(X)  # K-Means sees every row
    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels) > 0.95
    assert cluster_matrix(X, sample_size=1000).scores == result.scores  # same sample every time
    assert cluster_matrix(X[:800], sample_size=1000).silhouette_rows == 800
