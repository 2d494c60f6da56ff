"""SoftmaxClassifier: scikit-learn's LogisticRegression objective, l1 by proximal methods."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from verigrad.prox import SoftmaxClassifier
from verigrad.prox.multinomial import multinomial_objective


def digits(n=400):
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


def sklearn_fit(X, y, C, l1_ratio):
    from sklearn.linear_model import LogisticRegression

    solver = "lbfgs" if l1_ratio == 0 else "saga"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-10, max_iter=20000
        ).fit(X, y)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_matches_logistic_regression(l1_ratio):
    X, y = digits()
    C = 0.1
    ours = SoftmaxClassifier(C=C, l1_ratio=l1_ratio).fit(X, y)
    ref = sklearn_fit(X, y, C, l1_ratio)
    theirs = multinomial_objective(X, y, ref.coef_, ref.intercept_, C, l1_ratio)
    mine = multinomial_objective(X, y, ours.coef_, ours.intercept_, C, l1_ratio)
    assert mine == pytest.approx(ours.objective_, rel=1e-12)
    assert mine <= theirs * (1 + 1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-3)
    if l1_ratio == 1.0:
        assert 0 < np.count_nonzero(ours.coef_) < ours.coef_.size


def test_binary_objective_equals_sklearns_binary_logistic_regression():
    X, y = digits(300)
    y = np.where(y < 5, "low", "high")
    for l1_ratio in (0.0, 1.0):
        ours = SoftmaxClassifier(C=0.5, l1_ratio=l1_ratio).fit(X, y)
        ref = sklearn_fit(X, y, 0.5, l1_ratio)
        # scikit-learn's binary model: one weight vector d = w_1 - w_0
        d = ref.coef_[0]
        z = X @ d + ref.intercept_[0]
        sign = np.where(y == ref.classes_[1], 1.0, -1.0)
        theirs = 0.5 * np.logaddexp(0, -sign * z).sum()
        theirs += 0.5 * (1 - l1_ratio) * d @ d + l1_ratio * np.abs(d).sum()
        assert ours.objective_ <= theirs * (1 + 1e-6)
        assert list(ours.classes_) == ["high", "low"]
        np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
        assert ours.decision_function(X).shape == (len(y),)


def test_sparse_input_gives_the_dense_fit():
    import scipy.sparse

    X, y = digits(200)
    X[np.abs(X) < 0.5] = 0.0
    dense = SoftmaxClassifier(C=0.2, l1_ratio=0.5).fit(X, y)
    sparse = SoftmaxClassifier(C=0.2, l1_ratio=0.5).fit(scipy.sparse.csr_matrix(X), y)
    assert sparse.objective_ == pytest.approx(dense.objective_, rel=1e-6)
    np.testing.assert_array_equal(sparse.predict(scipy.sparse.csc_matrix(X)), dense.predict(X))


@pytest.mark.parametrize(
    "kwargs, y, error, match",
    [
        (dict(C=0.0), None, ValueError, "C: must be"),
        (dict(l1_ratio=1.5), None, ValueError, "l1_ratio"),
        (dict(tol=0), None, ValueError, "tol"),
        (dict(max_iter=0), None, ValueError, "max_iter"),
        (dict(fit_intercept=1), None, TypeError, "fit_intercept"),
        ({}, np.zeros(20), ValueError, "y: needs samples of at least 2 classes"),
        ({}, np.linspace(0, 1, 20), ValueError, "Unknown label type"),
    ],
)
def test_errors_name_the_parameter(kwargs, y, error, match):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 3 if y is None else y
    with pytest.raises(error, match=match):
        SoftmaxClassifier(**kwargs).fit(X, y)


def test_unfitted_and_feature_count_errors():
    from verigrad._sklearn import NotFittedError

    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(NotFittedError, match="not fitted"):
        SoftmaxClassifier().predict(X)
    model = SoftmaxClassifier().fit(X, np.arange(20) % 3)
    with pytest.raises(ValueError, match="X has 2 features, but SoftmaxClassifier is expecting 3"):
        model.predict(X[:, :2])
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), model.predict_proba(X))
