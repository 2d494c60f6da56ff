"""Working-set solver for the Lasso / elastic net with gap-safe screening.

Problem (scikit-learn's ``cd_fast`` scaling, i.e. ``n_samples`` times the estimators'
objective)::

    P(w) = 1/2 ||y - Xc w||^2 + l1_reg ||w||_1 + l2_reg/2 ||w||^2     (optionally w >= 0)

with ``Xc = X - x_mean`` centred implicitly (``X`` is never copied: ``Xc^T r = X^T r -
x_mean sum(r)`` and ``Xc w = X w - x_mean . w``) and ``y`` already centred.

Duality gap (scikit-learn's "formulation A", Fercoq, Gramfort & Salmon 2015): with the
residual ``R = y - Xc w`` and ``A = Xc^T R - l2_reg w``, the dual point is ``R`` rescaled by
``s = min(1, l1_reg / ||A||_inf)`` (``max(A)`` instead of ``||A||_inf`` when ``positive``)::

    gap = 1/2 (R'R + l2_reg w'w) + l1_reg ||w||_1 + s^2/2 (R'R + l2_reg w'w) - s R'y

and the solver stops when ``gap <= tol * y'y`` - exactly scikit-learn's rule, so the same
``tol`` on both sides certifies the same accuracy (divided by ``n``: ``gap / n <= tol *
||y||^2 / n`` on the estimators' objective).

Outer loop (Celer: Massias, Gramfort & Salmon 2018; working sets as in skglm, Bertrand et al.
2022):

1. one pass over ``X``: ``A``, the gap, and the gap-safe sphere test (Fercoq et al. 2015):
   feature ``j`` is provably zero at the optimum when
   ``d_j = (1 - |X_j' theta|) / sqrt(||X_j||^2 + l2_reg) > sqrt(2 gap) / l1_reg``
   (``theta = R / max(l1_reg, ||A||_inf)``); screened features are removed for good;
2. the working set ``W``: the current support plus the features of smallest ``d_j``
   (violated or nearly active dual constraints), ``|W| = max(p0, 2 nnz(w), previous |W|)``
   (``p0 = 50``; never shrinking, so the primal objective decreases and cannot cycle);
3. the subproblem restricted to ``W`` is solved in Gram form (``Q = Xc_W' Xc_W + l2_reg I``,
   ``b = Xc_W' y``: each inner iteration is a ``|W| x |W|`` matvec) by FISTA with gradient
   restart. Every ``check_every`` iterations the subproblem's gap is computed and the current
   support ``S`` and signs ``s`` are *polished*: the stationarity equations
   ``Q_SS z = b_S - l1_reg s`` are solved directly, and ``z`` replaces the iterate when its
   signs agree and its gap is smaller. Once FISTA has identified the support (finite
   identification: the soft threshold zeroes the rest), this is the subproblem's exact
   solution. The inner loop stops when the subproblem's gap is ``<= 0.3 tol y'y`` (solved to
   the final precision) or, after at least ``min_inner = 50`` iterations, ``<= 0.3 gap``
   (Celer's rule). Inner iterations are cheap and passes over ``X`` are not, so solving
   exactly when possible is what brings the count down to two or three passes.

``X`` may be ``scipy.sparse`` (CSC): the products above are sparse, the column norms exact
(:func:`~verigrad.prox.design.centred_sq_norms`) and only working-set blocks are dense.

Memory: ``X`` is read, never copied; per outer iteration the ``n x |W|`` block ``Xc_W`` and
``Q`` are built (``|W|`` is small: about twice the support).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .design import centred_columns, centred_sq_norms

__all__ = [
    "EnetSolution",
    "enet_working_set",
    "solve_gram_subproblem",
    "column_sq_norms",
    "enet_gap",
    "single_threaded_blas",
]

_BLAS_CONTROLLER = []


def single_threaded_blas():
    """A context manager limiting BLAS to one thread (a no-op without ``threadpoolctl``).

    The solver's BLAS work is level 2 (``X' r``, memory-bound: a second thread gains little)
    or tiny (``|W| x |W|``); on a busy machine OpenBLAS's threads wait for each other and one
    ``X' r`` on 500 x 2000 was measured at 17 ms instead of 0.35 ms. ``threadpoolctl`` (a
    scikit-learn dependency) is optional; its controller is built once and reused.
    """
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - depends on the environment
            _BLAS_CONTROLLER.append(None)
    controller = _BLAS_CONTROLLER[0]
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


@dataclass
class EnetSolution:
    """``coef`` (p,), ``gap`` (raw, unnormalised), ``tol_gap`` (``tol * y'y``), ``n_iter``
    (outer iterations, i.e. working-set subproblems solved: at most ``max_iter``, 0 when the
    start already meets the tolerance; the passes over X are ``n_iter + 1``, the last one
    certifying the result), ``n_inner`` (inner iterations), ``converged``, ``screened`` (p,)
    bool: features removed by the gap-safe test (provably zero at the optimum)."""

    coef: np.ndarray
    gap: float
    tol_gap: float
    n_iter: int
    n_inner: int
    converged: bool
    screened: np.ndarray | None = None


def column_sq_norms(X: np.ndarray, x_mean) -> np.ndarray:
    """``||X_j - x_mean_j||^2`` per column without forming the centred matrix.

    Uses ``||X_j||^2 - n x_mean_j^2`` and recomputes exactly the columns where that
    subtraction would cancel (mean large against the spread).
    """
    norms = np.einsum("ij,ij->j", X, X)
    if x_mean is None:
        return norms
    n = X.shape[0]
    shift = n * x_mean * x_mean
    out = norms - shift
    # relative rounding error of the difference is about eps * norms / (norms - shift)
    risky = np.flatnonzero(shift > 0.9 * norms)
    if risky.size:
        block = X[:, risky] - x_mean[risky]
        out[risky] = np.einsum("ij,ij->j", block, block)
    np.maximum(out, 0, out=out)
    return out


def enet_gap(rr, ry, ww, w_l1, dual_norm, l1_reg, l2_reg):
    """Formulation-A duality gap from the scalars ``R'R, R'y, w'w, ||w||_1, ||A||_inf``."""
    smooth = rr + l2_reg * ww
    primal = 0.5 * smooth + l1_reg * w_l1
    scale = l1_reg / dual_norm if dual_norm > l1_reg else 1.0
    dual = -0.5 * scale * scale * smooth + scale * ry
    return primal - dual


def _power_iteration(Q: np.ndarray, n_iter: int = 25) -> float:
    v = np.full(Q.shape[0], 1.0 / math.sqrt(Q.shape[0]))
    v[::2] *= 1.1  # break symmetry with vectors orthogonal to ones
    norm = 0.0
    for _ in range(n_iter):
        qv = Q @ v
        norm = float(np.sqrt(qv @ qv))
        if norm == 0.0:
            return 1.0
        v = qv / norm
    return norm


def _sub_gap(Q, b, x, qx, yy, l1_reg, l2_reg, positive):
    """The subproblem's gap at ``x`` given ``qx = Q x``."""
    a = b - qx
    dual_norm = float(a.max()) if positive else float(np.abs(a).max())
    bx = float(b @ x)
    xqx = float(x @ qx)
    xx = float(x @ x)
    rr = yy - 2.0 * bx + xqx - l2_reg * xx
    return enet_gap(rr, yy - bx, xx, float(np.abs(x).sum()), dual_norm, l1_reg, l2_reg)


def _threshold(v, thr, positive):
    if positive:
        out = v - thr
        np.maximum(out, 0, out=out)
        return out
    out = np.abs(v)
    out -= thr
    np.maximum(out, 0, out=out)
    return np.copysign(out, v, out=out)


def _polish(Q, b, x, l1_reg, positive, qx=None):
    """Solve the stationarity equations on the support of ``x`` with its signs, or None.

    With ``qx = Q x`` given, the coordinates violating their optimality condition
    (``|b_j - (Qx)_j| > l1_reg`` at ``x_j = 0``) join the support with the sign of
    ``b_j - (Qx)_j``: a guess of the support that is right whenever no coefficient leaves it.
    """
    signs = np.sign(x)
    if positive:
        signs = (x > 0).astype(np.float64)
    if qx is not None:
        a = b - qx
        enter = (x == 0) & ((a > l1_reg) if positive else (np.abs(a) > l1_reg))
        signs[enter] = np.sign(a[enter])
    support = np.flatnonzero(signs)
    if support.size == 0:
        return None
    signs = signs[support]
    try:
        z = np.linalg.solve(Q[np.ix_(support, support)], b[support] - l1_reg * signs)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(z)) or not np.all(z * signs > 0):
        return None
    out = np.zeros_like(x)
    out[support] = z
    return out


def solve_gram_subproblem(
    Q,
    b,
    yy,
    l1_reg,
    l2_reg,
    positive,
    x0,
    tol_in,
    max_iter,
    check_every=10,
    tol_exact=0.0,
    min_iter=0,
):
    """``min_x 1/2 x'Qx - b'x + l1_reg ||x||_1`` (x >= 0 if positive) by FISTA + polishing.

    ``Q`` already contains ``l2_reg I``. Stops when the subproblem's gap is ``<= tol_exact``,
    or ``<= tol_in`` after at least ``min_iter`` iterations (extra iterations give the
    polishing a chance to solve the subproblem exactly, which saves passes over X).
    Returns ``(x, n_iter, gap)``.
    """
    lipschitz = 1.05 * _power_iteration(Q)
    step = 1.0 / lipschitz
    thr = step * l1_reg
    x = x0.copy()
    x_prev = x
    t_k, momentum = 1.0, 0.0
    failed_pattern = None
    gap = math.inf
    it = 0
    for it in range(max_iter):
        if it % check_every == 0:
            qx = Q @ x
            gap = _sub_gap(Q, b, x, qx, yy, l1_reg, l2_reg, positive)
            if gap <= tol_exact or (gap <= tol_in and it >= min_iter):
                break
            pattern = np.sign(x).tobytes()
            if pattern != failed_pattern:
                # first check: guess the support from the warm start and the violators
                z = _polish(Q, b, x, l1_reg, positive, qx if it == 0 else None)
                z_gap = math.inf
                if z is not None:
                    z_gap = _sub_gap(Q, b, z, Q @ z, yy, l1_reg, l2_reg, positive)
                if z_gap < gap:
                    x, x_prev, t_k, momentum, gap = z, z, 1.0, 0.0, z_gap
                    if gap <= tol_exact or (gap <= tol_in and it >= min_iter):
                        break
                else:
                    failed_pattern = pattern
        y = x + momentum * (x - x_prev) if momentum > 0.0 else x
        grad = Q @ y
        grad -= b
        x_new = _threshold(y - step * grad, thr, positive)
        # gradient restart (O'Donoghue & Candes 2015)
        if float((y - x_new) @ (x_new - x)) > 0:
            x_prev, x, t_k, momentum = x_new, x_new, 1.0, 0.0
        else:
            t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t_k * t_k))
            x_prev, x, t_k, momentum = x, x_new, t_next, (t_k - 1.0) / t_next
    else:
        qx = Q @ x
        gap = _sub_gap(Q, b, x, qx, yy, l1_reg, l2_reg, positive)
    return x, it + 1, gap


def enet_working_set(
    X,
    y,
    l1_reg,
    l2_reg=0.0,
    *,
    x_mean=None,
    positive=False,
    tol=1e-8,
    max_iter=1000,
    w0=None,
    p0=50,
    inner_max_iter=None,
    min_inner=50,
) -> EnetSolution:
    """Solve ``P(w)`` (module docstring) to ``gap <= tol * y'y``.

    Parameters
    ----------
    X : (n, p) float64 array or CSC sparse matrix, uncentred (read only; sparse ``X`` is
        never densified: only working-set blocks ``Xc[:, W]`` are).
    y : (n,) float64, centred when ``x_mean`` is given.
    l1_reg, l2_reg : floats >= 0 (``n alpha l1_ratio`` and ``n alpha (1 - l1_ratio)``);
        ``l1_reg > 0`` (the ridge case is solved elsewhere).
    x_mean : (p,) column means to centre by, or None.
    positive : constrain ``w >= 0``.
    tol : float >= 0; max_iter : bound on outer iterations (working-set subproblems; each
        is preceded by a pass over X, and one more pass certifies the last) and on each
        subproblem's inner iterations (unless ``inner_max_iter`` is given).
    w0 : (p,) warm start or None (zeros).
    """
    n, p = X.shape
    if inner_max_iter is None:
        inner_max_iter = max(max_iter, 100)
    yy = float(y @ y)
    tol_gap = tol * yy
    norms2 = centred_sq_norms(X, x_mean) if sp.issparse(X) else column_sq_norms(X, x_mean)
    feature_scale = np.sqrt(norms2 + l2_reg)
    dead = feature_scale == 0
    w = np.zeros(p) if w0 is None else np.array(w0, dtype=np.float64)
    w[dead] = 0.0
    if positive:
        np.maximum(w, 0, out=w)
    screened = dead.copy()

    def centred_product(cols, coef):
        out = np.asarray(X[:, cols] @ coef).ravel()
        if x_mean is not None:
            out -= float(x_mean[cols] @ coef)
        return out

    support = np.flatnonzero(w)
    R = y - centred_product(support, w[support]) if support.size else y.copy()
    gap = math.inf
    converged = False
    n_inner = 0
    it = 0
    ws_size = 0
    for it in range(max_iter + 1):
        A = np.asarray(X.T @ R).ravel()
        if x_mean is not None:
            A -= x_mean * R.sum()
        if l2_reg:
            A -= l2_reg * w
        dual_norm = float(A.max()) if positive else float(np.abs(A).max())
        gap = enet_gap(
            float(R @ R),
            float(R @ y),
            float(w @ w),
            float(np.abs(w).sum()),
            dual_norm,
            l1_reg,
            l2_reg,
        )
        if gap <= tol_gap:
            converged = True
            break
        if it == max_iter:
            break
        theta_scale = max(l1_reg, dual_norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = (1.0 - np.abs(A) / theta_scale) / feature_scale
        distance[dead] = np.inf
        newly = (distance > math.sqrt(2.0 * max(gap, 0.0)) / l1_reg) & ~screened
        if newly.any():
            drop = np.flatnonzero(newly & (w != 0))
            if drop.size:
                R += centred_product(drop, w[drop])
                w[drop] = 0.0
            screened |= newly
        if positive:
            with np.errstate(divide="ignore", invalid="ignore"):
                priority = (1.0 - A / theta_scale) / feature_scale
        else:
            priority = distance
        priority[screened] = np.inf
        nnz = int(np.count_nonzero(w))
        priority[w != 0] = -np.inf
        candidates = p - int(screened.sum())
        if candidates == 0:
            w[:] = 0.0
            R = y.copy()
            continue
        ws_size = min(candidates, max(p0, 2 * nnz, ws_size))
        ws = np.sort(np.argpartition(priority, ws_size - 1)[:ws_size])
        X_ws = centred_columns(X, x_mean, ws)
        Q = X_ws.T @ X_ws
        if l2_reg:
            Q.flat[:: ws_size + 1] += l2_reg
        b = X_ws.T @ y
        sub, n_sub, _ = solve_gram_subproblem(
            Q,
            b,
            yy,
            l1_reg,
            l2_reg,
            positive,
            w[ws],
            0.3 * gap,
            inner_max_iter,
            tol_exact=0.3 * tol_gap,
            min_iter=min_inner,
        )
        n_inner += n_sub
        w[:] = 0.0
        w[ws] = sub
        R = y - X_ws @ sub
    return EnetSolution(
        coef=w,
        gap=float(gap),
        tol_gap=float(tol_gap),
        n_iter=it,  # subproblems solved; the gap check at ``it`` only certifies them
        n_inner=n_inner,
        converged=converged,
        screened=screened,
    )
