"""Stochastic gradient descent with momentum and Nesterov momentum (torch.optim.SGD).

Update, with ``g`` the gradient, ``b`` the momentum buffer, ``mu`` momentum, ``tau``
dampening and ``lambda`` weight decay::

    g = g + lambda * theta
    if mu != 0:
        b = g                         on the first step
        b = mu * b + (1 - tau) * g    afterwards
        g = g + mu * b  if nesterov else  b
    theta = theta - lr * g
"""

from __future__ import annotations

import numpy as np

from .._checks import check_number
from .optimizer import Optimizer

__all__ = ["SGD", "sgd_update"]


def sgd_update(param: np.ndarray, grad: np.ndarray, buffer, *, lr: float, momentum: float,
               dampening: float, weight_decay: float, nesterov: bool, maximize: bool = False):
    """Apply one SGD step to ``param`` in place; returns the (new or updated) momentum buffer."""
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    if momentum:
        if buffer is None:
            buffer = np.array(grad, dtype=param.dtype, copy=True)
        else:
            buffer *= momentum
            buffer += (1 - dampening) * grad
        grad = grad + momentum * buffer if nesterov else buffer
    param -= lr * grad
    return buffer


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)``."""

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
                 prox=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, prox=prox)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_number(group["lr"], "lr", 0.0)
        check_number(group["momentum"], "momentum", 0.0)
        check_number(group["dampening"], "dampening")
        check_number(group["weight_decay"], "weight_decay", 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and dampening = 0")

    def _update(self, param, grad, state, group):
        state["momentum_buffer"] = sgd_update(
            param.data, grad, state.get("momentum_buffer"), lr=group["lr"],
            momentum=group["momentum"], dampening=group["dampening"],
            weight_decay=group["weight_decay"], nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
