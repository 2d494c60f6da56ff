"""The function table of the check-grad formula language.

Every entry is built from :class:`verigrad.Tensor` operations (or joins the graph through
``make_node``), so a formula evaluated on tensors that require grad is differentiated by
autograd: that gradient is the reference a hand-derived formula is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .._checks import ParameterError
from .._shapes import unbroadcast
from ..tensor import Tensor, make_node

__all__ = ["FUNCTIONS", "CONSTANTS"]


def _outer(a: Tensor, b: Tensor) -> Tensor:
    return a.reshape(-1, 1) * b.reshape(1, -1)


def _cross_entropy(p: Tensor, y: Tensor) -> Tensor:
    """Textbook cross-entropy on probabilities: ``-sum(y * log(p))``."""
    return -(y * p.log()).sum()


def _logsumexp(x: Tensor, axis=None) -> Tensor:
    shift = Tensor(np.max(x.data, axis=axis, keepdims=True))
    out = (x - shift).exp().sum(axis=axis, keepdims=True).log() + shift
    if axis is None:
        return out.reshape(())
    return out.reshape(np.squeeze(out.data, axis=axis).shape)


def _norm(x: Tensor) -> Tensor:
    return (x * x).sum().sqrt()


def _dot(a: Tensor, b: Tensor) -> Tensor:
    if a.shape != b.shape:
        raise ParameterError("dot", f"shapes {a.shape} and {b.shape} differ")
    return (a * b).sum()


def _extreme(a: Tensor, b: Tensor, larger: bool) -> Tensor:
    """Elementwise max/min; at ties the gradient is split equally (torch's rule)."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    ad, bd = np.broadcast_to(a.data, shape), np.broadcast_to(b.data, shape)
    out = np.maximum(ad, bd) if larger else np.minimum(ad, bd)
    win_a = (ad > bd) if larger else (ad < bd)
    share_a = win_a + 0.5 * (ad == bd)

    def backward(g):
        return unbroadcast(g * share_a, a.shape), unbroadcast(g * (1 - share_a), b.shape)

    return make_node(np.asarray(out), (a, b), backward, "maximum" if larger else "minimum")


def _softplus(x: Tensor) -> Tensor:
    return F.relu(x) + (1 + (-x.abs()).exp()).log()


def _mse(a: Tensor, b: Tensor) -> Tensor:
    return ((a - b) ** 2).mean()


def _transpose(x: Tensor) -> Tensor:
    return x.transpose()


@dataclass(frozen=True)
class _Function:
    impl: object
    n_tensors: tuple  # (min, max) tensor arguments
    options: tuple = ()  # names of integer options, in positional order after the tensors
    doc: str = ""


#: name -> function of the formula language (all built from Tensor operations)
FUNCTIONS = {
    "exp": _Function(lambda x: x.exp(), (1, 1), doc="e^x"),
    "log": _Function(lambda x: x.log(), (1, 1), doc="natural logarithm"),
    "sqrt": _Function(lambda x: x.sqrt(), (1, 1), doc="square root"),
    "abs": _Function(lambda x: x.abs(), (1, 1), doc="|x| (gradient sign(x))"),
    "square": _Function(lambda x: x * x, (1, 1), doc="x^2"),
    "sigmoid": _Function(F.sigmoid, (1, 1), doc="1 / (1 + e^-x)"),
    "tanh": _Function(F.tanh, (1, 1), doc="hyperbolic tangent"),
    "relu": _Function(F.relu, (1, 1), doc="max(x, 0)"),
    "softplus": _Function(_softplus, (1, 1), doc="log(1 + e^x)"),
    "softmax": _Function(
        lambda x, axis=-1: F.softmax(x, axis),
        (1, 1),
        ("axis",),
        "exp(x) / sum(exp(x)) along axis (default -1)",
    ),
    "log_softmax": _Function(
        lambda x, axis=-1: F.log_softmax(x, axis),
        (1, 1),
        ("axis",),
        "x - logsumexp(x) along axis (default -1)",
    ),
    "logsumexp": _Function(_logsumexp, (1, 1), ("axis",), "log(sum(exp(x))), computed stably"),
    "sum": _Function(lambda x, axis=None: x.sum(axis=axis), (1, 1), ("axis",), "sum (all or axis)"),
    "mean": _Function(
        lambda x, axis=None: x.mean(axis=axis), (1, 1), ("axis",), "mean (all or axis)"
    ),
    "max": _Function(
        lambda x, axis=None: x.max(axis=axis), (1, 1), ("axis",), "maximum (all or axis)"
    ),
    "min": _Function(
        lambda x, axis=None: x.min(axis=axis), (1, 1), ("axis",), "minimum (all or axis)"
    ),
    "maximum": _Function(lambda a, b: _extreme(a, b, True), (2, 2), doc="elementwise max(a, b)"),
    "minimum": _Function(lambda a, b: _extreme(a, b, False), (2, 2), doc="elementwise min(a, b)"),
    "outer": _Function(_outer, (2, 2), doc="a b^T for vectors a, b"),
    "dot": _Function(_dot, (2, 2), doc="sum(a * b) for same-shape a, b"),
    "T": _Function(_transpose, (1, 1), doc="transpose (axes reversed)"),
    "norm": _Function(_norm, (1, 1), doc="Euclidean / Frobenius norm sqrt(sum(x^2))"),
    "mse": _Function(_mse, (2, 2), doc="mean((a - b)^2)"),
    "cross_entropy": _Function(
        _cross_entropy, (2, 2), doc="-sum(y * log(p)) for probabilities p and one-hot/probability y"
    ),
}

#: named constants of the formula language
CONSTANTS = {"pi": math.pi}
