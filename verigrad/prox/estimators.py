"""Lasso, ElasticNet and GroupLasso: scikit-learn's objectives, thin shells over pure fits.

Objectives (``n`` samples, intercept ``b`` unpenalised and removed by centring ``X`` and
``y`` when ``fit_intercept``; ``b = mean(y) - mean(X) . w``)::

    Lasso        1/(2n) ||y - Xw - b||^2 + alpha ||w||_1
    ElasticNet   1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1
                                         + alpha (1 - l1_ratio)/2 ||w||_2^2
    GroupLasso   1/(2n) ||y - Xw - b||^2 + alpha sum_g weight_g ||w_g||_2

``positive=True`` adds ``w >= 0`` (non-negative least squares when ``alpha = 0``). The group
weights default to ``sqrt(|g|)`` (Yuan & Lin 2006, so groups of different sizes are penalised
alike); scikit-learn has no group lasso.

Convergence certificate: the duality gap, with scikit-learn's stopping rule
``gap <= tol * ||y_c||^2 / n`` on the objective above (``y_c`` the centred target). Fitted
models report ``dual_gap_`` (the gap of the objective above, as scikit-learn's ``dual_gap_``)
and ``dual_gap_tol_`` (the effective tolerance ``tol * ||y_c||^2 / n``), so "``tol=1e-10`` on
both sides" compares like with like. ``n_iter_`` is the number of iterations the solver ran
to reach the tolerance, at most ``max_iter`` and 0 when the start (zeros or the warm start)
already meets it: working-set iterations for Lasso/ElasticNet (each solves one subproblem
and costs a pass over ``X``; one more pass certifies the last), FISTA iterations for
GroupLasso.

Validation happens at ``fit`` (hyperparameters are stored as given): ``alpha < 0``,
``l1_ratio`` outside [0, 1], ``tol < 0``, ``max_iter < 1``, ``X`` not 2-D, ``y`` not 1-D, a
sample-count mismatch, NaN/inf in ``X`` or ``y``, and groups that overlap or do not cover the
features raise ``ValueError``/``TypeError`` naming the parameter.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import (
    ParameterError,
    ParameterTypeError,
    as_float_array,
    check_finite,
    check_int,
    check_number,
)
from .lasso_solver import enet_working_set, single_threaded_blas
from .operators import _check_groups
from .solvers import ConvergenceWarning, estimate_lipschitz, proximal_gradient

__all__ = ["Lasso", "ElasticNet", "GroupLasso", "LinearFit", "enet_fit", "group_lasso_fit"]


@dataclass
class LinearFit:
    """Result of :func:`enet_fit` / :func:`group_lasso_fit` (see the module docstring)."""

    coef: np.ndarray
    intercept: float
    n_iter: int
    dual_gap: float
    dual_gap_tol: float
    converged: bool


def _check_data(X, y):
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X, y: X has {X.shape[0]} samples but y has {y.shape[0]}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError("X", f"needs at least one sample and one feature, got shape {X.shape}")
    X = X.astype(np.float64, copy=False)
    y = y.astype(np.float64, copy=False)
    # one gemv gives the column sums (for the means) and, being finite, proves X finite
    column_sums = np.ones(X.shape[0]) @ X
    if not np.all(np.isfinite(column_sums)):
        check_finite(X, "X")
    check_finite(y, "y")
    return X, y, column_sums


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(name, f"expected True or False, got {value!r}")
    return bool(value)


def _prepare(X, y, fit_intercept, coef_init):
    X, y, column_sums = _check_data(X, y)
    n, p = X.shape
    if fit_intercept:
        x_mean = column_sums / n
        y_mean = float(y.mean())
        yc = y - y_mean
    else:
        x_mean, y_mean, yc = None, 0.0, y
    w0 = None
    if coef_init is not None:
        w0 = as_float_array(coef_init, "coef_init", ndim=1)
        if w0.shape[0] != p:
            raise ParameterError("coef_init", f"expected {p} coefficients, got {w0.shape[0]}")
        w0 = check_finite(w0.astype(np.float64), "coef_init")
    return X, yc, x_mean, y_mean, w0


def _centred(X, x_mean):
    return X if x_mean is None else X - x_mean


def _smooth_fit(X, yc, x_mean, l2_reg, positive, tol, max_iter, w0):
    """``l1_reg = 0``: least squares (alpha = 0) or ridge, optionally with ``w >= 0``."""
    n, p = X.shape
    Xc = _centred(X, x_mean)
    if not positive:
        if l2_reg == 0:
            w = np.linalg.lstsq(Xc, yc, rcond=None)[0]
        elif n >= p:
            G = Xc.T @ Xc
            G.flat[:: p + 1] += l2_reg
            w = np.linalg.solve(G, Xc.T @ yc)
        else:
            K = Xc @ Xc.T
            K.flat[:: n + 1] += l2_reg
            w = Xc.T @ np.linalg.solve(K, yc)
        return w, 1, True
    if l2_reg == 0:
        from scipy.optimize import nnls

        return nnls(Xc, yc)[0], 1, True
    from .operators import nonneg

    G = Xc.T @ Xc
    G.flat[:: p + 1] += l2_reg
    b = Xc.T @ yc
    result = proximal_gradient(
        lambda w: 0.5 * w @ (G @ w) - b @ w,
        lambda w: G @ w - b,
        nonneg(),
        np.zeros(p) if w0 is None else np.maximum(w0, 0),
        tol=tol * 1e-3,
        max_iter=max_iter * 100,
        backtracking=False,
        lipschitz=1.05 * estimate_lipschitz(lambda w: G @ w, np.zeros(p)),
    )
    return result.x, result.n_iter, result.converged


def _smooth_gap(X, yc, x_mean, w, l2_reg, positive):
    """Certificate for ``l1 = 0``, as scikit-learn's: the formulation-B gap for ridge,
    ``R'R + l2/2 w'w - R'y + ||X'R||^2 / (2 l2)`` (with ``positive``, ``max(X'R, 0)`` in the
    last term: the conjugate of ``l2/2 ||w||^2 + indicator(w >= 0)``), and for least squares,
    which has no bounded dual, the squared (projected, if ``positive``) gradient ``||X'R||^2``."""
    R = yc - _centred(X, x_mean) @ w
    xtr = _centred(X, x_mean).T @ R
    if l2_reg == 0:
        if positive:
            xtr = np.where(w > 0, xtr, np.maximum(xtr, 0))
        return float(xtr @ xtr)
    if positive:
        xtr = np.maximum(xtr, 0)
    return float(R @ R + 0.5 * l2_reg * (w @ w) - R @ yc + (xtr @ xtr) / (2 * l2_reg))


def _one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread (see :func:`single_threaded_blas`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper


@_one_blas_thread
def enet_fit(
    X,
    y,
    alpha=1.0,
    l1_ratio=1.0,
    *,
    fit_intercept=True,
    positive=False,
    tol=1e-8,
    max_iter=10000,
    coef_init=None,
) -> LinearFit:
    """Fit the elastic net (the Lasso when ``l1_ratio = 1``) and return a :class:`LinearFit`.

    Parameters
    ----------
    X : (n, p) array; y : (n,) array (neither is modified or copied when float64).
    alpha : float >= 0; l1_ratio : float in [0, 1]; fit_intercept, positive : bool.
    tol : float >= 0, stop when the duality gap ``<= tol * ||y_c||^2 / n``.
    max_iter : int >= 1, outer (working-set) iterations, and inner iterations per working set.
    coef_init : (p,) warm start or None.
    """
    alpha = check_number(alpha, "alpha", low=0.0)
    l1_ratio = check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    tol = check_number(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    fit_intercept = _check_bool(fit_intercept, "fit_intercept")
    positive = _check_bool(positive, "positive")
    X, yc, x_mean, y_mean, w0 = _prepare(X, y, fit_intercept, coef_init)
    n = X.shape[0]
    l1_reg = n * alpha * l1_ratio
    l2_reg = n * alpha * (1.0 - l1_ratio)
    yy = float(yc @ yc)
    if l1_reg == 0:
        w, n_iter, converged = _smooth_fit(X, yc, x_mean, l2_reg, positive, tol, max_iter, w0)
        gap = _smooth_gap(X, yc, x_mean, w, l2_reg, positive)
        converged = converged and gap <= tol * yy
    else:
        solution = enet_working_set(
            X,
            yc,
            l1_reg,
            l2_reg,
            x_mean=x_mean,
            positive=positive,
            tol=tol,
            max_iter=max_iter,
            w0=w0,
        )
        w, n_iter, converged, gap = (
            solution.coef,
            solution.n_iter,
            solution.converged,
            solution.gap,
        )
    if not converged:
        warnings.warn(
            f"enet_fit: the duality gap {gap / n:.3e} did not reach the tolerance "
            f"{tol * yy / n:.3e} within max_iter={max_iter}; increase max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    intercept = y_mean - float(x_mean @ w) if fit_intercept else 0.0
    return LinearFit(
        coef=w,
        intercept=intercept,
        n_iter=int(n_iter),
        dual_gap=gap / n,
        dual_gap_tol=tol * yy / n,
        converged=bool(converged),
    )


def _group_weights(weights, groups):
    if isinstance(weights, str):
        if weights != "sqrt_size":
            raise ParameterError(
                "weights", f"must be 'sqrt_size' or an array of group weights, got {weights!r}"
            )
        return np.sqrt([float(g.size) for g in groups])
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape[0] != len(groups):
        raise ParameterError(
            "weights", f"expected {len(groups)} weights (one per group), got {w.shape[0]}"
        )
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ParameterError("weights", "group weights must be finite and > 0")
    return w.astype(np.float64)


@_one_blas_thread
def group_lasso_fit(
    X,
    y,
    alpha=1.0,
    groups=None,
    *,
    weights="sqrt_size",
    fit_intercept=True,
    tol=1e-8,
    max_iter=10000,
    coef_init=None,
) -> LinearFit:
    """Fit the group lasso by FISTA (gradient restart, step ``1/L``) with a duality-gap stop.

    ``groups``: a list of disjoint index lists covering ``range(p)`` (None: one group per
    feature, i.e. the weighted Lasso). The gap uses the dual point ``R / max(1, max_g
    ||X_g' R|| / (n alpha weight_g))`` and is checked every 10 iterations. The Gram matrix
    ``X'X`` is used when ``n >= p`` (each iteration then costs ``p^2`` instead of ``2 n p``).
    """
    alpha = check_number(alpha, "alpha", low=0.0)
    tol = check_number(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    fit_intercept = _check_bool(fit_intercept, "fit_intercept")
    X, yc, x_mean, y_mean, w0 = _prepare(X, y, fit_intercept, coef_init)
    n, p = X.shape
    if groups is None:
        groups = [[j] for j in range(p)]
    groups = _check_groups(groups)
    covered = np.concatenate(groups)
    if covered.max() >= p:
        raise ParameterError(
            "groups", f"index {int(covered.max())} is out of range for {p} features"
        )
    if covered.size != p:
        missing = sorted(set(range(p)) - set(covered.tolist()))
        raise ParameterError(
            "groups", f"must cover every feature; {len(missing)} not covered (first: {missing[0]})"
        )
    weights = _group_weights(weights, groups)
    from .operators import group_l1

    lam = n * alpha
    penalty = group_l1(lam, groups, weights)
    yy = float(yc @ yc)
    tol_gap = tol * yy
    if n >= p:
        Xc = _centred(X, x_mean)  # explicit: X'X - n m m' would cancel for large means
        G = Xc.T @ Xc
        b = Xc.T @ yc
        del Xc

        def stats(w):  # R'R, R'y, X'R
            gw = G @ w
            return yy - 2 * (b @ w) + w @ gw, yy - b @ w, b - gw

        def f(w):
            return 0.5 * (yy - 2 * (b @ w) + w @ (G @ w))

        def grad_f(w):
            return G @ w - b
    else:
        Xc = _centred(X, x_mean)

        def stats(w):
            R = yc - Xc @ w
            return R @ R, R @ yc, Xc.T @ R

        def f(w):
            R = yc - Xc @ w
            return 0.5 * (R @ R)

        def grad_f(w):
            return Xc.T @ (Xc @ w - yc)

    state = {"gap": math.inf}

    def gap_of(w):
        rr, ry, xtr = stats(w)
        dual_norm = max(
            float(np.linalg.norm(xtr[g])) / wt for g, wt in zip(groups, weights, strict=True)
        )
        scale = min(1.0, lam / dual_norm) if dual_norm > 0 else 1.0
        primal = 0.5 * rr + penalty.value(w)
        return primal - (-0.5 * scale * scale * rr + scale * ry)

    def callback(k, w, objective):
        if k % 10:
            return False
        state["gap"] = gap_of(w)
        return state["gap"] <= tol_gap

    w_start = np.zeros(p) if w0 is None else w0
    state["gap"] = gap_of(w_start)
    if state["gap"] <= tol_gap:
        w, n_iter = w_start.copy(), 0
    else:
        lipschitz = 1.05 * estimate_lipschitz(grad_f, np.zeros(p))
        result = proximal_gradient(
            f,
            grad_f,
            penalty,
            w_start,
            lipschitz=lipschitz,
            backtracking=False,
            restart="gradient",
            tol=0.0,
            max_iter=max_iter,
            callback=callback,
        )
        w, n_iter = result.x, result.n_iter
        state["gap"] = gap_of(w)
    converged = state["gap"] <= tol_gap
    if not converged:
        warnings.warn(
            f"group_lasso_fit: the duality gap {state['gap'] / n:.3e} did not reach "
            f"the tolerance {tol_gap / n:.3e} within max_iter={max_iter}",
            ConvergenceWarning,
            stacklevel=3,
        )
    intercept = y_mean - float(x_mean @ w) if fit_intercept else 0.0
    return LinearFit(
        coef=w,
        intercept=intercept,
        n_iter=int(n_iter),
        dual_gap=state["gap"] / n,
        dual_gap_tol=tol_gap / n,
        converged=bool(converged),
    )


class _LinearModel:
    """Shared shell: stores hyperparameters, keeps fitted state in ``*_`` attributes."""

    def _store(self, fit: LinearFit, dtype):
        self.coef_ = fit.coef.astype(dtype, copy=False)
        # a NumPy scalar of coef_'s dtype, as scikit-learn's (float32 data: np.float32)
        self.intercept_ = self.coef_.dtype.type(fit.intercept)
        self.n_iter_ = fit.n_iter
        self.dual_gap_ = fit.dual_gap
        self.dual_gap_tol_ = fit.dual_gap_tol
        self.converged_ = fit.converged
        self.n_features_in_ = self.coef_.shape[0]
        return self

    def _warm(self):
        return getattr(self, "coef_", None) if getattr(self, "warm_start", False) else None

    def _fit_enet(self, X, y, l1_ratio):
        """Lasso and ElasticNet: :func:`enet_fit` with this estimator's hyperparameters."""
        _check_bool(self.warm_start, "warm_start")
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        fit = enet_fit(
            X,
            y,
            self.alpha,
            l1_ratio,
            fit_intercept=self.fit_intercept,
            positive=self.positive,
            tol=self.tol,
            max_iter=self.max_iter,
            coef_init=self._warm(),
        )
        return self._store(fit, dtype)

    def predict(self, X) -> np.ndarray:
        """``X @ coef_ + intercept_`` for ``X`` of shape ``(m, n_features_in_)``."""
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"{type(self).__name__}: call fit before predict")
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ParameterError("X", f"expected {self.n_features_in_} features, got {X.shape[1]}")
        check_finite(X, "X")
        return X @ self.coef_ + self.intercept_

    def score(self, X, y) -> float:
        """Coefficient of determination R^2 of ``predict(X)`` against ``y``."""
        y = as_float_array(y, "y", ndim=1)
        residual = y - self.predict(X)
        total = y - y.mean()
        return 1.0 - float(residual @ residual) / float(total @ total)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"


class ElasticNet(_LinearModel):
    """``1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio)/2 ||w||^2``.

    Parameters are scikit-learn's (``tol`` defaults to 1e-8 here): see :func:`enet_fit`.
    Attributes after ``fit``: ``coef_`` (p,), ``intercept_``, ``n_iter_``, ``dual_gap_``,
    ``dual_gap_tol_``, ``converged_``, ``n_features_in_``.
    """

    def __init__(
        self,
        alpha=1.0,
        l1_ratio=0.5,
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        positive=False,
        warm_start=False,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
        self.warm_start = warm_start

    def fit(self, X, y):
        """Fit to ``X`` (n, p) and ``y`` (n,); returns ``self``."""
        return self._fit_enet(X, y, self.l1_ratio)


class Lasso(_LinearModel):
    """``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1`` (``positive=True``: with ``w >= 0``).

    The working-set solver of :mod:`verigrad.prox.lasso_solver` (gap-safe screening, FISTA
    + support polishing on the working set) stopped by scikit-learn's duality-gap rule.
    Attributes as :class:`ElasticNet`'s.
    """

    def __init__(
        self,
        alpha=1.0,
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        positive=False,
        warm_start=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
        self.warm_start = warm_start

    def fit(self, X, y):
        """Fit to ``X`` (n, p) and ``y`` (n,); returns ``self``."""
        return self._fit_enet(X, y, 1.0)


class GroupLasso(_LinearModel):
    """``1/(2n) ||y - Xw - b||^2 + alpha sum_g weight_g ||w_g||_2`` (see :func:`group_lasso_fit`).

    ``groups``: disjoint index lists covering all features (None: one per feature);
    ``weights``: ``"sqrt_size"`` (default, ``sqrt(|g|)``) or one positive weight per group.
    """

    def __init__(
        self,
        alpha=1.0,
        groups=None,
        weights="sqrt_size",
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.groups = groups
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y):
        """Fit to ``X`` (n, p) and ``y`` (n,); returns ``self``."""
        _check_bool(self.warm_start, "warm_start")
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        fit = group_lasso_fit(
            X,
            y,
            self.alpha,
            self.groups,
            weights=self.weights,
            fit_intercept=self.fit_intercept,
            tol=self.tol,
            max_iter=self.max_iter,
            coef_init=self._warm(),
        )
        return self._store(fit, dtype)
