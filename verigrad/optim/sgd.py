"""Stochastic gradient descent with momentum, Nesterov momentum and a proximal step.

``sgd_update`` is the update maths (torch.optim's ``_single_tensor_sgd``, operation for
operation); :class:`SGD` and :class:`ProximalSGD` are the bookkeeping around it.
"""

from __future__ import annotations

import numpy as np

from .._checks import ParameterError, check_number
from .optimizer import Optimizer, effective_gradient

__all__ = ["SGD", "ProximalSGD", "sgd_update"]


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    buffer,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    scratch=None,
):
    """One SGD step, in place on ``param`` (and on ``buffer``); returns the momentum buffer.

    Parameters
    ----------
    param, grad : ndarray, same shape
        ``param`` is updated in place; ``grad`` is only read.
    buffer : ndarray or None
        The momentum buffer (None before the first step with momentum, when it becomes a copy
        of the gradient, as in torch); updated in place.
    scratch : pair of ndarrays shaped like ``param``, optional
        Work memory (allocated if omitted).

    Returns
    -------
    The momentum buffer (None when ``momentum == 0``).
    """
    if scratch is None:
        scratch = (np.empty_like(param), np.empty_like(param))
    work, temp = scratch
    g = effective_gradient(grad, param, weight_decay, maximize, out=work)
    if momentum:
        if buffer is None:
            buffer = np.array(g, dtype=param.dtype, copy=True, order="C")
        else:
            buffer *= momentum
            if dampening:
                np.multiply(g, 1 - dampening, out=temp)
                buffer += temp
            else:
                buffer += g
        if nesterov:
            np.multiply(buffer, momentum, out=temp)
            temp += g  # g + momentum * buf
            g = temp
        else:
            g = buffer
    np.multiply(g, -lr, out=temp)
    param += temp
    return buffer


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    As ``torch.optim.SGD`` (Sutskever et al. 2013 for the momentum form), with ``g`` the
    gradient, ``b`` the momentum buffer, ``mu`` momentum, ``tau`` dampening, ``lambda`` weight
    decay::

        g = -g if maximize
        g = g + lambda * theta                 (L2 decay, before momentum)
        if mu != 0:
            b = g                              on the first step
            b = mu * b + (1 - tau) * g         afterwards
            g = g + mu * b  if nesterov else  b
        theta = theta - lr * g
        theta = prox(theta, lr)                if the group has a prox (scalar t = lr,
                                               with or without momentum)

    Parameters
    ----------
    params : iterable of Tensors or of parameter-group dicts
    lr : float >= 0
    momentum, dampening, weight_decay : float >= 0
    nesterov : bool
        Needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool
        Ascend instead of descend.
    prox : callable ``prox(v, t)`` or None
        Proximal operator applied after each step with ``t = lr`` (see :mod:`verigrad.prox`).

    State per parameter: ``momentum_buffer`` (ndarray, or None without momentum).
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
        prox=None,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            prox=prox,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_number(group["lr"], "lr", 0.0)
        check_number(group["momentum"], "momentum", 0.0)
        check_number(group["dampening"], "dampening", 0.0)
        check_number(group["weight_decay"], "weight_decay", 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ParameterError(
                "nesterov",
                f"Nesterov momentum requires momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}",
            )

    def _update(self, param, grad, state, group):
        state["momentum_buffer"] = sgd_update(
            param.data,
            grad,
            state.get("momentum_buffer"),
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
            scratch=self._scratch(param.data, 2),
        )


class ProximalSGD(SGD):
    """``ProximalSGD(params, lr, momentum=0, prox=None)``: proximal (stochastic) gradient descent.

    Each step is a gradient step followed by the proximal operator of the regulariser ``g``
    with the step size as ``t`` (Combettes & Wajs 2005; with momentum, the heavy-ball
    variant)::

        b = g  (first step),  b = mu * b + g  (afterwards)      if mu != 0, else b = g
        theta = prox(theta - lr * b, lr)

    With ``prox=verigrad.prox.l1(lam)`` this minimises ``f(theta) + lam * ||theta||_1`` and
    parameters that reach zero stay exactly zero while their gradient is small
    (``|grad| <= lam``). ``prox=None`` is plain SGD.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, prox=None, maximize: bool = False):
        super().__init__(params, lr=lr, momentum=momentum, maximize=maximize, prox=prox)
