"""Proximal gradient descent for ``min_x F(x) = f(x) + g(x)``, f smooth, g with a prox.

Algorithms (Beck & Teboulle 2009, "A fast iterative shrinkage-thresholding algorithm";
O'Donoghue & Candès 2015, "Adaptive restart for accelerated gradient schemes"):

ISTA (``accelerated=False``)::

    x_{k+1} = prox_{s g}(x_k - s grad f(x_k))

FISTA (``accelerated=True``), with ``t_1 = 1``, ``y_1 = x_0``::

    x_k     = prox_{s g}(y_k - s grad f(y_k))
    t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
    y_{k+1} = x_k + ((t_k - 1) / t_{k+1}) (x_k - x_{k-1})

Backtracking (Beck & Teboulle's, on the smooth part): at the extrapolated point ``y`` with
``f(y)`` and ``grad f(y)`` computed once, try ``x = prox_{s g}(y - s grad f(y))`` and accept if
``f(x) <= f(y) + <grad f(y), x - y> + ||x - y||^2 / (2 s)``, else ``s <- eta s`` and retry
(only ``f`` is re-evaluated). The step never grows again, which keeps FISTA's bound
``F(x_k) - F* <= 2 ||x_0 - x*||^2 / (s_min (k + 1)^2)``.

Adaptive restart: ``"function"`` resets the momentum (``t = 1``) when ``F(x_k) > F(x_{k-1})``;
``"gradient"`` when ``<y_k - x_k, x_k - x_{k-1}> > 0``. ``restart=True`` means ``"function"``
when ``g`` has a ``.value`` (the objective is computed for the history anyway), else
``"gradient"``.

Default step: ``1 / L`` with ``L`` the given ``lipschitz`` or, when unknown, a power-iteration
estimate of the largest eigenvalue of the Hessian of ``f`` at ``x0`` from finite differences of
``grad_f`` (:func:`estimate_lipschitz`; exact for quadratics up to the power-iteration error,
inflated by 5% because power iteration approaches ``L`` from below).

Stopping: after iteration ``k`` (not right after a restart), converged when
``|F(x_k) - F(x_{k-1})| <= tol * max(|F(x_k)|, tiny)`` or
``||x_k - x_{k-1}|| <= tol * max(||x_k||, tiny)``; a non-finite objective stops the run with
``converged=False`` and ``message="diverged"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._checks import (
    ParameterError,
    ParameterTypeError,
    as_float_array,
    check_choice,
    check_int,
    check_number,
)

__all__ = ["ProximalResult", "ConvergenceWarning", "proximal_gradient", "estimate_lipschitz"]

_TINY = np.finfo(np.float64).tiny


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` before reaching its tolerance."""


@dataclass
class ProximalResult:
    """What :func:`proximal_gradient` returns.

    ``x`` the final iterate; ``n_iter`` iterations run; ``converged`` whether the tolerance
    (or the callback) stopped the run; ``history`` the objective ``F(x_k)`` for
    ``k = 0..n_iter`` (float64 array, ``history[0] = F(x0)``); ``step`` the final step;
    ``n_restarts`` momentum restarts; ``n_grad``/``n_f`` evaluations of ``grad_f``/``f``;
    ``message`` why it stopped.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    history: np.ndarray
    step: float
    n_restarts: int = 0
    n_grad: int = 0
    n_f: int = 0
    message: str = ""
    lipschitz: float | None = field(default=None)


def _as_result_array(value):
    try:
        return np.asarray(value)
    except ValueError:  # ragged nested sequences
        return np.asarray(None)


def _checked_value(value, name: str, x_shape) -> float:
    """``f``'s first result as a float, or an error naming ``f`` (it must be a scalar)."""
    a = _as_result_array(value)
    if a.dtype.kind not in "biuf":  # None would become NaN under dtype=float64
        raise ParameterTypeError(name, f"must return a real number, got {type(value).__name__}")
    if a.ndim != 0:
        raise ParameterError(
            name,
            f"must return a scalar, got an array of shape {a.shape} (for x of shape {x_shape})",
        )
    return float(a)


def _checked_array(value, name: str, x_shape) -> np.ndarray:
    """``grad_f``'s (or ``prox``'s) first result as float64, checked to have ``x``'s shape."""
    a = _as_result_array(value)
    if a.dtype.kind not in "biuf":
        raise ParameterTypeError(
            name, f"must return a real array of shape {x_shape}, got {type(value).__name__}"
        )
    a = a.astype(np.float64, copy=False)
    if a.shape != tuple(x_shape):
        raise ParameterError(name, f"must return an array of x's shape {x_shape}, got {a.shape}")
    return a


def estimate_lipschitz(grad_f, x0, n_iter: int = 30, rng=0) -> float:
    """Largest eigenvalue of the Hessian of ``f`` at ``x0`` by power iteration.

    Each step applies the Hessian to a unit direction ``v`` by a finite difference of the
    gradient, ``(grad_f(x0 + h v) - grad_f(x0)) / h`` with ``h = 1e-4 max(1, ||x0||)``
    (exact for quadratic ``f``), and returns ``||H v||`` for the last normalised ``v``.
    Costs ``n_iter + 1`` gradient evaluations. Returns a value ``>= tiny``.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    g0 = _checked_array(grad_f(x0), "grad_f", x0.shape)
    rng = np.random.default_rng(rng)
    v = rng.standard_normal(x0.shape)
    v /= np.linalg.norm(v.ravel())
    h = 1e-4 * max(1.0, float(np.linalg.norm(x0.ravel())))
    estimate = 0.0
    for _ in range(n_iter):
        hv = (np.asarray(grad_f(x0 + h * v), dtype=np.float64) - g0) / h
        norm = float(np.linalg.norm(hv.ravel()))
        if not np.isfinite(norm):
            raise ParameterError(
                "grad_f", "returned non-finite values while estimating the Lipschitz constant"
            )
        if norm == 0.0:
            break
        estimate = norm
        v = hv / norm
    return max(estimate, _TINY)


def _objective_parts(prox):
    value = getattr(prox, "value", None)
    return value if callable(value) else None


def proximal_gradient(
    f,
    grad_f,
    prox,
    x0,
    step=None,
    accelerated=True,
    restart=True,
    backtracking=True,
    tol=1e-8,
    max_iter=10000,
    callback=None,
    lipschitz=None,
    eta=0.5,
) -> ProximalResult:
    """Minimise ``f(x) + g(x)`` by ISTA or FISTA (see the module docstring for the maths).

    Parameters
    ----------
    f : callable ``f(x) -> float``, the smooth part.
    grad_f : callable ``grad_f(x) -> ndarray`` of ``x``'s shape. The first results of ``f``,
        ``grad_f`` and ``prox`` are checked: a non-scalar ``f`` or a wrongly shaped gradient
        or prox raises ``ValueError`` naming it.
    prox : callable ``prox(v, t)`` (e.g. :func:`verigrad.prox.l1`); its ``.value(x)`` is ``g(x)``
        if present (otherwise ``g`` is treated as 0 in ``history`` and gradient restart is used).
    x0 : array, the start (not modified).
    step : float > 0 or None. None: ``1 / lipschitz``, or ``1 / L`` with ``L`` estimated.
        With ``backtracking`` this is only the first trial step.
    accelerated : FISTA (True) or ISTA (False).
    restart : True, False, ``"function"`` or ``"gradient"`` (FISTA only).
    backtracking : Beck-Teboulle line search on ``f``.
    tol : float >= 0, relative change of the objective or of ``x`` (0 runs ``max_iter``).
    max_iter : int >= 1.
    callback : ``callback(k, x, objective)`` after each iteration; a truthy return stops the
        run (``converged=True``, ``message="callback"``). ``x`` must not be modified.
    lipschitz : float > 0 or None, a known Lipschitz constant of ``grad_f``.
    eta : float in (0, 1), the backtracking shrink factor.
    """
    x = as_float_array(x0, "x0")
    dtype = x.dtype
    x = x.astype(np.float64, copy=True)
    if not np.all(np.isfinite(x)):
        raise ParameterError("x0", "contains NaN or infinite values")
    if not callable(f):
        raise ParameterTypeError("f", f"expected a callable, got {type(f).__name__}")
    if not callable(grad_f):
        raise ParameterTypeError("grad_f", f"expected a callable, got {type(grad_f).__name__}")
    if not callable(prox):
        raise ParameterTypeError(
            "prox", f"expected a callable prox(v, t), got {type(prox).__name__}"
        )
    if callback is not None and not callable(callback):
        raise ParameterTypeError(
            "callback", f"expected a callable or None, got {type(callback).__name__}"
        )
    tol = check_number(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    eta = check_number(eta, "eta", low=0.0, high=1.0, low_open=True, high_open=True)
    if lipschitz is not None:
        lipschitz = check_number(lipschitz, "lipschitz", low=0.0, low_open=True)
    n_f = n_grad = n_restarts = 0
    fx = _checked_value(f(x), "f", x.shape)
    n_f += 1
    if not math.isfinite(fx):
        raise ParameterError("f", f"is {fx} at x0: the objective must be finite where it starts")
    if step is None:
        if lipschitz is None:
            lipschitz = 1.05 * estimate_lipschitz(grad_f, x)
        step = 1.0 / lipschitz
    else:
        step = check_number(step, "step", low=0.0, low_open=True)
    if restart is True:
        restart = "function" if _objective_parts(prox) is not None else "gradient"
    elif restart is not False:
        check_choice(restart, "restart", ("function", "gradient", True, False))
    g_value = _objective_parts(prox) or (lambda _x: 0.0)

    objective = fx + float(g_value(x))
    history = [objective]
    x_prev = x
    # momentum (t_k - 1) / t_{k+1} of Beck & Teboulle's y_{k+1}, set after computing x_k
    t_k, momentum = 1.0, 0.0
    converged, message = False, "max_iter reached"
    k = 0
    for k in range(1, max_iter + 1):
        if momentum > 0.0:
            y = x + momentum * (x - x_prev)
            fy = float(f(y)) if backtracking else None
            n_f += backtracking
        else:
            y, fy = x, fx
        if k == 1:  # a wrong shape would surface later as a bare broadcasting error
            grad = _checked_array(grad_f(y), "grad_f", x.shape)
            if not np.all(np.isfinite(grad)):
                raise ParameterError("grad_f", "is not finite at x0 (NaN or infinite entries)")
        else:
            grad = np.asarray(grad_f(y), dtype=np.float64)
        n_grad += 1
        while True:
            x_new = prox(y - step * grad, step)
            x_new = (
                _checked_array(x_new, "prox", x.shape)
                if k == 1
                else np.asarray(x_new, dtype=np.float64)
            )
            fx_new = float(f(x_new))
            n_f += 1
            if not backtracking:
                break
            d = x_new - y
            model = fy + float(np.vdot(grad, d)) + float(np.vdot(d, d)) / (2.0 * step)
            slack = 1e-12 * max(abs(fy), abs(fx_new), 1e-300)
            if fx_new <= model + slack or not np.isfinite(model):
                break
            step *= eta
        objective_new = fx_new + float(g_value(x_new))
        history.append(objective_new)
        if not np.isfinite(objective_new):
            x_prev, x = x, x_new
            message = "diverged"
            break
        restarted = False
        if accelerated and restart:
            if restart == "function":
                restarted = objective_new > objective
            else:
                restarted = float(np.vdot(y - x_new, x_new - x)) > 0
        change_x = float(np.linalg.norm((x_new - x).ravel()))
        small_x = change_x <= tol * max(float(np.linalg.norm(x_new.ravel())), _TINY)
        small_f = abs(objective_new - objective) <= tol * max(abs(objective_new), _TINY)
        x_prev, x, fx, objective = x, x_new, fx_new, objective_new
        if restarted:
            n_restarts += 1
            t_k, momentum = 1.0, 0.0
        else:
            if accelerated:
                t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t_k * t_k))
                t_k, momentum = t_next, (t_k - 1.0) / t_next
            if tol > 0 and (small_x or small_f):
                converged, message = True, "tolerance reached"
                break
        if callback is not None and callback(k, x, objective):
            converged, message = True, "callback"
            break
    return ProximalResult(
        x=x.astype(dtype, copy=False),
        n_iter=k,
        converged=converged,
        history=np.asarray(history),
        step=step,
        n_restarts=n_restarts,
        n_grad=n_grad,
        n_f=n_f,
        message=message,
        lipschitz=lipschitz,
    )
