"""Elementwise activations and dropout.

Each op is a forward kernel plus the closure that gives its vector-Jacobian product:

==========  =========================  ================================
op          forward                    backward (g = upstream gradient)
==========  =========================  ================================
relu        max(x, 0)                  g * [x > 0]   (0 at x = 0, as torch)
sigmoid     1 / (1 + exp(-x))          g * s * (1 - s)
tanh        tanh(x)                    g * (1 - t^2)
dropout     x * m / (1 - p)            g * m / (1 - p),  m ~ Bernoulli(1 - p)
==========  =========================  ================================
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._checks import as_tensor, check_number, check_rng
from ..tensor import Tensor, make_node

__all__ = ["relu", "sigmoid", "tanh", "dropout"]


def relu(x) -> Tensor:
    """Rectified linear unit ``max(x, 0)``."""
    x = as_tensor(x, "x")
    data = x.data
    out = np.maximum(data, 0)

    def backward(g):
        # a product with the mask, not np.where (8x slower here); an upstream NaN/inf where
        # x <= 0 therefore stays NaN instead of being zeroed, so it is never hidden
        return (g * (data > 0),)

    return make_node(out, (x,), backward, "relu")


def sigmoid(x) -> Tensor:
    """Logistic sigmoid, computed without overflow for any finite input (``scipy.special.expit``)."""
    x = as_tensor(x, "x")
    out = expit(x.data)
    return make_node(out, (x,), lambda g: (g * out * (1 - out),), "sigmoid")


def tanh(x) -> Tensor:
    """Hyperbolic tangent."""
    x = as_tensor(x, "x")
    out = np.tanh(x.data)
    return make_node(out, (x,), lambda g: (g * (1 - out * out),), "tanh")


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout: zero each entry with probability ``p``, scale the rest by ``1/(1-p)``.

    In eval mode (``training=False``) or with ``p = 0`` it is the identity; ``p = 1`` zeroes
    everything. ``rng`` is a ``numpy.random.Generator`` (or a seed) for the mask.
    """
    x = as_tensor(x, "x")
    p = check_number(p, "p", 0.0, 1.0)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    rng = check_rng(rng)
    scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
    mask = (rng.random(x.shape, dtype=np.float64) >= p) * scale
    mask = mask.astype(x.dtype, copy=False)
    return make_node(x.data * mask, (x,), lambda g: (g * mask,), "dropout")
