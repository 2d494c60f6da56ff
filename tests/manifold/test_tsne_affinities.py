"""Affinities: parity with scikit-learn's exact P, the kNN search, edge cases, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import squareform
from sklearn.manifold._t_sne import _joint_probabilities
from sklearn.metrics import pairwise_distances

from verigrad.manifold import joint_probabilities
from verigrad.manifold.affinities import conditional_probabilities, nearest_neighbors


@pytest.mark.parametrize(
    "seed, n, d, perplexity", [(0, 120, 5, 30.0), (1, 200, 20, 10.0), (2, 60, 3, 50.0)]
)
def test_exact_P_equals_sklearn(seed, n, d, perplexity):
    X = np.random.default_rng(seed).normal(size=(n, d)) * (seed + 1)
    distances = pairwise_distances(X, metric="euclidean", squared=True)
    expected = squareform(_joint_probabilities(distances, perplexity, 0))
    P = joint_probabilities(X, perplexity, method="exact")
    assert P.shape == (n, n) and P.dtype == np.float64
    np.testing.assert_allclose(P, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(P, P.T, rtol=0, atol=0)
    assert np.all(np.diag(P) == 0)


def test_conditional_rows_reach_the_perplexity():
    X = np.random.default_rng(3).normal(size=(150, 8))
    d = pairwise_distances(X, squared=True)
    conditional = conditional_probabilities(d, 25.0, exclude_diagonal=True)
    np.testing.assert_allclose(conditional.sum(axis=1), 1.0, atol=1e-12)
    safe = np.where(conditional > 0, conditional, 1.0)
    perplexity = np.exp(-np.sum(conditional * np.log(safe), axis=1))
    np.testing.assert_allclose(perplexity, 25.0, rtol=1e-4)


@pytest.mark.parametrize("chunk_bytes", [8 * 150 * 7, 2**25])
def test_nearest_neighbors_match_brute_force(chunk_bytes):
    X = np.random.default_rng(4).normal(size=(150, 6))
    indices, distances = nearest_neighbors(X, 12, chunk_bytes=chunk_bytes)
    full = pairwise_distances(X, squared=True)
    np.fill_diagonal(full, np.inf)
    order = np.argsort(full, axis=1)[:, :12]
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(distances, np.take_along_axis(full, order, axis=1), atol=1e-10)


def test_fft_P_is_sparse_symmetric_normalised_and_close_to_sklearn_nn():
    from sklearn.manifold._t_sne import _joint_probabilities_nn

    X = np.random.default_rng(5).normal(size=(300, 10))
    P = joint_probabilities(X, 20.0, method="fft")
    assert sp.issparse(P) and P.format == "csr"
    assert abs(P.sum() - 1.0) < 1e-12
    assert abs(P - P.T).max() < 1e-15
    k = 60
    assert P.nnz <= 2 * 300 * k and P.getnnz(axis=1).min() >= k
    indices, distances = nearest_neighbors(X, k)
    graph = sp.csr_matrix(
        (distances.ravel(), indices.ravel(), np.arange(0, 300 * k + 1, k)), shape=(300, 300)
    )
    expected = _joint_probabilities_nn(graph, 20.0, 0)
    np.testing.assert_allclose(P.toarray(), expected.toarray(), rtol=2e-4, atol=1e-9)


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_duplicates_and_constant_columns_give_finite_P(method):
    rng = np.random.default_rng(6)
    X = np.repeat(rng.normal(size=(20, 4)), 5, axis=0)  # every point five times
    X = np.column_stack([X, np.full(len(X), 3.0)])  # and a constant column
    P = joint_probabilities(X, 10.0, method=method)
    values = P.data if sp.issparse(P) else P
    assert np.all(np.isfinite(values)) and abs(values.sum() - 1.0) < 1e-9
    # identical points: a uniform conditional distribution
    P_same = joint_probabilities(np.zeros((8, 2)), 3.0, method=method)
    dense = P_same.toarray() if sp.issparse(P_same) else P_same
    assert np.all(np.isfinite(dense))
    np.testing.assert_allclose(dense[~np.eye(8, dtype=bool)], 1 / 56, rtol=1e-6)


def test_far_outlier_keeps_positive_affinities():
    X = np.random.default_rng(7).normal(size=(50, 3))
    X[0] += 1e4
    P = joint_probabilities(X, 5.0, method="fft")
    assert P[0].sum() > 0 and np.all(np.isfinite(P.data))


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_errors(method):
    X = np.random.default_rng(8).normal(size=(10, 3))
    with pytest.raises(ValueError, match="perplexity.*less than n_samples=10"):
        joint_probabilities(X, 10.0, method=method)
    with pytest.raises(ValueError, match="more than 3 samples"):
        joint_probabilities(X[:3], 1.0, method=method)
    with pytest.raises(ValueError, match="perplexity: must be >= 1"):
        joint_probabilities(X, 1e-9, method=method)
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X: contains 1 NaN"):
        joint_probabilities(bad, 3.0, method=method)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="X: contains"):
        joint_probabilities(bad, 3.0, method=method)
    with pytest.raises(ValueError, match="method"):
        joint_probabilities(X, 3.0, method="barnes_hut")


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_smallest_perplexity_puts_each_row_on_its_nearest_neighbour(method):
    """perplexity = 1 (the lower bound: exp of an entropy) is the limit of a one-hot row."""
    X = np.random.default_rng(9).normal(size=(40, 3))
    P = joint_probabilities(X, 1.0, method=method)
    dense = P.toarray() if sp.issparse(P) else P
    assert abs(dense.sum() - 1.0) < 1e-9 and np.all(np.isfinite(dense))
    full = pairwise_distances(X, squared=True)
    np.fill_diagonal(full, np.inf)
    nearest = full.argmin(axis=1)
    rows = np.arange(40)
    # p_ij = (p_{j|i} + p_{i|j}) / 2N: each row holds at least 1 / 2N on its nearest neighbour
    assert np.all(dense[rows, nearest] > 0.99 / 80)


@pytest.mark.parametrize("method", ["exact", "fft"])
@pytest.mark.parametrize(
    "shift,scale",
    [(1e4, 1.0), (1e6, 1.0), (0.0, 1e-20), (0.0, 1e20), (0.0, 1e-200), (0.0, 1e160)],
)
def test_affinities_do_not_change_when_the_data_is_shifted_or_scaled(method, shift, scale):
    # P depends on distances relative to each point's bandwidth only. Before, the fft
    # method's float32 neighbour ranking lost the real distances under an offset (wrong
    # neighbour sets from +1e3), far scales put the precision out of the search's reach, and
    # 1e-200 (1e160) made the squared distances underflow to 0 (overflow)
    X = np.random.default_rng(3).normal(size=(200, 8)) * 3
    P = joint_probabilities(X, 10.0, method=method)
    moved = joint_probabilities(X * scale + shift, 10.0, method=method)
    if method == "fft":
        assert (P != 0).toarray().tolist() == (moved != 0).toarray().tolist()  # same neighbours
        P, moved = P.toarray(), moved.toarray()
    # the bandwidth search stops at |H - log perplexity| <= 1e-5, hence not bit for bit
    np.testing.assert_allclose(moved, P, atol=1e-5 * P.max())
    assert np.isfinite(moved).all()


def test_data_near_the_ends_of_float64_gives_the_affinities_of_its_rescaled_self():
    """Squared distances of data at 1e300 overflow and at 1e-300 underflow; P depends on
    their ratios only, so the data is brought to unit scale by a power of two first (exact)."""
    X = np.random.default_rng(0).normal(size=(50, 4))
    for method in ("exact", "fft"):
        P = joint_probabilities(X, 10.0, method=method)
        for scale in (2.0**1000, 2.0**-1000):
            scaled = joint_probabilities(X * scale, 10.0, method=method)
            difference = scaled - P
            if method == "fft":
                difference = difference.toarray()
            assert np.abs(difference).max() == 0.0
