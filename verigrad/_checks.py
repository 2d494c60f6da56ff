"""Validation at the public boundary: one place for the messages users see.

The bottom of the stack: pure value checks on numbers and arrays, importing nothing of
verigrad. Every public function checks its arguments here and raises :class:`ParameterError`
(a ``ValueError``) or :class:`ParameterTypeError` (a ``TypeError``). Both carry the name of the
parameter as data (``exc.param``) beside the reason (``exc.reason``); ``str(exc)`` reads
``"param: reason"``. The command line maps ``exc.param`` to the option the user typed through
argparse's own ``dest``, so the library never needs to know a command-line spelling.
"""

from __future__ import annotations

import numbers
import os
import sys

import numpy as np

__all__ = [
    "ParameterError",
    "ParameterTypeError",
    "NotFiniteError",
    "MissingFileError",
    "NamesParameter",
    "param_error",
    "as_float_array",
    "check_int",
    "check_number",
    "check_pair",
    "check_choice",
    "check_finite",
    "check_rng",
    "check_bool",
    "check_allocation",
    "memory_bytes",
]


class NamesParameter:
    """The parameter an error is about, as data: ``param`` and ``reason``."""

    def __init__(self, param: str, reason: str):
        self.param = str(param)
        self.reason = str(reason)
        super().__init__(f"{self.param}: {self.reason}")

    def __reduce__(self):  # picklable (a worker process may raise it)
        return type(self), (self.param, self.reason)


class ParameterError(NamesParameter, ValueError):
    """A bad value for parameter ``param`` (a ``ValueError``)."""


class ParameterTypeError(NamesParameter, TypeError):
    """A value of the wrong type for parameter ``param`` (a ``TypeError``)."""


class MissingFileError(NamesParameter, FileNotFoundError):
    """A file or directory given as parameter ``param`` does not exist (a ``FileNotFoundError``)."""


class NotFiniteError(ParameterError):
    """Input on which an operation's result would be NaN or infinite (a softmax of NaN or
    ``+inf`` logits, say). A ``ValueError``, so callers that only validate need not know it;
    callers that probe random points (``verigrad check-grad``) catch it to draw another."""


def param_error(exc: Exception, param: str) -> Exception:
    """``exc`` as the same kind of error about ``param`` instead (for a caller that passed a
    value on under another name: ``load_checkpoint(path)`` called for ``--resume``)."""
    reason = exc.reason if isinstance(exc, NamesParameter) else str(exc)
    if isinstance(exc, NotFiniteError):
        return NotFiniteError(param, reason)
    if isinstance(exc, FileNotFoundError):
        return MissingFileError(param, reason)
    if isinstance(exc, TypeError):
        return ParameterTypeError(param, reason)
    return ParameterError(param, reason)


def _is_tensor(x) -> bool:
    # the Tensor class lives above this module; its instances are recognised by their interface
    return hasattr(x, "requires_grad") and isinstance(getattr(x, "data", None), np.ndarray)


def as_float_array(x, name: str, ndim=None, dtype=None) -> np.ndarray:
    """``x`` as a floating ndarray (float64 unless it already is float32/float64)."""
    if _is_tensor(x):
        x = x.data
    if _is_sparse(x):
        raise ParameterTypeError(
            name,
            f"scipy.sparse matrices are not supported (got {type(x).__name__}); "
            f"pass a dense array, e.g. {name}.toarray()",
        )
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise ParameterTypeError(name, f"expected numbers, got {type(x).__name__}") from None
    if a.dtype.kind not in "biuf":
        raise ParameterTypeError(name, f"expected a numeric array, got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ParameterError(name, f"expected a {want} array, got shape {a.shape}")
    return a


def _is_sparse(x) -> bool:
    # only a program that imported scipy.sparse can hold a sparse matrix: no import needed
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def check_finite(a, name: str):
    """``a`` (an array or a number) if every entry is finite."""
    if np.ndim(a) == 0 and isinstance(a, numbers.Real):
        if not np.isfinite(a):
            raise ParameterError(name, f"must be a finite number, got {a}")
        return a
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ParameterError(name, f"contains {bad} NaN or infinite value(s)")
    return a


def check_int(value, name: str, low=None, high=None) -> int:
    """An integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(name, f"expected an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(name, f"must be {_range_text(low, high)}, got {value}")
    return value


def check_number(value, name: str, low=None, high=None, low_open=False, high_open=False) -> float:
    """A real number in the given interval (open or closed at each end)."""
    if _is_tensor(value) and value.data.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(name, f"expected a number, got {value!r}")
    value = float(value)
    if np.isnan(value):
        raise ParameterError(name, "must be a number, got nan")
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
        raise ParameterError(name, f"must be {text}, got {value}")
    return value


def check_pair(value, name: str, low=None) -> tuple:
    """An int or a pair of ints (torch's ``_pair``), each ``>= low``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    else:
        raise ParameterTypeError(name, f"expected an int or a pair of ints, got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ParameterTypeError(name, f"expected an int or a pair of ints, got {value!r}")
        if low is not None and v < low:
            raise ParameterError(name, f"must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_bool(value, name: str) -> bool:
    """``True`` or ``False`` (NumPy's ``bool_`` too); an int or a string is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(name, f"expected True or False, got {value!r}")
    return bool(value)


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ParameterError(name, f"must be one of {options}, got {value!r}")
    return value


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), an int seed or a Generator."""
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ParameterTypeError(
        name, f"expected None, an int seed or a numpy.random.Generator, got {rng!r}"
    )


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f"in [{low}, {high}]"
    if low is not None:
        return f">= {low}"
    return f"<= {high}"


def memory_bytes() -> int:
    """This machine's physical memory in bytes (``2**40`` where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def check_allocation(n_bytes: int, name: str, what: str) -> int:
    """``n_bytes`` if at most half this machine's memory, else :class:`ParameterError` about
    ``name`` saying that ``what`` would need that much: a size read from data or typed by a
    user is refused before NumPy tries (a ``MemoryError`` names nothing, and an allocation
    that succeeds lazily may be killed by the OS later)."""
    n_bytes = int(n_bytes)
    if n_bytes > memory_bytes() // 2:
        raise ParameterError(
            name,
            f"{what} would need {n_bytes:,} bytes, more than half of this machine's memory "
            f"({memory_bytes():,} bytes)",
        )
    return n_bytes
