"""Helpers every test module uses: tolerances, torch conversion, Hypothesis strategies.

Parity tolerances follow the brief: float64 to ~1e-10, float32 to ~1e-5 (relative to the
scale of the values).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def tol(dtype) -> dict:
    return TOL[np.dtype(dtype).type]


def torch():
    import torch

    torch.set_num_threads(1)
    return torch


def to_torch(a, requires_grad=False):
    t = torch().from_numpy(np.ascontiguousarray(a).copy())
    if requires_grad:
        t.requires_grad_(True)
    return t


def assert_close(actual, expected, dtype=np.float64, scale=None, **kwargs):
    """``assert_allclose`` with the dtype's parity tolerance (atol scaled by ``scale``)."""
    expected = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    actual = (
        actual.data if hasattr(actual, "data") and not isinstance(actual, np.ndarray) else actual
    )
    t = dict(tol(dtype))
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(expected))) if np.size(expected) else 1.0)
    t["atol"] = t["atol"] * scale
    t.update(kwargs)
    np.testing.assert_allclose(np.asarray(actual), expected, **t)


def shapes(min_dims=1, max_dims=4, min_side=1, max_side=5):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def arrays(shape, dtype=np.float64, low=-3.0, high=3.0):
    """Finite arrays of ``shape`` (values bounded so finite differences stay accurate)."""
    return hnp.arrays(
        dtype,
        shape,
        elements=st.floats(low, high, allow_nan=False, width=64 if dtype == np.float64 else 32),
    )


@st.composite
def broadcastable_pair(draw, max_dims=3, max_side=4):
    """Two shapes that broadcast together, including size-1 axes and differing ranks."""
    a, b = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side
        )
    ).input_shapes
    return a, b
