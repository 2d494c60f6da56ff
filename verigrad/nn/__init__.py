"""Layers and models built on :mod:`verigrad.functional`."""

from .conv import Conv2d, ConvTranspose2d
from .layers import Dropout, Flatten, Identity, Linear, ReLU, Sigmoid, Tanh
from .loss import CrossEntropyLoss, MSELoss
from .models import MLP, DigitsCNN, LeNet5, build_model
from .module import Module, Parameter, Sequential, load, save
from .pool import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    LPPool2d,
    MaxPool2d,
    MixedPool2d,
    StochasticPool2d,
)
from .softmax_regression import SoftmaxRegression
from .torch_bridge import from_torch

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
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "AvgPool2d",
    "LPPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "StochasticPool2d",
    "MixedPool2d",
    "from_torch",
]
