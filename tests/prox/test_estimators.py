"""Lasso / ElasticNet / GroupLasso: scikit-learn parity, duality gap, warm starts, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from verigrad import prox


def problem(n, p, seed, offset=3.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + offset * rng.normal(size=p)  # uncentred columns
    y = X[:, :4] @ rng.normal(size=4) + rng.normal(size=n) + 2.0
    return X, y


def alpha_max(X, y):
    Xc, yc = X - X.mean(0), y - y.mean()
    return np.abs(Xc.T @ yc).max() / len(y)


def sklearn_gap(X, y, w, b, alpha, l1_ratio, positive, fit_intercept):
    """scikit-learn's formulation-A gap on the normalised objective, computed independently."""
    n = len(y)
    if fit_intercept:
        X, y = X - X.mean(0), y - y.mean()
    l1, l2 = n * alpha * l1_ratio, n * alpha * (1 - l1_ratio)
    R = y - X @ w
    A = X.T @ R - l2 * w
    dual_norm = A.max() if positive else np.abs(A).max()
    scale = min(1.0, l1 / dual_norm)
    smooth = R @ R + l2 * w @ w
    gap = 0.5 * smooth + l1 * np.abs(w).sum() + 0.5 * scale**2 * smooth - scale * R @ y
    return gap / n, (y @ y) / n


CASES = [(60, 25, 0), (40, 120, 1), (300, 40, 2)]


@pytest.mark.parametrize("n, p, seed", CASES)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("model", ["Lasso", "ElasticNet"])
def test_matches_sklearn(n, p, seed, fit_intercept, positive, model):
    import sklearn.linear_model as sk

    X, y = problem(n, p, seed)
    kwargs = {"l1_ratio": 0.4} if model == "ElasticNet" else {}
    for fraction in (0.05, 0.3):
        alpha = fraction * alpha_max(X, y)
        ours = getattr(prox, model)(
            alpha=alpha, fit_intercept=fit_intercept, positive=positive, tol=1e-10, **kwargs
        ).fit(X, y)
        ref = getattr(sk, model)(
            alpha=alpha,
            fit_intercept=fit_intercept,
            positive=positive,
            tol=1e-10,
            max_iter=1_000_000,
            **kwargs,
        ).fit(X, y)
        scale = max(1.0, np.abs(ref.coef_).max())
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6 * scale)
        assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * max(1.0, abs(ref.intercept_))
        if positive:
            assert np.all(ours.coef_ >= 0)
        # the certificate: the gap reached the same tolerance as scikit-learn's rule
        gap, yy = sklearn_gap(
            X,
            y,
            ours.coef_,
            ours.intercept_,
            alpha,
            kwargs.get("l1_ratio", 1.0),
            positive,
            fit_intercept,
        )
        assert ours.converged_
        assert np.isclose(ours.dual_gap_tol_, 1e-10 * yy)
        assert gap <= ours.dual_gap_tol_ and abs(gap - ours.dual_gap_) <= 1e-9 * yy
        np.testing.assert_allclose(ours.predict(X), X @ ours.coef_ + ours.intercept_)


def test_benchmark_sized_problem_reaches_sklearn_objective():
    import sklearn.linear_model as sk

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 800))
    y = X[:, :10] @ rng.normal(size=10) + 0.5 * rng.normal(size=200)
    alpha = 0.1 * alpha_max(X, y)
    ours = prox.Lasso(alpha=alpha, tol=1e-10).fit(X, y)
    ref = sk.Lasso(alpha=alpha, tol=1e-10).fit(X, y)

    def objective(m):
        r = y - X @ m.coef_ - m.intercept_
        return 0.5 * r @ r / len(y) + alpha * np.abs(m.coef_).sum()

    assert objective(ours) <= objective(ref) * (1 + 1e-9)
    assert ours.n_iter_ <= 10  # a handful of passes over X


def test_gap_safe_screening_removes_only_features_zero_at_the_optimum():
    import sklearn.linear_model as sk

    from verigrad.prox.lasso_solver import enet_working_set

    X, y = problem(60, 300, 12)
    alpha = 0.2 * alpha_max(X, y)
    yc, mean = y - y.mean(), X.mean(0)
    ref = sk.Lasso(alpha=alpha, tol=1e-12, max_iter=100000).fit(X, y)
    # start near the solution: the first gap is small, so the sphere test fires at once
    start = ref.coef_ * 1.001
    solution = enet_working_set(X, yc, len(y) * alpha, x_mean=mean, tol=1e-10, w0=start)
    assert solution.converged and solution.screened.sum() > 150
    assert np.all(ref.coef_[solution.screened] == 0)
    assert np.all(solution.coef[solution.screened] == 0)
    np.testing.assert_allclose(solution.coef, ref.coef_, atol=1e-6)


def test_alpha_above_alpha_max_gives_zero_in_one_pass():
    X, y = problem(50, 10, 3)
    model = prox.Lasso(alpha=1.01 * alpha_max(X, y)).fit(X, y)
    np.testing.assert_array_equal(model.coef_, 0.0)
    # the start (zeros) is certified by the first pass: no iteration to run, as GroupLasso
    assert model.n_iter_ == 0 and model.dual_gap_ <= 1e-12
    group = prox.GroupLasso(alpha=1.01 * alpha_max(X, y)).fit(X, y)
    assert group.n_iter_ == 0
    assert np.isclose(model.intercept_, y.mean())


def test_warm_start_resumes_from_the_solution():
    X, y = problem(80, 30, 4)
    alpha = 0.1 * alpha_max(X, y)
    model = prox.Lasso(alpha=alpha, tol=1e-10, warm_start=True).fit(X, y)
    first = model.coef_.copy()
    model.fit(X, y)
    assert model.n_iter_ == 0  # the warm start already meets the tolerance
    np.testing.assert_array_equal(model.coef_, first)
    cold = prox.Lasso(alpha=alpha, tol=1e-10).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ >= 1  # the cold start has to run


@pytest.mark.parametrize("estimator", [prox.Lasso, prox.ElasticNet])
def test_n_iter_never_exceeds_max_iter(estimator):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    model = estimator(alpha=0.1, max_iter=1).fit(X, y)
    # one working-set iteration solves this small problem; the next pass only certifies it
    assert model.converged_ and model.n_iter_ == 1
    reference = estimator(alpha=0.1).fit(X, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    X, y = rng.normal(size=(10, 40)), rng.normal(size=10)
    for max_iter in (1, 3, 20):
        with pytest.warns(prox.ConvergenceWarning):
            model = estimator(alpha=0.001, tol=0.0, max_iter=max_iter).fit(X, y)
        assert model.n_iter_ == max_iter and not model.converged_


def test_ridge_and_least_squares_limits():
    X, y = problem(60, 8, 5)
    Xc, yc = X - X.mean(0), y - y.mean()
    ols = prox.ElasticNet(alpha=0.0, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(ols.coef_, np.linalg.lstsq(Xc, yc, rcond=None)[0], rtol=1e-9)
    ridge = prox.ElasticNet(alpha=0.5, l1_ratio=0.0, tol=1e-10).fit(X, y)
    n = len(y)
    expected = np.linalg.solve(Xc.T @ Xc + n * 0.5 * np.eye(8), Xc.T @ yc)
    np.testing.assert_allclose(ridge.coef_, expected, rtol=1e-9)
    nnls = prox.Lasso(alpha=0.0, positive=True).fit(X, y)
    from scipy.optimize import nnls as scipy_nnls

    np.testing.assert_allclose(nnls.coef_, scipy_nnls(Xc, yc)[0], atol=1e-9)
    # non-negative ridge = NNLS on the augmented system [Xc; sqrt(n l2) I] w = [yc; 0]
    ridge_pos = prox.ElasticNet(alpha=0.5, l1_ratio=0.0, positive=True, tol=1e-12).fit(X, y)
    augmented = np.vstack([Xc, np.sqrt(n * 0.5) * np.eye(8)])
    expected = scipy_nnls(augmented, np.concatenate([yc, np.zeros(8)]))[0]
    np.testing.assert_allclose(ridge_pos.coef_, expected, atol=1e-7)


def test_large_column_means_are_centred_accurately():
    import sklearn.linear_model as sk

    X, y = problem(100, 20, 6, offset=0.0)
    X = X + 1e6  # ||X_j||^2 - n mean_j^2 would cancel catastrophically
    alpha = 0.1 * alpha_max(X, y)
    ours = prox.Lasso(alpha=alpha, tol=1e-10).fit(X, y)
    ref = sk.Lasso(alpha=alpha, tol=1e-10, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def test_float32_input_and_inputs_not_modified():
    X, y = problem(50, 12, 7)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    Xb, yb = X32.copy(), y32.copy()
    model = prox.Lasso(alpha=0.05).fit(X32, y32)
    assert model.coef_.dtype == np.float32
    np.testing.assert_array_equal(X32, Xb)
    np.testing.assert_array_equal(y32, yb)
    # the float32 fit is the same fit: against the float64 one on the same (rounded) data
    # and the original data, and against scikit-learn on the float32 data (differences seen:
    # 2e-7, on coefficients up to 2.6)
    import sklearn.linear_model as sk

    X32_64, y32_64 = X32.astype(np.float64), y32.astype(np.float64)
    for alpha in (0.05, 0.1 * alpha_max(X32_64, y32_64)):  # 10 and 3 non-zero coefficients
        ours = prox.Lasso(alpha=alpha).fit(X32, y32)
        assert ours.coef_.dtype == np.float32
        for X64_, y64_ in ((X32_64, y32_64), (X, y)):
            fit64 = prox.Lasso(alpha=alpha).fit(X64_, y64_)
            np.testing.assert_allclose(ours.coef_, fit64.coef_, rtol=0, atol=1e-5)
            assert ours.intercept_ == pytest.approx(fit64.intercept_, abs=1e-5)
        ref = sk.Lasso(alpha=alpha, tol=1e-8, max_iter=100000).fit(X32, y32)
        assert ref.coef_.dtype == np.float32
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-5)
        assert ours.intercept_ == pytest.approx(float(ref.intercept_), abs=1e-5)
        np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)
    X64 = X.copy()
    prox.ElasticNet(alpha=0.05).fit(X64, y)
    np.testing.assert_array_equal(X64, X)


def test_convergence_warning_when_max_iter_is_too_small():
    X, y = problem(40, 100, 8)
    with pytest.warns(prox.ConvergenceWarning, match="duality gap"):
        model = prox.Lasso(alpha=0.01 * alpha_max(X, y), tol=1e-14, max_iter=1).fit(X, y)
    assert not model.converged_ and model.dual_gap_ > model.dual_gap_tol_


def test_group_lasso_with_singleton_groups_is_the_lasso():
    X, y = problem(70, 15, 9)
    alpha = 0.1 * alpha_max(X, y)
    lasso = prox.Lasso(alpha=alpha, tol=1e-12).fit(X, y)
    group = prox.GroupLasso(
        alpha=alpha,
        groups=[[j] for j in range(15)],
        weights=np.ones(15),
        tol=1e-12,
        max_iter=100000,
    ).fit(X, y)
    np.testing.assert_allclose(group.coef_, lasso.coef_, atol=1e-6)
    default = prox.GroupLasso(alpha=alpha, tol=1e-12, max_iter=100000).fit(X, y)  # groups=None
    np.testing.assert_allclose(default.coef_, lasso.coef_, atol=1e-6)


@pytest.mark.parametrize("n, p", [(80, 12), (30, 45)])
def test_group_lasso_satisfies_kkt(n, p):
    X, y = problem(n, p, 10)
    groups = [list(range(k, min(k + 3, p))) for k in range(0, p, 3)]
    weights = np.sqrt([len(g) for g in groups])
    Xc, yc = X - X.mean(0), y - y.mean()
    alpha = (
        0.3
        * max(np.linalg.norm(Xc[:, g].T @ yc) / w for g, w in zip(groups, weights, strict=True))
        / n
    )
    model = prox.GroupLasso(alpha=alpha, groups=groups, tol=1e-12, max_iter=100000).fit(X, y)
    assert model.converged_ and model.dual_gap_ <= model.dual_gap_tol_
    R = yc - Xc @ model.coef_
    active = 0
    for g, w in zip(groups, weights, strict=True):
        corr = Xc[:, g].T @ R / n
        wg = model.coef_[g]
        if np.linalg.norm(wg) > 0:
            active += 1
            np.testing.assert_allclose(corr, alpha * w * wg / np.linalg.norm(wg), atol=1e-5 * alpha)
        else:
            assert np.linalg.norm(corr) <= alpha * w * (1 + 1e-6)
    assert 0 < active < len(groups)
    assert np.isclose(model.intercept_, y.mean() - X.mean(0) @ model.coef_)


BAD = np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 1.0]])


@pytest.mark.parametrize(
    "make, X, y, match",
    [
        (lambda: prox.Lasso(alpha=-1.0), None, None, "alpha"),
        (lambda: prox.ElasticNet(alpha=-0.1), None, None, "alpha"),
        (lambda: prox.ElasticNet(l1_ratio=1.5), None, None, "l1_ratio"),
        (lambda: prox.Lasso(tol=-1.0), None, None, "tol"),
        (lambda: prox.Lasso(max_iter=0), None, None, "max_iter"),
        (lambda: prox.GroupLasso(alpha=-1.0, groups=[[0], [1]]), None, None, "alpha"),
        (lambda: prox.Lasso(), np.ones((3, 2)), np.ones(4), "X, y: X has 3 samples but y has 4"),
        (lambda: prox.Lasso(), np.ones(3), np.ones(3), "X: expected a 2-D"),
        (lambda: prox.Lasso(), np.ones((3, 2)), np.ones((3, 2)), "y: expected a 1-D"),
        (lambda: prox.Lasso(), BAD, np.ones(3), "X: contains 1 NaN or infinite"),
        (
            lambda: prox.ElasticNet(),
            np.ones((3, 2)),
            np.array([1.0, np.inf, 0.0]),
            "y: contains 1 NaN",
        ),
        (
            lambda: prox.GroupLasso(groups=[[0]]),
            np.ones((3, 2)),
            np.ones(3),
            "groups: must cover every feature",
        ),
        (
            lambda: prox.GroupLasso(groups=[[0, 1], [1]]),
            np.ones((3, 2)),
            np.ones(3),
            "groups: groups overlap",
        ),
        (
            lambda: prox.GroupLasso(groups=[[0, 1, 2]]),
            np.ones((3, 2)),
            np.ones(3),
            "groups: index 2 is out of range",
        ),
        (
            lambda: prox.GroupLasso(groups=[[0], [1]], weights=[1.0]),
            np.ones((3, 2)),
            np.ones(3),
            "weights",
        ),
    ],
)
def test_fit_errors_name_the_parameter(make, X, y, match):
    X = np.random.default_rng(0).normal(size=(5, 2)) if X is None else X
    y = np.ones(X.shape[0]) if y is None else y
    model = make()  # construction stores hyperparameters without validating
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


def test_type_errors_and_predict_errors():
    X, y = problem(20, 5, 11)
    with pytest.raises(TypeError, match="positive"):
        prox.Lasso(positive="yes").fit(X, y)
    with pytest.raises(TypeError, match="alpha"):
        prox.Lasso(alpha="big").fit(X, y)
    with pytest.raises(RuntimeError, match="fit"):
        prox.Lasso().predict(X)
    model = prox.Lasso(alpha=0.1).fit(X, y)
    with pytest.raises(ValueError, match="X: expected 5 features"):
        model.predict(np.ones((2, 4)))
    assert "alpha=0.1" in repr(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.score(X, y) > 0.5


def test_sparse_input_is_accepted_and_as_float_array_still_refuses_it():
    """Issue 16 made the estimators accept scipy.sparse (tests/prox/test_sparse.py); the
    bottom-layer as_float_array still refuses it with a dense suggestion."""
    import scipy.sparse

    from verigrad._checks import as_float_array

    X, y = problem(20, 5, 6)
    for sparse in (scipy.sparse.csr_matrix(X), scipy.sparse.csc_array(X)):
        for estimator in (prox.Lasso(alpha=0.1), prox.ElasticNet(alpha=0.1), prox.GroupLasso()):
            dense = type(estimator)(**estimator.get_params()).fit(X, y)
            estimator.fit(sparse, y)
            np.testing.assert_allclose(estimator.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(estimator.predict(sparse), dense.predict(X), rtol=1e-9)
    with pytest.raises(TypeError, match=r"weights: scipy\.sparse .*weights\.toarray\(\)"):
        as_float_array(scipy.sparse.coo_matrix(X), "weights")


def test_column_vector_y_is_raveled_with_sklearns_warning():
    from verigrad._sklearn import DataConversionWarning

    X, y = problem(20, 5, 6)
    flat = prox.Lasso(alpha=0.1).fit(X, y)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = prox.Lasso(alpha=0.1).fit(X, y[:, None])
    np.testing.assert_array_equal(column.coef_, flat.coef_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_intercept_is_a_numpy_scalar_of_the_coefficients_dtype(dtype, fit_intercept):
    X, y = problem(40, 6, 10)
    X, y = X.astype(dtype), y.astype(dtype)
    for model in (prox.Lasso(alpha=0.1), prox.ElasticNet(alpha=0.1), prox.GroupLasso(alpha=0.1)):
        model.fit_intercept = fit_intercept
        model.fit(X, y)
        assert type(model.intercept_) is dtype and model.coef_.dtype == dtype
        assert model.predict(X).dtype == dtype
        if fit_intercept:
            mean = y.astype(np.float64).mean() - X.astype(np.float64).mean(0) @ model.coef_
            assert model.intercept_ == pytest.approx(mean, rel=1e-6)
        else:
            assert model.intercept_ == 0
