"""Default initialisation, as torch's ``reset_parameters``.

``torch.nn.Linear``/``Conv2d`` draw the weight from ``kaiming_uniform_(a=sqrt(5))``, which is
``U(-b, b)`` with ``b = gain * sqrt(3 / fan_in)`` and ``gain = sqrt(2 / (1 + a^2))``, that is
``b = 1 / sqrt(fan_in)``; the bias is ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` too.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_rng
from .module import Parameter

__all__ = ["uniform_fan_in", "weight_and_bias"]


def uniform_fan_in(shape, fan_in: int, rng=None, dtype=np.float32) -> np.ndarray:
    """``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` of the given shape (torch's default)."""
    rng = check_rng(rng)
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def weight_and_bias(weight_shape, out_features: int, fan_in: int, bias: bool, rng, dtype):
    """A layer's ``(weight, bias)`` Parameters drawn with :func:`uniform_fan_in`, weight first
    (torch's order); the bias has ``out_features`` entries, or is None when not asked for."""
    rng = check_rng(rng)
    weight = Parameter(uniform_fan_in(weight_shape, fan_in, rng, dtype))
    if not bias:
        return weight, None
    return weight, Parameter(uniform_fan_in((out_features,), fan_in, rng, dtype))
