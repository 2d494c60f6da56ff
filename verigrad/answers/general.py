"""Section 1: general questions.

(a) Linear layers without a nonlinearity collapse: ``L3(L2(L1(x))) = W x + b`` with
    ``W = W3 W2 W1`` and ``b = W3 (W2 b1 + b2) + b3``, so depth adds no expressive power.
(b) Sparse coding vs an autoencoder (see :mod:`verigrad.answers.dictionary`).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..nn import Linear, Sequential
from ..tensor import Tensor, no_grad
from .record import Answer, fmt, max_abs_diff

__all__ = ["answers", "collapse_linear"]


def collapse_linear(layers) -> tuple:
    """The single ``(W, b)`` equal to a stack of Linear layers applied in order."""
    W, b = None, None
    for layer in layers:
        Wl = layer.weight.data
        bl = layer.bias.data if layer.bias is not None else np.zeros(Wl.shape[0], Wl.dtype)
        W, b = (Wl, bl) if W is None else (Wl @ W, Wl @ b + bl)
    return W, b


def _answer_a() -> Answer:
    rng = np.random.default_rng(0)
    model = Sequential(
        *(Linear(i, o, rng=rng, dtype=np.float64) for i, o in ((5, 4), (4, 3), (3, 2)))
    )
    W, b = collapse_linear(model)
    X = rng.normal(size=(100, 5))
    with no_grad():
        deep = model(Tensor(X)).data
        single = F.linear(Tensor(X), Tensor(W), Tensor(b)).data
    err = max_abs_diff(deep, single)
    # Jacobian of the stack is W everywhere: its gradient w.r.t. the input is the same at any x.
    grads = []
    for x in X[:2]:
        xt = Tensor(x, requires_grad=True)
        model(xt)[0].backward()
        grads.append(xt.grad)
    jac_err = max(max_abs_diff(g, W[0]) for g in grads)
    passed = err < 1e-12 and jac_err < 1e-12
    work = [
        "L_k(z) = W_k z + b_k, so L3(L2(L1(x))) = W3 (W2 (W1 x + b1) + b2) + b3 "
        "= (W3 W2 W1) x + (W3 (W2 b1 + b2) + b3).",
        "Example: Linear(5,4) -> Linear(4,3) -> Linear(3,2);",
        f"collapsed W = {fmt(W)}",
        f"collapsed b = {fmt(b)}",
        f"on 100 random inputs: max |stack(x) - (W x + b)| = {err:.1e}",
        f"d stack(x)_0 / dx by autograd equals W[0] at every x (max |diff| {jac_err:.1e}): "
        "the map is affine, so stacking adds no expressive power (but the product W3 W2 W1 "
        "has rank <= 3 here: a narrow layer can only restrict it)",
    ]
    return Answer(
        1,
        "a",
        "A stack of Linear layers with no nonlinearity equals one Linear layer",
        "W = W3 W2 W1, b = W3 (W2 b1 + b2) + b3",
        f"outputs of the stack and of the single layer agree to {err:.1e} on 100 inputs",
        bool(passed),
        work,
        {"W": W, "b": b, "max_abs_diff": err},
    )


def answers() -> list:
    out = [_answer_a()]
    from .dictionary import answer_sparse_coding

    out.append(answer_sparse_coding())
    return out
