"""scipy.sparse X for Lasso / ElasticNet / GroupLasso: never densified, same fit as dense."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from verigrad import prox
from verigrad.prox.design import centred_columns, centred_rmatvec, centred_sq_norms


def sparse_problem(n=120, p=300, density=0.03, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csr", random_state=rng)
    X.data += offset
    w = np.zeros(p)
    w[:6] = 3 * rng.normal(size=6)
    y = X @ w + 0.1 * rng.normal(size=n) + 1.0
    return X, y


def alpha_max(X, y):
    yc = y - y.mean()
    return np.abs(X.T @ yc).max() / len(y)


def objective(X, y, coef, intercept, alpha, l1_ratio=1.0):
    r = y - X @ coef - intercept
    return (
        0.5 * r @ r / len(y)
        + alpha * l1_ratio * np.abs(coef).sum()
        + 0.5 * alpha * (1 - l1_ratio) * coef @ coef
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_sparse_equals_dense(fmt, fit_intercept, positive, l1_ratio):
    X, y = sparse_problem()
    alpha = 0.05 * alpha_max(X, y)
    kwargs = dict(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, positive=positive)
    dense = prox.ElasticNet(**kwargs, tol=1e-12).fit(X.toarray(), y)
    sparse = prox.ElasticNet(**kwargs, tol=1e-12).fit(X.asformat(fmt), y)
    f_dense = objective(X, y, dense.coef_, dense.intercept_, alpha, l1_ratio)
    f_sparse = objective(X, y, sparse.coef_, sparse.intercept_, alpha, l1_ratio)
    assert f_sparse == pytest.approx(f_dense, rel=1e-6)
    if l1_ratio > 0:  # a strictly convex or identified problem: the same coefficients
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), atol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_group_lasso_sparse_equals_dense(fit_intercept):
    for n, p in ((120, 300), (400, 60)):  # the n < p (products) and n >= p (Gram) paths
        X, y = sparse_problem(n, p, density=0.05)
        groups = [list(range(j, min(p, j + 5))) for j in range(0, p, 5)]
        alpha = 0.05 * alpha_max(X, y)
        kwargs = dict(alpha=alpha, groups=groups, fit_intercept=fit_intercept, tol=1e-12)
        dense = prox.GroupLasso(**kwargs).fit(X.toarray(), y)
        sparse = prox.GroupLasso(**kwargs).fit(X, y)
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-5, atol=1e-8)
        assert sparse.intercept_ == pytest.approx(dense.intercept_, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("model", ["Lasso", "ElasticNet"])
def test_sparse_matches_sklearns_sparse_fit(model):
    import sklearn.linear_model as sk

    X, y = sparse_problem(300, 800, density=0.01, seed=3)
    alpha = 0.1 * alpha_max(X, y)
    kwargs = {"l1_ratio": 0.7} if model == "ElasticNet" else {}
    ours = getattr(prox, model)(alpha=alpha, tol=1e-10, **kwargs).fit(X, y)
    ref = getattr(sk, model)(alpha=alpha, tol=1e-10, max_iter=100000, **kwargs).fit(X, y)
    l1_ratio = kwargs.get("l1_ratio", 1.0)
    f_ours = objective(X, y, ours.coef_, ours.intercept_, alpha, l1_ratio)
    f_ref = objective(X, y, ref.coef_, ref.intercept_, alpha, l1_ratio)
    assert f_ours <= f_ref * (1 + 1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)


def test_sparse_x_is_never_densified(monkeypatch):
    """Only working-set column blocks become dense: record every densified shape."""
    X, y = sparse_problem(200, 2000, density=0.005)
    shapes = []
    for cls in (sp.csc_matrix, sp.csr_matrix):
        original = cls.toarray

        def recording(self, *args, original=original, **kwargs):
            shapes.append(self.shape)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "toarray", recording)
    for model in (prox.Lasso(alpha=0.1 * alpha_max(X, y)), prox.GroupLasso(alpha=0.05)):
        model.fit(X, y)
        assert model.converged_
    assert shapes and max(cols for _, cols in shapes) < X.shape[1] / 4


def test_implicit_centring_helpers_are_exact():
    X, _ = sparse_problem(50, 40, density=0.2, offset=1e3)  # large means: cancellation-prone
    dense = X.toarray()
    mean = dense.mean(axis=0)
    np.testing.assert_allclose(
        centred_sq_norms(X, mean), ((dense - mean) ** 2).sum(axis=0), rtol=1e-10
    )
    r = np.random.default_rng(1).normal(size=50)
    np.testing.assert_allclose(centred_rmatvec(X, mean, r), (dense - mean).T @ r, rtol=1e-9)
    np.testing.assert_allclose(centred_columns(X.tocsc(), mean, [3, 7]), (dense - mean)[:, [3, 7]])


def test_sparse_nan_is_refused_naming_x():
    X, y = sparse_problem(30, 20, density=0.3)
    X = X.tocsr()
    X.data[0] = np.nan
    with pytest.raises(ValueError, match="X: contains 1 NaN"):
        prox.Lasso().fit(X, y)
