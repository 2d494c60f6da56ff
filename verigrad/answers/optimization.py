"""Section 6: the autoencoder ``xhat = s2(W* s1(W x + b) + b')`` and its gradients.

Forward (``s1 = s2 = sigmoid``)::

    a1 = W x + b,   h = s1(a1),   a2 = W* h + b',   xhat = s2(a2)

Losses: squared error ``L = 1/2 ||xhat - x||^2`` and, for inputs in [0, 1], the
cross-entropy ``L = -sum_i x_i log xhat_i + (1 - x_i) log(1 - xhat_i)``.

Backward: ``delta2 = dL/da2`` is ``(xhat - x) * xhat (1 - xhat)`` for squared error and
``xhat - x`` for cross-entropy (the sigmoid's derivative cancels); then ::

    dL/dW* = delta2 h^T,       dL/db' = delta2
    delta1 = (W*^T delta2) * h (1 - h)
    dL/dW  = delta1 x^T,       dL/db  = delta1

(with tied weights ``W* = W^T`` the two contributions add: ``dL/dW = delta1 x^T + h delta2^T``).

Updates: gradient descent ``W <- W - lr g``; momentum ``v <- mu v + g``, ``W <- W - lr v``
(``v_1 = g_1``; torch.optim.SGD's convention).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .. import functional as F
from ..optim import SGD
from ..tensor import Tensor
from .record import Answer, fmt, max_abs_diff

__all__ = ["answers", "autoencoder_gradients", "autoencoder_loss"]


def autoencoder_loss(W, b, W_star, b_prime, x, loss: str = "squared"):
    """The reconstruction loss on Tensors (the autograd route)."""
    h = F.sigmoid(W @ x + b)
    xhat = F.sigmoid(W_star @ h + b_prime)
    if loss == "squared":
        return 0.5 * ((xhat - x) ** 2).sum()
    return -(x * xhat.log() + (1 - x) * (1 - xhat).log()).sum()


def autoencoder_gradients(W, b, W_star, b_prime, x, loss: str = "squared") -> dict:
    """The closed-form gradients (plain NumPy), as written in the module docstring."""
    h = expit(W @ x + b)
    xhat = expit(W_star @ h + b_prime)
    delta2 = (xhat - x) * xhat * (1 - xhat) if loss == "squared" else xhat - x
    delta1 = (W_star.T @ delta2) * h * (1 - h)
    return {"W": np.outer(delta1, x), "b": delta1, "W_star": np.outer(delta2, h), "b_prime": delta2}


def _example(seed=3):
    rng = np.random.default_rng(seed)
    d, k = 4, 2
    params = {
        "W": rng.normal(size=(k, d)).round(2),
        "b": rng.normal(size=k).round(2),
        "W_star": rng.normal(size=(d, k)).round(2),
        "b_prime": rng.normal(size=d).round(2),
    }
    x = np.array([0.9, 0.1, 0.8, 0.3])
    return params, x


def _autograd(params, x, loss):
    tensors = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    value = autoencoder_loss(
        tensors["W"], tensors["b"], tensors["W_star"], tensors["b_prime"], Tensor(x), loss
    )
    value.backward()
    return float(value.item()), {k: t.grad for k, t in tensors.items()}


def _gradient_answer() -> Answer:
    params, x = _example()
    work, worst, values = [], 0.0, {}
    for loss in ("squared", "cross-entropy"):
        value, auto = _autograd(params, x, loss)
        closed = autoencoder_gradients(**params, x=x, loss=loss)
        err = max(max_abs_diff(closed[k], auto[k]) for k in params)
        worst = max(worst, err)
        values[loss] = {
            "loss": value,
            "dL_dW": closed["W"],
            "dL_dW_star": closed["W_star"],
            "max_abs_diff": err,
        }
        work += [
            f"{loss} loss L = {value:.6f}",
            f"  dL/dW  (closed form) = {fmt(closed['W'])}",
            f"  dL/dW* (closed form) = {fmt(closed['W_star'])}",
            f"  max |closed form - autograd| over W, b, W*, b' = {err:.1e}",
        ]
    # tied weights: W* = W^T, both paths add up
    W = Tensor(params["W"], requires_grad=True)
    tied = autoencoder_loss(W, Tensor(params["b"]), W.T, Tensor(params["b_prime"]), Tensor(x))
    tied.backward()
    g = autoencoder_gradients(params["W"], params["b"], params["W"].T, params["b_prime"], x)
    tied_err = max_abs_diff(g["W"] + g["W_star"].T, W.grad)
    work.append(
        f"tied weights (W* = W^T): dL/dW = delta1 x^T + h delta2^T, max |diff| vs "
        f"autograd {tied_err:.1e}"
    )
    passed = worst < 1e-12 and tied_err < 1e-12
    header = [
        f"example: x = {fmt(x)}, W = {fmt(params['W'])}, b = {fmt(params['b'])},",
        f"W* = {fmt(params['W_star'])}, b' = {fmt(params['b_prime'])}",
    ]
    return Answer(
        6,
        "a",
        "Autoencoder reconstruction loss and dL/dW, dL/dW* in closed form",
        "dL/dW* = delta2 h^T, dL/dW = ((W*^T delta2) * h(1-h)) x^T with delta2 = (xhat - x) "
        "xhat(1 - xhat) (squared error) or xhat - x (cross-entropy)",
        f"closed form vs autograd: max |diff| {worst:.1e} (both losses), tied {tied_err:.1e}",
        bool(passed),
        header + work,
        values,
    )


def _step_answer() -> Answer:
    params, x = _example()
    lr, mu = 0.5, 0.9
    # Hand updates from the closed-form gradients
    g1 = autoencoder_gradients(**params, x=x)
    gd = {k: params[k] - lr * g1[k] for k in params}
    v1 = g1
    after1 = {k: params[k] - lr * v1[k] for k in params}
    g2 = autoencoder_gradients(**after1, x=x)
    v2 = {k: mu * v1[k] + g2[k] for k in params}
    after2 = {k: after1[k] - lr * v2[k] for k in params}

    def run_sgd(momentum, steps):
        tensors = {k: Tensor(v.copy(), requires_grad=True) for k, v in params.items()}
        opt = SGD(list(tensors.values()), lr=lr, momentum=momentum)
        for _ in range(steps):
            opt.zero_grad()
            autoencoder_loss(
                tensors["W"], tensors["b"], tensors["W_star"], tensors["b_prime"], Tensor(x)
            ).backward()
            opt.step()
        return {k: t.data for k, t in tensors.items()}

    lib_gd, lib_mom = run_sgd(0.0, 1), run_sgd(mu, 2)
    err_gd = max(max_abs_diff(gd[k], lib_gd[k]) for k in params)
    err_mom = max(max_abs_diff(after2[k], lib_mom[k]) for k in params)
    losses = [_autograd(p, x, "squared")[0] for p in (params, gd, after2)]
    passed = err_gd < 1e-12 and err_mom < 1e-12 and losses[1] < losses[0]
    work = [
        f"lr = {lr}, momentum mu = {mu}; squared-error loss L = {losses[0]:.6f}",
        "gradient descent: W1 = W0 - lr g(W0)",
        f"  W after one step (hand) = {fmt(gd['W'])}, L = {losses[1]:.6f}",
        "momentum: v1 = g(W0), W1 = W0 - lr v1; v2 = mu v1 + g(W1), W2 = W1 - lr v2",
        f"  v2 for W (hand) = {fmt(v2['W'])}",
        f"  W after two momentum steps (hand) = {fmt(after2['W'])}, L = {losses[2]:.6f}",
        f"verigrad.optim.SGD: |hand - library| = {err_gd:.1e} (plain), {err_mom:.1e} (momentum)",
    ]
    return Answer(
        6,
        "b",
        "One gradient-descent step and one momentum step on a worked example",
        f"loss {losses[0]:.4f} -> {losses[1]:.4f} after one gradient step; momentum step uses "
        f"v = mu v + g (loss {losses[2]:.4f} after two steps)",
        f"hand updates vs verigrad.optim.SGD(momentum={mu}): max |diff| {max(err_gd, err_mom):.1e}",
        bool(passed),
        work,
        {
            "lr": lr,
            "momentum": mu,
            "losses": losses,
            "W_after_gd": gd["W"],
            "W_after_momentum": after2["W"],
            "max_abs_diff": max(err_gd, err_mom),
        },
    )


def answers() -> list:
    return [_gradient_answer(), _step_answer()]
