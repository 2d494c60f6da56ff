"""RMSprop (Hinton, lecture 6e of "Neural Networks for Machine Learning", 2012; centered form
from Graves 2013).

``rmsprop_update`` is the update maths (torch.optim's ``_single_tensor_rmsprop``, operation
for operation); :class:`RMSprop` is the bookkeeping.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_number
from .optimizer import Optimizer, effective_gradient

__all__ = ["RMSprop", "rmsprop_update", "rmsprop_prox_step", "lerp_"]


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, out: np.ndarray) -> np.ndarray:
    """``start += weight * (end - start)`` in place, rounded as torch's ``lerp_``.

    torch evaluates ``start + w * (end - start)`` when ``|w| < 0.5`` and
    ``end - (end - start) * (1 - w)`` otherwise; ``out`` is work memory shaped like ``start``.
    """
    np.subtract(end, start, out=out)
    if abs(weight) < 0.5:
        out *= weight
        start += out
    else:
        out *= 1 - weight
        np.subtract(end, out, out=start)
    return start


def rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg,
    momentum_buffer,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    scratch=None,
) -> None:
    """One RMSprop step, in place on ``param`` and the running averages.

    ``grad_avg`` is needed (an ndarray) only when ``centered``, ``momentum_buffer`` only when
    ``momentum > 0``; both are updated in place. ``scratch``: three work arrays shaped like
    ``param`` (allocated if omitted). ``grad`` is only read.
    """
    if scratch is None:
        scratch = (np.empty_like(param), np.empty_like(param), np.empty_like(param))
    work, avg, temp = scratch
    g = effective_gradient(grad, param, weight_decay, maximize, out=work)
    square_avg *= alpha
    np.multiply(g, 1 - alpha, out=temp)
    temp *= g
    square_avg += temp
    if centered:
        lerp_(grad_avg, g, 1 - alpha, out=temp)
        np.multiply(grad_avg, grad_avg, out=avg)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        np.sqrt(square_avg, out=avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        np.divide(g, avg, out=temp)
        momentum_buffer += temp
        np.multiply(momentum_buffer, -lr, out=temp)
    else:
        np.multiply(g, -lr, out=temp)
        temp /= avg
    param += temp


def rmsprop_prox_step(
    square_avg: np.ndarray, grad_avg, *, lr: float, eps: float = 1e-8
) -> np.ndarray:
    """The per-element step ``lr / d`` of the update just taken (a new array), with
    ``d = sqrt(v) + eps`` (``sqrt(v - m^2) + eps`` when ``grad_avg`` is given, centered): the
    prox's ``t`` in RMSprop's metric (with momentum too: the metric, not the buffer)."""
    if grad_avg is not None:
        t = np.multiply(grad_avg, grad_avg)
        np.subtract(square_avg, t, out=t)
        np.sqrt(t, out=t)
    else:
        t = np.sqrt(square_avg)
    t += eps
    return np.divide(lr, t, out=t)


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)``.

    As ``torch.optim.RMSprop`` (eps outside the square root)::

        g = -g if maximize
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g^2
        if centered:
            m = m + (1 - alpha) * (g - m)
            d = sqrt(v - m^2) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d
            theta = theta - lr * b
        else:
            theta = theta - lr * g / d
        theta = prox(theta, lr / d)            if the group has a prox (per element: the
                                               step's own metric, ProxGen)

    Every hyperparameter must be >= 0. State per parameter: ``step``, ``square_avg``, and
    ``momentum_buffer`` / ``grad_avg`` when momentum / centered are on.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
        prox=None,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
            prox=prox,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_number(group[name], name, 0.0)

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros(param.shape, param.dtype)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros(param.shape, param.dtype)
            if group["centered"]:
                state["grad_avg"] = np.zeros(param.shape, param.dtype)
        state["step"] += 1
        rmsprop_update(
            param.data,
            grad,
            state["square_avg"],
            state.get("grad_avg"),
            state.get("momentum_buffer"),
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
            maximize=group["maximize"],
            scratch=self._scratch(param.data, 3),
        )

    def _prox_step(self, param, state, group):
        return rmsprop_prox_step(
            state["square_avg"], state.get("grad_avg"), lr=group["lr"], eps=group["eps"]
        )
