"""Pooling layers: thin shells over :mod:`verigrad.functional.pool` (arguments as torch.nn)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._checks import ParameterError, check_number, check_rng
from ..functional import pool as _pool
from .module import Module, Parameter

__all__ = [
    "MaxPool2d",
    "AvgPool2d",
    "LPPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "StochasticPool2d",
    "MixedPool2d",
]


class _Pool(Module):
    """``extra_repr`` lists ``_fields`` as torch's pooling layers do.

    Layers whose torch counterpart stores ``stride=None`` as the kernel size (MaxPool2d,
    AvgPool2d; here also StochasticPool2d and MixedPool2d) keep the effective stride in
    ``self.stride``, so the repr shows it; LPPool2d keeps ``None`` as torch's does.
    """

    _fields: tuple = ()

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)


def _effective(stride, kernel_size):
    """torch's ``stride if stride is not None else kernel_size``."""
    return kernel_size if stride is None else stride


class MaxPool2d(_Pool):
    """``torch.nn.MaxPool2d``: max over windows; ties to the first entry, NaN propagates."""

    _fields = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        # torch.nn.MaxPool2d's order: return_indices comes before ceil_mode, so a positional
        # call means the same in both; returning indices is not supported
        if return_indices:
            raise ParameterError("return_indices", "MaxPool2d does not return indices here")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = _effective(stride, kernel_size)
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x):
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )


class AvgPool2d(_Pool):
    """``torch.nn.AvgPool2d``: mean over windows (``count_include_pad`` as torch)."""

    _fields = ("kernel_size", "stride", "padding")  # torch's repr omits the two flags

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = _effective(stride, kernel_size)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class LPPool2d(_Pool):
    """``torch.nn.LPPool2d``: ``(sum |x|^p)^(1/p)`` over windows."""

    _fields = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = (
            norm_type,
            kernel_size,
            stride,
            ceil_mode,
        )

    def forward(self, x):
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class AdaptiveAvgPool2d(_Pool):
    """``torch.nn.AdaptiveAvgPool2d``: mean over bins ``[floor(i H/Ho), ceil((i+1) H/Ho))``."""

    _fields = ("output_size",)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_Pool):
    """``torch.nn.AdaptiveMaxPool2d``: max over bins ``[floor(i H/Ho), ceil((i+1) H/Ho))``."""

    _fields = ("output_size",)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size)


class GlobalAvgPool2d(Module):
    """Mean over all of H and W: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    def forward(self, x):
        return _pool.global_avg_pool2d(x)


class GlobalMaxPool2d(Module):
    """Max over all of H and W: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    def forward(self, x):
        return _pool.global_max_pool2d(x)


class StochasticPool2d(_Pool):
    """Stochastic pooling (Zeiler & Fergus 2013) of non-negative input.

    In training mode (``self.training``) each window passes one entry drawn with probability
    proportional to it, from ``rng`` (a seed or Generator, kept across calls); in eval mode
    the probability-weighted average ``sum a^2 / sum a``.
    """

    _fields = ("kernel_size", "stride")

    def __init__(self, kernel_size, stride=None, rng=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, _effective(stride, kernel_size)
        self.rng = check_rng(rng)

    def forward(self, x):
        return F.stochastic_pool2d(x, self.kernel_size, self.stride, self.training, self.rng)


class MixedPool2d(_Pool):
    """Mixed max-average pooling (Lee, Gallagher & Tu 2016) with a learnable ``alpha``.

    ``y = alpha max_pool(x) + (1 - alpha) avg_pool(x)``. ``alpha`` is kept in (0, 1) by a
    sigmoid: the Parameter is the unconstrained logit ``alpha_logit`` (initialised to
    ``log(alpha / (1 - alpha))``) and the property :attr:`alpha` is ``sigmoid(alpha_logit)``,
    so any optimizer step leaves ``alpha`` inside the interval. ``alpha`` must start strictly
    inside (0, 1) (the logit of 0 or 1 is infinite).
    """

    _fields = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, alpha=0.5, dtype=np.float32):
        super().__init__()
        alpha = check_number(alpha, "alpha", 0.0, 1.0, low_open=True, high_open=True)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = _effective(stride, kernel_size)
        self.alpha_logit = Parameter(np.array(math.log(alpha / (1 - alpha)), dtype=dtype))

    @property
    def alpha(self) -> float:
        """The current mixing weight ``sigmoid(alpha_logit)`` in (0, 1)."""
        return float(1.0 / (1.0 + np.exp(-float(self.alpha_logit.data))))

    def forward(self, x):
        alpha = F.sigmoid(self.alpha_logit)
        return F.mixed_pool2d(x, self.kernel_size, self.stride, self.padding, alpha=alpha)

    def extra_repr(self):
        return super().extra_repr() + f", alpha={self.alpha:.4g}"
