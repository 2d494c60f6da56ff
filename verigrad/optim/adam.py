"""Adam (Kingma & Ba 2015), AMSGrad (Reddi, Kale & Kumar 2018) and AdamW (Loshchilov & Hutter 2019).

``adam_update`` is the update maths written operation for operation as torch.optim's
``_single_tensor_adam`` (the reference). The classes run :func:`adam_kernel`, the same
update with fewer passes over memory (one division instead of two, eps folded into the
square root's scale), over chunks of the parameters on a few threads (see
:mod:`verigrad.optim._chunks`); the two agree to round-off, which the tests check.
"""

from __future__ import annotations

import numpy as np

from .._checks import ParameterTypeError, check_number
from ._chunks import chunk_views, run_pieces
from .optimizer import Optimizer, effective_gradient
from .rmsprop import lerp_

__all__ = ["Adam", "AdamW", "adam_update", "adam_kernel", "adam_prox_step"]


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq,
    step: float,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
    scratch=None,
) -> None:
    """One Adam/AdamW step in torch's order of operations, in place on ``param`` and the moments.

    ``step`` counts this step (1 on the first call). ``max_exp_avg_sq`` is needed (an ndarray,
    updated in place) only with ``amsgrad``. ``decoupled_weight_decay=True`` is AdamW's decay
    ``theta *= 1 - lr * weight_decay``; otherwise ``weight_decay`` is added to the gradient.
    ``scratch``: two work arrays shaped like ``param``. ``grad`` is only read.
    """
    if scratch is None:
        scratch = (np.empty_like(param), np.empty_like(param))
    work, temp = scratch
    if weight_decay and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
    g = effective_gradient(
        grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize, out=work
    )
    lerp_(exp_avg, g, 1 - beta1, out=temp)
    exp_avg_sq *= beta2
    np.multiply(g, 1 - beta2, out=temp)
    temp *= g
    exp_avg_sq += temp
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5
    second = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    np.sqrt(second, out=temp)
    temp /= bias_correction2_sqrt
    temp += eps  # denom
    np.multiply(exp_avg, -step_size, out=work)
    work /= temp
    param += work


def adam_kernel(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    *,
    scratch,
    beta1,
    beta2,
    eps_scaled,
    step_scaled,
    weight_decay,
    decay_factor,
    amsgrad,
    maximize,
) -> None:
    """The Adam step of :func:`adam_update` with fewer passes (12 instead of 13, one division).

    With ``c2 = sqrt(1 - beta2^t)``, ``lr / (1 - beta1^t) * m / (sqrt(v) / c2 + eps)`` equals
    ``step_scaled * m / (sqrt(v) + eps_scaled)`` where ``step_scaled = lr * c2 / (1 - beta1^t)``
    and ``eps_scaled = eps * c2``. ``decay_factor`` is AdamW's ``1 - lr * weight_decay``
    (1 for none) and ``weight_decay`` the L2 decay (0 for AdamW). In place, as adam_update.
    """
    work, temp = scratch
    if decay_factor != 1:
        param *= decay_factor
    g = effective_gradient(grad, param, weight_decay, maximize, out=work)
    exp_avg *= beta1
    np.multiply(g, 1 - beta1, out=temp)
    exp_avg += temp
    exp_avg_sq *= beta2
    np.multiply(g, g, out=temp)
    temp *= 1 - beta2
    exp_avg_sq += temp
    second = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    np.sqrt(second, out=temp)
    temp += eps_scaled
    np.divide(exp_avg, temp, out=temp)
    temp *= -step_scaled
    param += temp


def adam_prox_step(
    second: np.ndarray, step: float, *, lr: float, beta2: float = 0.999, eps: float = 1e-8
) -> np.ndarray:
    """The per-element step ``lr / (sqrt(v_hat) + eps)`` after Adam's update number ``step``
    (a new array): the prox's ``t`` in Adam's metric (ProxGen; Yun, Kim & Lee 2021).

    ``second`` is ``v`` (``v_max`` with amsgrad) and ``v_hat = v / (1 - beta2^step)``. The
    first moment's bias correction ``1 / (1 - beta1^t)`` scales the step direction, not the
    metric, so it is not in ``t``.
    """
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    t = np.sqrt(second)
    t /= bias_correction2_sqrt
    t += eps
    return np.divide(lr, t, out=t)


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.

    As ``torch.optim.Adam`` (eps outside the square root, after bias correction), with ``t``
    the step count from 1::

        g = -g if maximize
        g = g + weight_decay * theta            (Adam: L2 decay in the gradient)
        theta = theta * (1 - lr * weight_decay) (AdamW instead: decoupled decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v);  v = v_max       if amsgrad
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        step = lr / (sqrt(v) / sqrt(1 - beta2^t) + eps)   (per element: Adam's metric)
        theta = prox(theta, step)               if the group has a prox

    The prox is taken in the same diagonal metric as the step (ProxGen; Yun, Kim & Lee 2021),
    so with ``prox=verigrad.prox.l1(lam)`` one step is
    ``soft_threshold(theta - lr * m_hat / (sqrt(v_hat) + eps), lr * lam / (sqrt(v_hat) + eps))``
    with ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``: a weight's threshold
    scales with its own step, so weights Adam moves by about ``lr`` are shrunk in proportion.

    ``lr``, ``eps``, ``weight_decay`` must be >= 0 and each beta in [0, 1). State per
    parameter: ``step`` (float), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad,
    ``max_exp_avg_sq``. Float32 parameters keep float32 state, as in torch.
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
        prox=None,
    ):
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            prox=prox,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_number(group["lr"], "lr", 0.0)
        check_number(group["eps"], "eps", 0.0)
        check_number(group["weight_decay"], "weight_decay", 0.0)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ParameterTypeError("betas", f"expected a pair (beta1, beta2), got {betas!r}")
        check_number(betas[0], "betas[0]", 0.0, 1.0, high_open=True)
        check_number(betas[1], "betas[1]", 0.0, 1.0, high_open=True)
        group["betas"] = (float(betas[0]), float(betas[1]))

    def _init_state(self, param, group) -> dict:
        state = {
            "step": 0.0,
            "exp_avg": np.zeros(param.shape, param.dtype),
            "exp_avg_sq": np.zeros(param.shape, param.dtype),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros(param.shape, param.dtype)
        self.state[param] = state
        return state

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()`` if given."""
        loss = closure() if closure is not None else None
        self._check_grads()
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            common = dict(
                beta1=beta1,
                beta2=beta2,
                amsgrad=group["amsgrad"],
                maximize=group["maximize"],
                weight_decay=0.0 if self._decoupled else weight_decay,
                decay_factor=1 - lr * weight_decay if self._decoupled and weight_decay else 1,
            )
            pieces, updated = [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p) or self._init_state(p, group)
                state["step"] += 1
                t = state["step"]
                bias_correction2_sqrt = (1 - beta2**t) ** 0.5
                coefficients = dict(
                    common,
                    eps_scaled=eps * bias_correction2_sqrt,
                    step_scaled=lr / (1 - beta1**t) * bias_correction2_sqrt,
                )
                arrays = (
                    p.data,
                    p.grad,
                    state["exp_avg"],
                    state["exp_avg_sq"],
                    state.get("max_exp_avg_sq"),
                )
                pieces.extend((*views, coefficients) for views in chunk_views(arrays))
                updated.append(p)

            def work(slot, piece):
                adam_kernel(*piece[:5], scratch=self._scratch(piece[0], 2, slot), **piece[5])

            run_pieces(pieces, work)
            if group["prox"] is not None:
                for p in updated:
                    t = self._prox_step(p, self.state[p], group)
                    p.data[...] = group["prox"](p.data, t)
        return loss

    def _prox_step(self, param, state, group):
        return adam_prox_step(
            state.get("max_exp_avg_sq", state["exp_avg_sq"]),
            state["step"],
            lr=group["lr"],
            beta2=group["betas"][1],
            eps=group["eps"],
        )


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``.

    Adam with decoupled weight decay, as ``torch.optim.AdamW``: before the Adam step,
    ``theta = theta * (1 - lr * weight_decay)``; the gradient itself is not decayed. See
    :class:`Adam` for the rest of the update.
    """

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
        prox=None,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            prox=prox,
        )
