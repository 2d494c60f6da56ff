"""Convolution layers: thin shells over :func:`verigrad.functional.conv2d` and friends.

Initialisation is torch's ``reset_parameters``: weight and bias ``U(-1/sqrt(fan_in),
1/sqrt(fan_in))`` with ``fan_in = (weight.shape[1]) kh kw``, i.e. ``in_channels/groups kh kw``
for :class:`Conv2d` and ``out_channels/groups kh kw`` for :class:`ConvTranspose2d` (torch
computes ``fan_in`` from dimension 1 of the weight in both cases).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import ParameterError, check_choice, check_int, check_pair
from ..functional.conv import ALGORITHMS
from .init import weight_and_bias
from .module import Module

__all__ = ["Conv2d", "ConvTranspose2d"]


def _check_channels(in_channels, out_channels, groups):
    in_channels = check_int(in_channels, "in_channels", 1)
    out_channels = check_int(out_channels, "out_channels", 1)
    groups = check_int(groups, "groups", 1)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ParameterError(name, f"{value} is not divisible by groups={groups}")
    return in_channels, out_channels, groups


class Conv2d(Module):
    """2-D convolution layer (``torch.nn.Conv2d``).

    ``weight (out_channels, in_channels/groups, kh, kw)``, ``bias (out_channels,)``; input
    ``(N, C_in, H, W)`` or ``(C_in, H, W)``. ``padding`` is an int, a pair, ``"valid"`` or
    ``"same"``. ``rng`` (seed or Generator) makes the initialisation repeatable; ``dtype``
    defaults to float32 as in torch. ``algorithm`` (``"auto"``, ``"im2col"``, ``"winograd"``,
    or None for ``$VERIGRAD_CONV_ALGO``) picks the kernel; see
    :func:`verigrad.functional.conv.choose_algorithm`.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        rng=None,
        dtype=np.float32,
        algorithm=None,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _check_channels(
            in_channels, out_channels, groups
        )
        self.kernel_size = check_pair(kernel_size, "kernel_size", 1)
        self.stride = check_pair(stride, "stride", 1)
        if algorithm is not None:
            check_choice(algorithm, "algorithm", ALGORITHMS)
        self.algorithm = algorithm
        self.padding = padding if isinstance(padding, str) else check_pair(padding, "padding", 0)
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ParameterError(
                "padding", f"must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
        self.dilation = check_pair(dilation, "dilation", 1)
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        self.weight, self.bias = weight_and_bias(shape, self.out_channels, fan_in, bias, rng, dtype)

    def forward(self, x):
        return F.conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            algorithm=self.algorithm,
        )

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}"
        )


class ConvTranspose2d(Module):
    """2-D transposed convolution layer (``torch.nn.ConvTranspose2d``).

    ``weight (in_channels, out_channels/groups, kh, kw)``, ``bias (out_channels,)``; output
    size ``(H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1``.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        rng=None,
        dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _check_channels(
            in_channels, out_channels, groups
        )
        self.kernel_size = check_pair(kernel_size, "kernel_size", 1)
        self.stride = check_pair(stride, "stride", 1)
        self.padding = check_pair(padding, "padding", 0)
        self.output_padding = check_pair(output_padding, "output_padding", 0)
        self.dilation = check_pair(dilation, "dilation", 1)
        kh, kw = self.kernel_size
        fan_in = self.out_channels // self.groups * kh * kw
        shape = (self.in_channels, self.out_channels // self.groups, kh, kw)
        self.weight, self.bias = weight_and_bias(shape, self.out_channels, fan_in, bias, rng, dtype)

    def forward(self, x):
        return F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, output_padding={self.output_padding}, "
            f"groups={self.groups}, dilation={self.dilation}, bias={self.bias is not None}"
        )
