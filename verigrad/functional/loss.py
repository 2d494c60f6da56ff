"""Softmax, log-softmax and the cross-entropy family.

For logits ``z`` (a row of ``C`` scores) the softmax is ``p_c = exp(z_c) / sum_j exp(z_j)``,
computed as ``exp(z_c - m) / sum_j exp(z_j - m)`` with ``m = max_j z_j`` so no exponent
overflows, and ``log p_c = z_c - m - log sum_j exp(z_j - m)`` (log-sum-exp), which is finite
and exact for logits of any magnitude. Infinite logits follow torch: ``-inf`` gets probability
0 (and ``log p = -inf``). A row with a NaN or ``+inf`` logit, or entirely ``-inf``, has no
softmax (torch returns NaN): it raises :class:`~verigrad._checks.NotFiniteError`, a
``ValueError`` naming the argument.

Cross-entropy. Every variant is ``loss_n = -sum_c A_nc log p_nc`` for a coefficient matrix
``A`` built from the target (one-hot or probabilities), the class weights ``w`` and label
smoothing ``eps``:

* class indices:  ``A_nc = w_c ((1 - eps) [c = y_n] + eps / C)`` (rows with ``ignore_index``
  are 0);
* probabilities:  ``A_nc = w_c ((1 - eps) y_nc + eps / C)``.

Since ``d(-sum_c A_c log softmax(z)_c)/dz = p * sum_c A_c - A``, the gradient with respect to
the logits is computed in closed form, never through the graph of ``log_softmax``; without
weights or smoothing it is the familiar ``(softmax(z) - y) / N``. ``reduction="mean"`` divides
by ``N`` for probability targets and, for class indices, by the summed weight ``w[y_n]`` of
the rows kept, exactly as ``torch.nn.functional.cross_entropy``.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import xlogy

from .._checks import NotFiniteError, ParameterError, ParameterTypeError, check_choice, check_number
from ..tensor import Tensor, as_tensor, make_node

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "nll_loss",
    "cross_entropy_from_probs",
    "mse_loss",
    "softmax_forward",
    "log_softmax_forward",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_axis(axis, ndim, name="axis") -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ParameterTypeError(name, f"expected an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ParameterError(name, f"{axis} is out of range for {ndim} dimensions")
    return int(axis) % max(ndim, 1)


def _max_along(z: np.ndarray, axis: int, name: str) -> np.ndarray:
    """``z.max(axis, keepdims=True)``, refusing slices whose softmax would be NaN.

    A NaN or ``+inf`` logit, or a slice of nothing but ``-inf``, makes the softmax NaN (torch
    returns those NaNs); the maximum shows all three, so checking it costs one pass over the
    small reduced array. ``-inf`` entries beside a finite one are fine (probability 0).
    """
    m = z.max(axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        raise NotFiniteError(
            name,
            f"softmax needs logits without NaN or +inf and with a finite entry in "
            f"every slice along axis {axis} (otherwise it is NaN)",
        )
    return m


def softmax_forward(z: np.ndarray, axis: int = -1, name: str = "x") -> np.ndarray:
    """Softmax of an ndarray along ``axis`` (max-shifted); see :func:`_max_along`."""
    m = _max_along(z, axis, name)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = z - m
        e = np.exp(shifted, out=shifted)
        e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax_forward(z: np.ndarray, axis: int = -1, name: str = "x") -> np.ndarray:
    """Log-softmax of an ndarray along ``axis`` (log-sum-exp); see :func:`_max_along`."""
    m = _max_along(z, axis, name)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = z - m
        lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        shifted -= lse
    return shifted


def softmax(x, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x), axis)``. Backward: ``p * (g - sum(g * p, axis))``."""
    x = as_tensor(x, "x")
    axis = _check_axis(axis, x.ndim)
    p = softmax_forward(x.data, axis)

    def backward(g):
        return (p * (g - (g * p).sum(axis=axis, keepdims=True)),)

    return make_node(p, (x,), backward, "softmax")


def log_softmax(x, axis: int = -1) -> Tensor:
    """``x - logsumexp(x, axis)``. Backward: ``g - softmax(x) * sum(g, axis)``."""
    x = as_tensor(x, "x")
    axis = _check_axis(axis, x.ndim)
    out = log_softmax_forward(x.data, axis)

    def backward(g):
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return make_node(out, (x,), backward, "log_softmax")


def _check_reduction(reduction):
    return check_choice(reduction, "reduction", _REDUCTIONS)


def _mean_denominator(total: float) -> float:
    """The mean's denominator, refused when it is 0 (torch returns NaN there)."""
    if not total:
        raise ParameterError(
            "target",
            "reduction='mean' over no samples (an empty batch, every target equal to "
            "ignore_index, or zero total weight) is undefined; use reduction='sum'",
        )
    return total


def _class_targets(target, n: int, n_classes: int, ignore_index: int) -> np.ndarray:
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise ParameterTypeError("target", f"class indices must be integers, got dtype {t.dtype}")
    if t.shape != (n,):
        raise ParameterError("target", f"expected shape ({n},) of class indices, got {t.shape}")
    kept = t != ignore_index
    bad = kept & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise ParameterError(
            "target", f"class indices must be in [0, {n_classes}), got {t[bad][0]}"
        )
    return t


def _weight_vector(weight, n_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if w.shape != (n_classes,):
        raise ParameterError(
            "weight", f"expected one weight per class, shape ({n_classes},), got {w.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise ParameterError("weight", "contains NaN or infinite values")
    return w


def _as_2d(logits: Tensor, name: str):
    if logits.ndim not in (1, 2):
        raise ParameterError(name, f"expected shape (N, C) or (C,), got {logits.shape}")
    if logits.dtype.kind != "f":
        raise ParameterTypeError(name, f"expected floating values, got dtype {logits.dtype}")
    if logits.shape[-1] == 0:
        raise ParameterError(name, f"needs at least one class, got shape {logits.shape}")
    return logits.ndim == 1


def _coefficients(target, n, c, dtype, weight, label_smoothing, ignore_index):
    """The matrix ``A`` of the module docstring and the mean-reduction denominator."""
    w = _weight_vector(weight, c, dtype)
    t_arr = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t_arr.dtype.kind == "f":  # probabilities
        if t_arr.shape != (n, c):
            raise ParameterError(
                "target", f"probabilities must have shape ({n}, {c}), got {t_arr.shape}"
            )
        if not np.all(np.isfinite(t_arr)):
            raise ParameterError("target", "contains NaN or infinite values")
        a = t_arr.astype(dtype, copy=True)
        if label_smoothing:
            a *= 1.0 - label_smoothing
            a += label_smoothing / c
        if w is not None:
            a *= w
        return a, None, float(n)
    t = _class_targets(target, n, c, ignore_index)
    kept = t != ignore_index
    rows = np.flatnonzero(kept)
    a = np.zeros((n, c), dtype=dtype)
    if label_smoothing:
        a[rows] = label_smoothing / c * (1.0 if w is None else w)
    picked = (1.0 - label_smoothing) * (1.0 if w is None else w[t[rows]])
    a[rows, t[rows]] += picked
    denominator = float(rows.size if w is None else w[t[rows]].sum())
    return a, t, denominator


def cross_entropy(
    logits,
    target,
    weight=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy between ``softmax(logits)`` and ``target``, as torch's.

    Parameters
    ----------
    logits : Tensor, shape (N, C) or (C,)
    target : int array (N,) of class indices, or float array (N, C) of probabilities
    weight : array (C,), optional
        Per-class rescaling ``w_c``.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]
    ignore_index : int
        Class-index targets equal to it contribute nothing (and do not count in the mean).

    Returns
    -------
    Tensor: a scalar, or shape (N,) for ``reduction="none"``.

    The gradient w.r.t. the logits is the closed form ``(p * sum_c A_c - A) / denominator``
    (see the module docstring). ``"mean"`` over no samples (an empty batch, every target
    ignored) is a ValueError where torch returns NaN.
    """
    logits = as_tensor(logits, "logits")
    single = _as_2d(logits, "logits")
    _check_reduction(reduction)
    label_smoothing = check_number(label_smoothing, "label_smoothing", 0.0, 1.0)
    z = logits.data[None, :] if single else logits.data
    if single:
        t_arr = np.asarray(target.data if isinstance(target, Tensor) else target)
        target = t_arr[None] if t_arr.dtype.kind == "f" else t_arr.reshape(-1)
    n, c = z.shape
    a, t, denominator = _coefficients(target, n, c, z.dtype, weight, label_smoothing, ignore_index)
    logp = log_softmax_forward(z, axis=1, name="logits")
    if t is not None and not label_smoothing:
        rows = np.flatnonzero(t != ignore_index)
        per_row = np.zeros(n, dtype=z.dtype)
        per_row[rows] = -a[rows, t[rows]] * logp[rows, t[rows]]
    else:
        with np.errstate(invalid="ignore"):
            per_row = -np.where(a != 0, a * logp, 0).sum(axis=1)
    if reduction == "none":
        out = per_row[0] if single else per_row
        scale = None
    elif reduction == "sum":
        out, scale = per_row.sum(), 1.0
    else:
        denominator = _mean_denominator(denominator)
        out = per_row.sum() / np.asarray(denominator, dtype=z.dtype)
        scale = 1.0 / denominator

    def backward(g):
        p = np.exp(logp)
        grad = p * a.sum(axis=1, keepdims=True) - a
        if scale is None:
            grad *= (np.reshape(g, (1,)) if single else g)[:, None]
        else:
            grad *= g * scale
        return (grad[0] if single else grad,)

    return make_node(np.asarray(out, dtype=z.dtype), (logits,), backward, "cross_entropy")


def nll_loss(
    log_probs, target, reduction: str = "mean", *, weight=None, ignore_index: int = -100
) -> Tensor:
    """Negative log-likelihood ``-w_y log_probs[n, y_n]`` of class-index targets, as torch's.

    ``reduction`` is the third positional argument, as API.md fixes it (torch puts ``weight``
    there); ``weight`` and ``ignore_index`` are keyword-only so the two orders cannot be
    confused silently.
    """
    log_probs = as_tensor(log_probs, "log_probs")
    single = _as_2d(log_probs, "log_probs")
    _check_reduction(reduction)
    lp = log_probs.data[None, :] if single else log_probs.data
    n, c = lp.shape
    t_in = np.asarray(target.data if isinstance(target, Tensor) else target)
    t = _class_targets(t_in.reshape(1) if single else t_in, n, c, ignore_index)
    w = _weight_vector(weight, c, lp.dtype)
    rows = np.flatnonzero(t != ignore_index)
    coef = np.zeros(n, dtype=lp.dtype)
    coef[rows] = 1.0 if w is None else w[t[rows]]
    picked = np.zeros(n, dtype=lp.dtype)
    picked[rows] = lp[rows, t[rows]]
    per_row = -coef * picked
    if reduction == "none":
        out, scale = (per_row[0] if single else per_row), None
    elif reduction == "sum":
        out, scale = per_row.sum(), 1.0
    else:
        total = _mean_denominator(coef.sum())
        out = per_row.sum() / total
        scale = 1.0 / total

    def backward(g):
        grad = np.zeros_like(lp)
        gr = np.reshape(g, (1,)) if (single and scale is None) else g
        factor = -coef[rows] * (gr[rows] if scale is None else g * scale)
        grad[rows, t[rows]] = factor
        return (grad[0] if single else grad,)

    return make_node(np.asarray(out, dtype=lp.dtype), (log_probs,), backward, "nll_loss")


def cross_entropy_from_probs(probs, target, reduction: str = "mean") -> Tensor:
    """The textbook cross-entropy ``-sum_c y_c log yhat_c`` on probabilities.

    Parameters
    ----------
    probs : Tensor (N, C) or (C,)
        Predicted probabilities; each row must lie in [0, 1] and sum to 1 (to 1e-6 relative;
        rows are never silently renormalised).
    target : int array (N,) of class indices, or float array (N, C) of probabilities.
    reduction : {"mean", "sum", "none"}

    Notes
    -----
    ``0 log 0`` counts as 0 (``scipy.special.xlogy``). Where a true class has probability 0
    (``y_c1 = 1``, ``yhat_c2 = 1`` for ``c1 != c2``) the loss is ``+inf``: never NaN, never an
    exception. Its gradient ``-y / yhat`` is then ``-inf`` at that entry; computing the loss
    from logits (:func:`cross_entropy`) avoids both.
    """
    probs = as_tensor(probs, "probs")
    single = _as_2d(probs, "probs")
    _check_reduction(reduction)
    p = probs.data[None, :] if single else probs.data
    n, c = p.shape
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ParameterError("probs", "probabilities must be finite and in [0, 1]")
    sums = p.sum(axis=1)
    tol = 1e-6 if p.dtype == np.float64 else 1e-4
    off = np.abs(sums - 1) > tol
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ParameterError(
            "probs", f"row {row} sums to {sums[row]:.9g}, not 1 (rows are not renormalised)"
        )
    t_arr = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t_arr.dtype.kind == "f":
        y = t_arr[None, :] if single else t_arr
        if y.shape != (n, c):
            raise ParameterError(
                "target", f"probabilities must have shape ({n}, {c}), got {y.shape}"
            )
        y = y.astype(p.dtype)
    else:
        t = _class_targets(t_arr.reshape(1) if single else t_arr, n, c, ignore_index=-(2**62))
        y = np.zeros_like(p)
        y[np.arange(n), t] = 1
    with np.errstate(divide="ignore"):
        per_row = -xlogy(y, p).sum(axis=1)
    if reduction == "none":
        out, scale = (per_row[0] if single else per_row), None
    elif reduction == "sum":
        out, scale = per_row.sum(), 1.0
    else:
        out, scale = per_row.sum() / _mean_denominator(n), 1.0 / n

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.where(y != 0, -y / p, 0.0).astype(p.dtype)
        grad *= (np.reshape(g, (1,)) if single else g)[:, None] if scale is None else g * scale
        return (grad[0] if single else grad,)

    return make_node(np.asarray(out, dtype=p.dtype), (probs,), backward, "cross_entropy_from_probs")


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)^2`` reduced as torch's."""
    input = as_tensor(input, "input")
    target = as_tensor(target, "target")
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise ParameterError("target", f"shape {target.shape} does not match input's {input.shape}")
    sq = (input - target) ** 2
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()
