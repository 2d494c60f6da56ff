"""Basic layers: Linear, activations, Flatten, Dropout."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import check_int, check_number, check_rng
from ..tensor import Tensor
from .init import weight_and_bias
from .module import Module

__all__ = [
    "Linear",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Dropout",
    "Identity",
]


class Linear(Module):
    """``y = x W^T + b`` with ``W (out_features, in_features)``; torch's initialisation.

    ``rng`` (a seed or ``numpy.random.Generator``) makes the initialisation repeatable;
    ``dtype`` defaults to float32 as in torch.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, rng=None, dtype=np.float32
    ):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", 1)
        self.out_features = check_int(out_features, "out_features", 1)
        self.weight, self.bias = weight_and_bias(
            (out_features, in_features), out_features, in_features, bias, rng, dtype
        )

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one (default: all but the batch)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = check_int(start_dim, "start_dim")
        self.end_dim = check_int(end_dim, "end_dim")

    def forward(self, x: Tensor):
        shape = x.shape
        start = self.start_dim % len(shape)
        end = self.end_dim % len(shape)
        new = shape[:start] + (int(np.prod(shape[start : end + 1])),) + shape[end + 1 :]
        return x.reshape(new)


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training mode; identity in eval mode."""

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        self.p = check_number(p, "p", 0.0, 1.0)
        self.rng = check_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"
