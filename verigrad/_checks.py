"""Validation at the public boundary: one place for the messages users see.

Every public function checks its arguments here and raises ``TypeError``/``ValueError``
naming the argument, the value and what is allowed.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

from .tensor import Tensor

__all__ = [
    "as_tensor",
    "as_float_array",
    "check_int",
    "check_number",
    "check_pair",
    "check_choice",
    "check_finite",
    "check_rng",
    "NotFiniteError",
]


class NotFiniteError(ValueError):
    """Input on which an operation's result would be NaN or infinite (a softmax of NaN or
    ``+inf`` logits, say). A ``ValueError``, so callers that only validate need not know it;
    callers that probe random points (``verigrad check-grad``) catch it to draw another."""


def as_tensor(x, name: str) -> Tensor:
    """``x`` as a Tensor (arrays and numbers are wrapped as constants)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, numbers.Number, list, tuple)):
        t = Tensor(x)
        if t.dtype.kind != "f" and not isinstance(x, np.ndarray):
            t = Tensor(t.data.astype(np.float64))
        return t
    raise TypeError(f"{name}: expected a Tensor or an array, got {type(x).__name__}")


def as_float_array(x, name: str, ndim=None, dtype=None) -> np.ndarray:
    """``x`` as a floating ndarray (float64 unless it already is float32/float64)."""
    if isinstance(x, Tensor):
        x = x.data
    if _is_sparse(x):
        raise TypeError(
            f"{name}: scipy.sparse matrices are not supported (got {type(x).__name__}); "
            f"pass a dense array, e.g. {name}.toarray()"
        )
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected numbers, got {type(x).__name__}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name}: expected a {want} array, got shape {a.shape}")
    return a


def _is_sparse(x) -> bool:
    # only a program that imported scipy.sparse can hold a sparse matrix: no import needed
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def check_finite(a: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    return a


def check_int(value, name: str, low=None, high=None) -> int:
    """An integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}: must be {_range_text(low, high)}, got {value}")
    return value


def check_number(value, name: str, low=None, high=None, low_open=False, high_open=False) -> float:
    """A real number in the given interval (open or closed at each end)."""
    if isinstance(value, Tensor) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if np.isnan(value):
        raise ValueError(f"{name}: must be a number, got nan")
    bad = (low is not None and (value < low or (low_open and value == low))) or (
        high is not None and (value > high or (high_open and value == high))
    )
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        if low is None:
            text = f"<{'' if high_open else '='} {high}"
        elif high is None:
            text = f">{'' if low_open else '='} {low}"
        else:
            text = f"in {lo}, {hi}"
        raise ValueError(f"{name}: must be {text}, got {value}")
    return value


def check_pair(value, name: str, low=None) -> tuple:
    """An int or a pair of ints (torch's ``_pair``), each ``>= low``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    else:
        raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
        if low is not None and v < low:
            raise ValueError(f"{name}: must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: must be one of {options}, got {value!r}")
    return value


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), an int seed or a Generator."""
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"{name}: expected None, an int seed or a numpy.random.Generator, got {rng!r}")


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f"in [{low}, {high}]"
    if low is not None:
        return f">= {low}"
    return f"<= {high}"
