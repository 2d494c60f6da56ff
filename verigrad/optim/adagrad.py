"""Adagrad (Duchi, Hazan & Singer 2011): per-coordinate steps shrinking with the summed squares.

``adagrad_update`` is the update maths (torch.optim's ``_single_tensor_adagrad``, operation
for operation); :class:`Adagrad` is the bookkeeping.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_number
from .optimizer import Optimizer, effective_gradient

__all__ = ["Adagrad", "adagrad_update", "adagrad_prox_step"]


def adagrad_update(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    step: float,
    *,
    lr: float,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
    scratch=None,
) -> None:
    """One Adagrad step, in place on ``param`` and ``state_sum``.

    ``step`` is the step count *including* this one (1 on the first call). ``scratch``: three
    work arrays shaped like ``param`` (allocated if omitted). ``grad`` is only read.
    """
    if scratch is None:
        scratch = (np.empty_like(param), np.empty_like(param), np.empty_like(param))
    work, std, temp = scratch
    g = effective_gradient(grad, param, weight_decay, maximize, out=work)
    clr = lr / (1 + (step - 1) * lr_decay)
    np.multiply(g, g, out=temp)
    state_sum += temp
    np.sqrt(state_sum, out=std)
    std += eps
    np.multiply(g, -clr, out=temp)
    temp /= std
    param += temp


def adagrad_prox_step(
    state_sum: np.ndarray, step: float, *, lr: float, lr_decay: float = 0.0, eps: float = 1e-10
) -> np.ndarray:
    """The per-element step ``clr / (sqrt(s) + eps)`` of the update just taken (a new array):
    the prox's ``t`` in Adagrad's metric. ``step`` counts that update (1 on the first)."""
    clr = lr / (1 + (step - 1) * lr_decay)
    t = np.sqrt(state_sum)
    t += eps
    return np.divide(clr, t, out=t)


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, eps=1e-10, initial_accumulator_value=0)``.

    As ``torch.optim.Adagrad``, with ``t`` the step count (from 1)::

        g = -g if maximize
        g = g + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                          (s starts at initial_accumulator_value)
        theta = theta - clr * g / (sqrt(s) + eps)
        t = clr / (sqrt(s) + eps)              (per element: the step's own metric)
        theta = prox(theta, t)                 if the group has a prox

    Every hyperparameter must be >= 0. State per parameter: ``step`` (float) and ``sum``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        eps: float = 1e-10,
        initial_accumulator_value: float = 0.0,
        maximize: bool = False,
        prox=None,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            eps=eps,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
            prox=prox,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"):
            check_number(group[name], name, 0.0)

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["sum"] = np.full(
                param.shape, group["initial_accumulator_value"], dtype=param.dtype
            )
        state["step"] += 1
        adagrad_update(
            param.data,
            grad,
            state["sum"],
            state["step"],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
            scratch=self._scratch(param.data, 3),
        )

    def _prox_step(self, param, state, group):
        return adagrad_prox_step(
            state["sum"],
            state["step"],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
        )
