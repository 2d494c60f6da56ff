"""The group lasso as a pure function: :func:`group_lasso_fit` returns a :class:`LinearFit`.

Objective (``n`` samples, intercept unpenalised and removed by centring as in
:mod:`.linear_fit`)::

    GroupLasso   1/(2n) ||y - Xw - b||^2 + alpha sum_g weight_g ||w_g||_2

The group weights default to ``sqrt(|g|)`` (Yuan & Lin 2006, so groups of different sizes are
penalised alike); scikit-learn has no group lasso. Stopped by the duality gap with
scikit-learn's rule (see :mod:`.linear_fit`); ``n_iter`` counts FISTA iterations. Groups that
overlap or do not cover the features raise ``ValueError`` naming ``groups``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .._checks import ParameterError, as_float_array, check_bool, check_int, check_number
from .design import centred_matvec, centred_rmatvec
from .linear_fit import LinearFit, _centred, finish_fit, one_blas_thread, prepare_data
from .operators import _check_groups, group_l1
from .solvers import estimate_lipschitz, proximal_gradient

__all__ = ["group_lasso_fit"]


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


@one_blas_thread
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
    if not np.isfinite(alpha):
        raise ParameterError("alpha", f"must be a finite number, got {alpha}")
    tol = check_number(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    data = prepare_data(X, y, fit_intercept, coef_init)
    X, yc, x_mean, y_mean, w0 = data
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
    lam = n * alpha
    penalty = group_l1(lam, groups, weights)
    yy = float(yc @ yc)
    tol_gap = tol * yy
    if n >= p:
        if sp.issparse(X):
            # implicit centring (X is not densified): X'X - n m m' (it may lose digits when
            # a column's mean is large against its spread)
            G = np.asarray((X.T @ X).toarray())
            if x_mean is not None:
                G -= n * np.outer(x_mean, x_mean)
            b = centred_rmatvec(X, x_mean, yc)
        else:
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
        if sp.issparse(X):

            def matvec(w):
                return centred_matvec(X, x_mean, w)

            def rmatvec(r):
                return centred_rmatvec(X, x_mean, r)
        else:
            Xc = _centred(X, x_mean)
            matvec, rmatvec = Xc.__matmul__, Xc.T.__matmul__

        def stats(w):
            R = yc - matvec(w)
            return R @ R, R @ yc, rmatvec(R)

        def f(w):
            R = yc - matvec(w)
            return 0.5 * (R @ R)

        def grad_f(w):
            return rmatvec(matvec(w) - yc)

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
    return finish_fit(
        "group_lasso_fit", w, n_iter, state["gap"], tol_gap, converged, max_iter, data
    )
