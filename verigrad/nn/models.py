"""The models ``verigrad train`` builds: softmax regression, an MLP and two small CNNs."""

from __future__ import annotations

import numpy as np

from .._checks import ParameterError, check_choice, check_rng
from . import pool
from .conv import Conv2d
from .layers import Flatten, Linear, ReLU
from .module import Module, Sequential
from .softmax_regression import SoftmaxRegression

__all__ = ["MODELS", "POOLS", "build_model", "make_pool", "MLP", "DigitsCNN", "LeNet5"]

MODELS = ("cnn", "mlp", "softmax")
POOLS = ("max", "avg", "lp", "stochastic", "mixed")


def make_pool(kind: str, kernel_size: int = 2, rng=None, dtype=np.float32) -> Module:
    """A 2x2 (stride 2) pooling layer of the given kind; ``dtype`` is the dtype of the model's
    parameters (mixed pooling's learnable ``alpha``)."""
    check_choice(kind, "pool", POOLS)
    if kind == "max":
        return pool.MaxPool2d(kernel_size)
    if kind == "avg":
        return pool.AvgPool2d(kernel_size)
    if kind == "lp":
        return pool.LPPool2d(2, kernel_size)
    if kind == "stochastic":
        return pool.StochasticPool2d(kernel_size, rng=rng)
    return pool.MixedPool2d(kernel_size, dtype=dtype)


def _relu_and_pool(kind: str, rng, dtype) -> tuple:
    """ReLU then 2x2 pooling, as two layers; for max pooling in the opposite order.

    ReLU is monotone, so ``max(relu(a), relu(b), ...) == relu(max(a, b, ...))`` exactly, and
    the gradients agree too (both route ``g`` to the window's first maximal entry when it is
    positive, and nowhere otherwise): pooling first applies ReLU to a quarter of the entries.
    The pair keeps its two positions in the Sequential, so parameter names are unchanged.
    Other pools do not commute with ReLU (and stochastic pooling needs non-negative input).
    """
    if kind == "max":
        return (make_pool(kind, 2, rng, dtype), ReLU())
    return (ReLU(), make_pool(kind, 2, rng, dtype))


class MLP(Sequential):
    """``in -> hidden... -> n_classes`` with ReLU between layers (inputs flattened)."""

    def __init__(
        self, n_features: int, n_classes: int, hidden=(256, 256), rng=None, dtype=np.float32
    ):
        rng = check_rng(rng)
        layers, width = [Flatten()], n_features
        for h in hidden:
            layers += [Linear(width, h, rng=rng, dtype=dtype), ReLU()]
            width = h
        layers.append(Linear(width, n_classes, rng=rng, dtype=dtype))
        super().__init__(*layers)


class DigitsCNN(Sequential):
    """For 8x8 digits: conv(1->16, 3x3, pad 1)-ReLU-pool-conv(16->32, 3x3, pad 1)-ReLU-pool-
    flatten-linear(32*2*2 -> n_classes) (max pooling before its ReLU: see ``_relu_and_pool``)."""

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        pool: str = "max",
        image_size=(8, 8),
        rng=None,
        dtype=np.float32,
    ):
        rng = check_rng(rng)
        h, w = image_size[0] // 4, image_size[1] // 4
        super().__init__(
            Conv2d(in_channels, 16, 3, padding=1, rng=rng, dtype=dtype),
            *_relu_and_pool(pool, rng, dtype),
            Conv2d(16, 32, 3, padding=1, rng=rng, dtype=dtype),
            *_relu_and_pool(pool, rng, dtype),
            Flatten(),
            Linear(32 * h * w, n_classes, rng=rng, dtype=dtype),
        )


class LeNet5(Sequential):
    """LeNet-5 style, for 28x28 inputs: conv(1->6, 5x5, pad 2)-ReLU-pool-conv(6->16, 5x5)-ReLU-
    pool-flatten-linear(400->120)-ReLU-linear(120->84)-ReLU-linear(84->n_classes) (max pooling
    before its ReLU: see ``_relu_and_pool``)."""

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        pool: str = "max",
        image_size=(28, 28),
        rng=None,
        dtype=np.float32,
    ):
        rng = check_rng(rng)
        h = ((image_size[0]) // 2 - 4) // 2
        w = ((image_size[1]) // 2 - 4) // 2
        super().__init__(
            Conv2d(in_channels, 6, 5, padding=2, rng=rng, dtype=dtype),
            *_relu_and_pool(pool, rng, dtype),
            Conv2d(6, 16, 5, rng=rng, dtype=dtype),
            *_relu_and_pool(pool, rng, dtype),
            Flatten(),
            Linear(16 * h * w, 120, rng=rng, dtype=dtype),
            ReLU(),
            Linear(120, 84, rng=rng, dtype=dtype),
            ReLU(),
            Linear(84, n_classes, rng=rng, dtype=dtype),
        )


def build_model(
    name: str, input_shape, n_classes: int, pool: str = "max", rng=None, dtype=np.float32
) -> Module:
    """The model ``name`` for inputs of shape ``(C, H, W)``: the digits CNN for images smaller
    than 16x16, LeNet-5 otherwise."""
    check_choice(name, "model", MODELS)
    check_choice(pool, "pool", POOLS)
    n_features = int(np.prod(input_shape))
    if name == "softmax":
        return SoftmaxRegression(n_features, n_classes, dtype=dtype)
    if name == "mlp":
        return MLP(n_features, n_classes, rng=rng, dtype=dtype)
    if len(input_shape) != 3:
        raise ParameterError(
            "model", f"cnn needs images (C, H, W), got inputs of shape {tuple(input_shape)}"
        )
    c, h, w = input_shape
    if min(h, w) < 16:
        if h % 4 or w % 4:
            raise ParameterError(
                "model", f"the digits cnn needs H and W divisible by 4, got {h}x{w}"
            )
        return DigitsCNN(c, n_classes, pool, (h, w), rng=rng, dtype=dtype)
    return LeNet5(c, n_classes, pool, (h, w), rng=rng, dtype=dtype)
