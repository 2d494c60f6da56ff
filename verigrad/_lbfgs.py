"""Limited-memory BFGS for full-batch smooth problems (Nocedal & Wright 2006, Alg. 7.4-7.5).

A pure function of ``fun(x) -> (f, grad)`` and ``x0``. The search direction is
``d = -H g`` where ``H`` is the inverse-Hessian estimate built by the two-loop recursion from
the last ``m`` pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``, scaled by
``gamma = s^T y / y^T y``::

    q = g
    for i = k-1 .. k-m:   a_i = rho_i s_i^T q;   q = q - a_i y_i        (rho_i = 1 / y_i^T s_i)
    r = gamma q
    for i = k-m .. k-1:   b = rho_i y_i^T r;     r = r + s_i (a_i - b)
    d = -r

The step length satisfies the Armijo condition ``f(x + t d) <= f + c1 t g^T d`` by
backtracking from ``t = 1`` (with cubic-interpolation steps); a pair with ``s^T y <= 0`` is not
stored, so ``H`` stays positive definite. It stops when ``max |g| <= gtol`` (scipy's ``pgtol``
test) or when the relative decrease of ``f`` falls to ``ftol``.

Written in NumPy (vector operations on the parameter vector only) so the whole fit runs on one
BLAS: scipy's L-BFGS-B links its own OpenBLAS, and two OpenBLAS thread pools taking turns on the
same cores wait for each other (a 10x slowdown on the digits softmax regression here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_number

__all__ = ["lbfgs", "LBFGSResult"]


@dataclass
class LBFGSResult:
    """``x``, ``f``, ``grad``; ``n_iter``, ``n_eval`` (function evaluations); ``converged``;
    ``message``; ``history`` (f per iteration)."""

    x: np.ndarray
    f: float
    grad: np.ndarray
    n_iter: int
    n_eval: int
    converged: bool
    message: str
    history: list = field(default_factory=list)


def lbfgs(
    fun,
    x0,
    args=(),
    m: int = 10,
    gtol: float = 1e-6,
    ftol: float = 1e-15,
    max_iter: int = 1000,
    c1: float = 1e-4,
) -> LBFGSResult:
    """Minimise ``fun(x, *args) -> (f, grad)`` from ``x0`` by L-BFGS; ``x0`` is not modified."""
    m = check_int(m, "m", 1)
    gtol = check_number(gtol, "gtol", 0.0)
    ftol = check_number(ftol, "ftol", 0.0)
    max_iter = check_int(max_iter, "max_iter", 0)
    x = np.array(x0, dtype=np.float64, copy=True).ravel()
    f, g = fun(x, *args)
    f = float(f)
    n_eval = 1
    if not np.isfinite(f) or not np.all(np.isfinite(g)):
        raise FloatingPointError("lbfgs: the objective or its gradient is not finite at x0")
    s_list, y_list, rho_list = [], [], []
    history = [f]
    for k in range(max_iter):
        if np.abs(g).max() <= gtol:
            return LBFGSResult(x, f, g, k, n_eval, True, "max |grad| <= gtol", history)
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, y, rho in zip(reversed(s_list), reversed(y_list), reversed(rho_list), strict=True):
            a = rho * (s @ q)
            q -= a * y
            alphas.append(a)
        if s_list:
            q *= (s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1])
        else:
            q *= min(1.0, 1.0 / np.abs(g).sum())  # a cautious first step
        for s, y, rho, a in zip(s_list, y_list, rho_list, reversed(alphas), strict=True):
            b = rho * (y @ q)
            q += (a - b) * s
        d = -q
        slope = g @ d
        if slope >= 0:  # not a descent direction (round-off): restart from steepest descent
            s_list.clear()
            y_list.clear()
            rho_list.clear()
            d = -g * min(1.0, 1.0 / np.abs(g).sum())
            slope = g @ d
        # Armijo backtracking with safeguarded cubic/quadratic interpolation
        t, f_prev_t, t_prev = 1.0, None, None
        for _ in range(60):
            x_new = x + t * d
            f_new, g_new = fun(x_new, *args)
            f_new = float(f_new)
            n_eval += 1
            if np.isfinite(f_new) and f_new <= f + c1 * t * slope:
                break
            if not np.isfinite(f_new) or f_prev_t is None:
                t_next = (
                    0.5 * t
                    if not np.isfinite(f_new)
                    else -slope * t * t / (2 * (f_new - f - slope * t))
                )
            else:
                t_next = _cubic_step(f, slope, t, f_new, t_prev, f_prev_t)
            f_prev_t, t_prev = f_new, t
            t = float(np.clip(t_next, 0.1 * t, 0.5 * t))
        else:
            return LBFGSResult(x, f, g, k, n_eval, False, "line search failed", history)
        s = x_new - x
        y = g_new - g
        sy = s @ y
        if sy > 1e-10 * np.sqrt((s @ s) * (y @ y)):
            if len(s_list) == m:
                del s_list[0], y_list[0], rho_list[0]
            s_list.append(s)
            y_list.append(y)
            rho_list.append(1.0 / sy)
        decrease = (f - f_new) / max(abs(f), abs(f_new), 1.0)
        x, f, g = x_new, f_new, g_new
        history.append(f)
        if decrease <= ftol:
            return LBFGSResult(
                x, f, g, k + 1, n_eval, True, "relative decrease of f <= ftol", history
            )
    converged = bool(np.abs(g).max() <= gtol)
    return LBFGSResult(
        x,
        f,
        g,
        max_iter,
        n_eval,
        converged,
        "max |grad| <= gtol" if converged else "max_iter reached",
        history,
    )


def _cubic_step(f0, slope, t1, f1, t2, f2) -> float:
    """Minimiser of the cubic through ``f(0), f'(0), f(t1), f(t2)`` (Nocedal & Wright 3.5)."""
    denom = t1 * t1 * t2 * t2 * (t1 - t2)
    r1 = f1 - f0 - slope * t1
    r2 = f2 - f0 - slope * t2
    a = (t2 * t2 * r1 - t1 * t1 * r2) / denom
    b = (-(t2**3) * r1 + t1**3 * r2) / denom
    if a == 0:
        return -slope / (2 * b) if b else 0.5 * t1
    disc = b * b - 3 * a * slope
    if disc < 0:
        return 0.5 * t1
    return (-b + np.sqrt(disc)) / (3 * a)
