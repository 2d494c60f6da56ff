"""Layers and models built on :mod:`verigrad.functional`."""

from .layers import Dropout, Flatten, Identity, Linear, ReLU, Sigmoid, Tanh
from .loss import CrossEntropyLoss, MSELoss
from .models import MLP, DigitsCNN, LeNet5, build_model
from .module import Module, Parameter, Sequential, load, save
from .softmax_regression import SoftmaxRegression

__all__ = [
    "Module",
    "Parameter",
    "Sequential",
    "save",
    "load",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Identity",
    "Flatten",
    "Dropout",
    "SoftmaxRegression",
    "CrossEntropyLoss",
    "MSELoss",
    "MLP",
    "DigitsCNN",
    "LeNet5",
    "build_model",
]

try:  # convolution and pooling layers (verigrad.nn.conv / .pool)
    from .conv import Conv2d, ConvTranspose2d  # noqa: F401

    __all__ += ["Conv2d", "ConvTranspose2d"]
except ImportError:  # pragma: no cover - during development only
    pass
try:
    from .pool import (  # noqa: F401
        AdaptiveAvgPool2d,
        AdaptiveMaxPool2d,
        AvgPool2d,
        LPPool2d,
        MaxPool2d,
        MixedPool2d,
        StochasticPool2d,
    )

    __all__ += [
        "MaxPool2d",
        "AvgPool2d",
        "LPPool2d",
        "AdaptiveAvgPool2d",
        "AdaptiveMaxPool2d",
        "StochasticPool2d",
        "MixedPool2d",
    ]
except ImportError:  # pragma: no cover - during development only
    pass
