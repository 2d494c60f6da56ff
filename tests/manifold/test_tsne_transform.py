"""TSNE.transform: new points into a fitted map (openTSNE's approach), against openTSNE."""

from __future__ import annotations

import numpy as np
import pytest

from verigrad.manifold import TSNE, embed_new_points
from verigrad.manifold.affinities import affinities_to, neighbors_to
from verigrad.manifold.gradients import kl_gradient_partial


def digits_split(n=1000, seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(
        X[:n].astype(float), y[:n], test_size=0.2, random_state=seed, stratify=y[:n]
    )


@pytest.fixture(scope="module")
def fitted():
    X_train, X_test, y_train, y_test = digits_split()
    model = TSNE(random_state=0).fit(X_train)
    return model, X_train, X_test, y_train, y_test


def knn_accuracy(train_embedding, y_train, test_embedding, y_test):
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=10).fit(train_embedding, y_train)
    return knn.score(test_embedding, y_test)


def test_training_points_land_near_their_embedding(fitted):
    model, X_train, *_ = fitted
    placed = model.transform(X_train[:150])
    span = np.ptp(model.embedding_, axis=0).max()
    moved = np.linalg.norm(placed - model.embedding_[:150], axis=1)
    assert np.median(moved) < 0.01 * span
    # each lands among its own nearest embedded neighbours
    from sklearn.neighbors import NearestNeighbors

    nearest = NearestNeighbors(n_neighbors=5).fit(model.embedding_).kneighbors(placed)[1]
    assert np.mean([i in row for i, row in enumerate(nearest)]) > 0.9


def test_held_out_knn_accuracy_against_openTSNE(fitted):
    openTSNE = pytest.importorskip("openTSNE")
    model, X_train, X_test, y_train, y_test = fitted
    ours = knn_accuracy(model.embedding_, y_train, model.transform(X_test), y_test)
    reference = openTSNE.TSNE(random_state=0, n_jobs=1).fit(X_train)
    theirs = knn_accuracy(
        np.asarray(reference), y_train, np.asarray(reference.transform(X_test)), y_test
    )
    # one held-out point is 1/200 of accuracy: allow one point of noise between two maps
    assert ours >= theirs - 1 / len(y_test), (ours, theirs)
    assert ours > 0.95


def test_transform_places_each_point_independently(fitted):
    model, _, X_test, *_ = fitted
    whole = model.transform(X_test[:40])
    np.testing.assert_allclose(model.transform(X_test[10:20]), whole[10:20], atol=1e-8)
    np.testing.assert_allclose(model.transform(X_test[:40][::-1]), whole[::-1], atol=1e-8)


def test_transform_errors_and_dtype(fitted):
    from verigrad._sklearn import NotFittedError

    model, X_train, X_test, *_ = fitted
    with pytest.raises(NotFittedError, match="not fitted"):
        TSNE().transform(X_test)
    with pytest.raises(ValueError, match="X has 3 features, but TSNE is expecting 64"):
        model.transform(X_test[:, :3])
    with pytest.raises(ValueError, match="Reshape your data"):
        model.transform(X_test[0])
    bad = X_test[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X: contains 1 NaN"):
        model.transform(bad)
    small = TSNE(perplexity=5, max_iter=300, random_state=0).fit(X_train[:60].astype(np.float32))
    assert small.transform(X_test[:5].astype(np.float32)).dtype == np.float32


def test_partial_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(30, 2))
    X_ref, X_new = rng.normal(size=(30, 5)), rng.normal(size=(4, 5))
    indices, P = affinities_to(X_ref, X_new, 3.0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    Y = rng.normal(size=(4, 2))
    kl, grad = kl_gradient_partial(P, indices, Y, reference, dtype=np.float64)
    # single-precision passes agree to 1e-5 of the largest entry
    kl_32, grad_32 = kl_gradient_partial(P, indices, Y, reference, dtype=np.float32)
    assert np.abs(grad_32 - grad).max() < 1e-5 * np.abs(grad).max()
    assert kl_32 == pytest.approx(kl, rel=1e-6)
    eps = 1e-6
    numeric = np.zeros_like(Y)
    for i in range(4):
        for d in range(2):
            step = np.zeros_like(Y)
            step[i, d] = eps
            numeric[i, d] = (
                kl_gradient_partial(P, indices, Y + step, reference, dtype=np.float64)[0]
                - kl_gradient_partial(P, indices, Y - step, reference, dtype=np.float64)[0]
            ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_neighbors_to_are_the_exact_nearest():
    rng = np.random.default_rng(1)
    reference, X = rng.normal(size=(200, 6)) + 1e3, rng.normal(size=(30, 6)) + 1e3
    indices, distances = neighbors_to(reference, X, 7)
    full = ((X[:, None, :] - reference[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(indices, np.argsort(full, axis=1, kind="stable")[:, :7])
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :7], rtol=1e-6)


def test_embed_new_points_does_not_modify_inputs():
    rng = np.random.default_rng(2)
    X_train, embedding, X_new = (
        rng.normal(size=(50, 4)),
        rng.normal(size=(50, 2)),
        rng.normal(size=(5, 4)),
    )
    copies = [a.copy() for a in (X_train, embedding, X_new)]
    Y, kl = embed_new_points(X_train, embedding, X_new, n_iter=20)
    assert Y.shape == (5, 2) and np.isfinite(kl)
    for a, b in zip((X_train, embedding, X_new), copies, strict=True):
        np.testing.assert_array_equal(a, b)
