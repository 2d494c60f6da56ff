"""Elementwise activations and dropout.

relu, sigmoid and tanh are primitives of :class:`~verigrad.tensor.Tensor` (beside exp and log,
with their gradient rules); dropout is a kernel here. Their vector-Jacobian products:

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

from .._checks import check_number, check_rng
from ..tensor import Tensor, as_tensor, make_node

__all__ = ["relu", "sigmoid", "tanh", "dropout"]


def relu(x) -> Tensor:
    """Rectified linear unit ``max(x, 0)`` (:meth:`Tensor.relu`)."""
    return as_tensor(x, "x").relu()


def sigmoid(x) -> Tensor:
    """Logistic sigmoid (:meth:`Tensor.sigmoid`), without overflow for any finite input."""
    return as_tensor(x, "x").sigmoid()


def tanh(x) -> Tensor:
    """Hyperbolic tangent (:meth:`Tensor.tanh`)."""
    return as_tensor(x, "x").tanh()


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
