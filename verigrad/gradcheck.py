"""Finite differences: the independent check every gradient in verigrad is held to.

Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` have error
``O(eps^2 f''')`` from truncation plus ``O(u |f| / eps)`` from round-off (``u`` the unit
round-off), so they are evaluated in float64 with ``eps = 1e-6``: about 1e-10 absolute on
well-scaled functions.
"""

from __future__ import annotations

import numpy as np

from ._checks import ParameterError, check_finite, check_number
from .tensor import Tensor, no_grad

__all__ = ["gradcheck", "GradcheckError", "numerical_gradient", "compare_gradients"]


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names the input and entry."""


def numerical_gradient(fn, *inputs, eps: float = 1e-6, wrt=None) -> list:
    """Central-difference gradients of scalar ``fn(*inputs)`` w.r.t. each input in ``wrt``.

    ``inputs`` are Tensors or arrays (taken as float64); ``wrt`` lists input positions (default:
    every floating input). Returns a list of arrays, ``None`` for positions not differentiated.
    ``eps`` (the half step) must be a finite number > 0.
    """
    check_finite(check_number(eps, "eps", 0.0, low_open=True), "eps")
    values = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    if wrt is None:
        wrt = [
            i
            for i, x in enumerate(inputs)
            if np.asarray(x.data if isinstance(x, Tensor) else x).dtype.kind == "f"
        ]

    def evaluate():
        with no_grad():
            out = fn(*[Tensor(v) for v in values])
        out = out.data if isinstance(out, Tensor) else np.asarray(out)
        if out.size != 1:
            raise ParameterError("fn", f"must return a scalar, got shape {out.shape}")
        return float(out.reshape(()))

    grads = [None] * len(values)
    for i in wrt:
        v = values[i]
        g = np.zeros_like(v)
        flat, gflat = v.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            up = evaluate()
            flat[j] = old - eps
            down = evaluate()
            flat[j] = old
            gflat[j] = (up - down) / (2 * eps)
        grads[i] = g
    return grads


def compare_gradients(analytic, numerical, atol: float, rtol: float):
    """Worst entry of ``|a - n| - (atol + rtol |n|)``: (index, a, n, excess) or None if all pass."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
    excess = np.where(np.isnan(excess), np.inf, excess)
    if excess.size == 0 or excess.max() <= 0:
        return None
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return worst, analytic[worst], numerical[worst], excess[worst]


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check the autograd gradient of scalar ``fn(*inputs)`` against central differences.

    Every input that is a Tensor with ``requires_grad=True`` is checked (if none is, every
    floating input is). Both sides are computed in float64 on copies, so the caller's tensors
    and their ``.grad`` are untouched.

    Returns True, or raises :class:`GradcheckError` naming the input, the worst entry and
    both values. ``eps`` must be a finite number > 0, ``atol`` and ``rtol`` finite and >= 0.
    """
    check_finite(check_number(eps, "eps", 0.0, low_open=True), "eps")
    check_finite(check_number(atol, "atol", 0.0), "atol")
    check_finite(check_number(rtol, "rtol", 0.0), "rtol")
    flags = [isinstance(x, Tensor) and x.requires_grad for x in inputs]
    floating = [
        np.asarray(x.data if isinstance(x, Tensor) else x).dtype.kind == "f" for x in inputs
    ]
    wrt = [i for i, f in enumerate(flags) if f] or [i for i, f in enumerate(floating) if f]
    if not wrt:
        raise ParameterError("inputs", "none is floating, nothing to check")
    copies = [
        Tensor(
            np.array(
                x.data if isinstance(x, Tensor) else x, dtype=np.float64 if floating[i] else None
            ),
            requires_grad=i in wrt,
        )
        for i, x in enumerate(inputs)
    ]
    out = fn(*copies)
    if not isinstance(out, Tensor) or out.size != 1:
        shape = out.shape if hasattr(out, "shape") else type(out).__name__
        raise ParameterError("fn", f"must return a scalar Tensor, got {shape}")
    if out.requires_grad:
        out.backward(np.ones_like(out.data))
    numerical = numerical_gradient(fn, *copies, eps=eps, wrt=wrt)
    for i in wrt:
        analytic = copies[i].grad if copies[i].grad is not None else np.zeros_like(copies[i].data)
        bad = compare_gradients(analytic, numerical[i], atol, rtol)
        if bad is not None:
            index, a, n, _ = bad
            raise GradcheckError(
                f"gradcheck: input {i} (shape {copies[i].shape}): worst entry {tuple(int(k) for k in index)}: "
                f"autograd {a:.10g} vs finite differences {n:.10g} "
                f"(|diff| {abs(a - n):.3g} > atol {atol:g} + rtol {rtol:g} * |fd|)"
            )
    return True
