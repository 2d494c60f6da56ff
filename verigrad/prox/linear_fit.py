"""The elastic net (and Lasso) as a pure function: :func:`enet_fit` returns a :class:`LinearFit`.

Objectives (``n`` samples, intercept ``b`` unpenalised and removed by centring ``X`` and
``y`` when ``fit_intercept``; ``b = mean(y) - mean(X) . w``)::

    Lasso        1/(2n) ||y - Xw - b||^2 + alpha ||w||_1
    ElasticNet   1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1
                                         + alpha (1 - l1_ratio)/2 ||w||_2^2

``positive=True`` adds ``w >= 0`` (non-negative least squares when ``alpha = 0``).

Convergence certificate: the duality gap, with scikit-learn's stopping rule
``gap <= tol * ||y_c||^2 / n`` on the objective above (``y_c`` the centred target).
:class:`LinearFit` reports ``dual_gap`` (the gap of the objective above, as scikit-learn's
``dual_gap_``) and ``dual_gap_tol`` (the effective tolerance ``tol * ||y_c||^2 / n``), so
"``tol=1e-10`` on both sides" compares like with like. ``n_iter`` is the number of
working-set iterations the solver ran to reach the tolerance (each solves one subproblem and
costs a pass over ``X``; one more pass certifies the last), at most ``max_iter`` and 0 when
the start (zeros or the warm start) already meets it.

Validation: ``alpha < 0``, ``l1_ratio`` outside [0, 1], ``tol < 0``, ``max_iter < 1``, ``X``
not 2-D, ``y`` not 1-D, a sample-count mismatch and NaN/inf in ``X`` or ``y`` raise
``ValueError``/``TypeError`` naming the parameter.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._checks import (
    ParameterError,
    as_float_array,
    check_bool,
    check_finite,
    check_int,
    check_number,
)
from .design import centred_matvec, centred_rmatvec, check_design, check_target, column_sums
from .lasso_solver import enet_working_set, single_threaded_blas
from .solvers import ConvergenceWarning, estimate_lipschitz, proximal_gradient

__all__ = ["LinearFit", "enet_fit", "prepare_data", "finish_fit", "one_blas_thread"]


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
    """``X`` (dense float64 or sparse CSC), ``y`` float64 and their column sums, all finite."""
    X = check_design(X)
    y = check_target(y, X.shape[0])
    if not sp.issparse(X):
        X = X.astype(np.float64, copy=False)
    # one gemv gives the column sums (for the means) and, being finite, proves X finite
    sums = column_sums(X)
    if not np.all(np.isfinite(sums)):
        check_finite(X, "X")
    # the solvers work with X^T X and X^T y: products that overflow would never converge
    with np.errstate(over="ignore", invalid="ignore"):
        squares = (
            np.asarray(X.multiply(X).sum(axis=0)).ravel()
            if sp.issparse(X)
            else np.einsum("ij,ij->j", X, X)
        )
        scale = float(np.dot(y, y))
    if not (np.all(np.isfinite(squares)) and np.isfinite(scale)):
        name = "X" if not np.all(np.isfinite(squares)) else "y"
        raise ParameterError(name, "its squared norms overflow float64; rescale the data")
    return X, y, sums


def prepare_data(X, y, fit_intercept, coef_init):
    X, y, sums = _check_data(X, y)
    n, p = X.shape
    if fit_intercept:
        x_mean = sums / n
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
    if sp.issparse(X):
        return _smooth_fit_sparse(X, yc, x_mean, l2_reg, positive, tol, max_iter, w0)
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


def _smooth_fit_sparse(X, yc, x_mean, l2_reg, positive, tol, max_iter, w0):
    """:func:`_smooth_fit` for sparse ``X``, matrix-free (the centring stays implicit): LSQR
    (``damp = sqrt(l2_reg)`` for ridge), or with ``w >= 0`` FISTA with the nonneg prox."""
    from scipy.sparse.linalg import LinearOperator, lsqr

    from .operators import nonneg

    n, p = X.shape
    if not positive:
        operator = LinearOperator(
            (n, p),
            matvec=lambda w: centred_matvec(X, x_mean, w),
            rmatvec=lambda r: centred_rmatvec(X, x_mean, r),
            dtype=np.float64,
        )
        result = lsqr(
            operator,
            yc,
            damp=float(np.sqrt(l2_reg)),
            atol=1e-15,
            btol=1e-15,
            iter_lim=10 * max_iter,
            x0=w0,
        )
        return result[0], int(result[2]), True

    def residual(w):
        return centred_matvec(X, x_mean, w) - yc

    def f(w):
        r = residual(w)
        return 0.5 * float(r @ r) + 0.5 * l2_reg * float(w @ w)

    def grad_f(w):
        return centred_rmatvec(X, x_mean, residual(w)) + l2_reg * w

    result = proximal_gradient(
        f,
        grad_f,
        nonneg(),
        np.zeros(p) if w0 is None else np.maximum(w0, 0),
        tol=tol * 1e-3,
        max_iter=max_iter * 100,
        backtracking=False,
        lipschitz=1.05 * estimate_lipschitz(grad_f, np.zeros(p)),
    )
    return result.x, result.n_iter, result.converged


def _smooth_gap(X, yc, x_mean, w, l2_reg, positive):
    """Certificate for ``l1 = 0``, as scikit-learn's: the formulation-B gap for ridge,
    ``R'R + l2/2 w'w - R'y + ||X'R||^2 / (2 l2)`` (with ``positive``, ``max(X'R, 0)`` in the
    last term: the conjugate of ``l2/2 ||w||^2 + indicator(w >= 0)``), and for least squares,
    which has no bounded dual, the squared (projected, if ``positive``) gradient ``||X'R||^2``."""
    if sp.issparse(X):
        R = yc - centred_matvec(X, x_mean, w)
        xtr = centred_rmatvec(X, x_mean, R)
    else:
        R = yc - _centred(X, x_mean) @ w
        xtr = _centred(X, x_mean).T @ R
    if l2_reg == 0:
        if positive:
            xtr = np.where(w > 0, xtr, np.maximum(xtr, 0))
        return float(xtr @ xtr)
    if positive:
        xtr = np.maximum(xtr, 0)
    return float(R @ R + 0.5 * l2_reg * (w @ w) - R @ yc + (xtr @ xtr) / (2 * l2_reg))


def one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread (see :func:`single_threaded_blas`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper


@one_blas_thread
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
    alpha = check_finite(check_number(alpha, "alpha", low=0.0), "alpha")
    l1_ratio = check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    tol = check_number(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    positive = check_bool(positive, "positive")
    data = prepare_data(X, y, fit_intercept, coef_init)
    X, yc, x_mean, y_mean, w0 = data
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
    return finish_fit("enet_fit", w, n_iter, gap, tol * yy, converged, max_iter, data)


def finish_fit(who, w, n_iter, gap, tol_gap, converged, max_iter, data) -> LinearFit:
    """The :class:`LinearFit` of a solver's result (``gap``, ``tol_gap`` unnormalised, as the
    solvers compute them): the intercept from the means, a ``ConvergenceWarning`` if the
    gap did not reach the tolerance."""
    X, yc, x_mean, y_mean, _ = data
    n = X.shape[0]
    if not converged:
        warnings.warn(
            f"{who}: the duality gap {gap / n:.3e} did not reach the tolerance "
            f"{tol_gap / n:.3e} within max_iter={max_iter}; increase max_iter or tol",
            ConvergenceWarning,
            stacklevel=4,
        )
    intercept = y_mean - float(x_mean @ w) if x_mean is not None else 0.0
    return LinearFit(
        coef=w,
        intercept=intercept,
        n_iter=int(n_iter),
        dual_gap=gap / n,
        dual_gap_tol=tol_gap / n,
        converged=bool(converged),
    )
