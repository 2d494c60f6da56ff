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


#: gradcheck tolerances for the tests: central differences in float64 with eps 1e-6 are
#: accurate to about 1e-9 relative (truncation ~eps^2, round-off ~1e-16/eps), so these trip
#: on a gradient off by 1e-5 relative, where gradcheck's defaults (rtol 1e-3, API.md) would
#: let a 0.05% error through
STRICT = dict(atol=1e-7, rtol=1e-6)


def strict_gradcheck(fn, *inputs, **kwargs):
    """``verigrad.gradcheck`` with :data:`STRICT` tolerances (``kwargs`` override)."""
    from verigrad import gradcheck

    return gradcheck(fn, *inputs, **{**STRICT, **kwargs})


def assert_backward_dtypes(out) -> None:
    """Every node of ``out``'s graph returns gradients in its parents' floating dtypes.

    ``Tensor.backward`` casts each leaf's ``.grad`` to the leaf's dtype, so checking
    ``.grad.dtype`` cannot catch a backward that silently works in float64 on float32 data;
    this calls each node's backward itself with a gradient of the node's own dtype.
    """
    from verigrad.tensor import topological_order

    for node in topological_order(out):
        if node._backward is None:
            continue
        grads = node._backward(np.ones_like(node.data))
        for parent, g in zip(node._parents, grads, strict=True):
            if g is not None and parent.requires_grad and parent.dtype.kind == "f":
                assert np.asarray(g).dtype == parent.dtype, (
                    f"{node._op}: gradient for a {parent.dtype} input came back as "
                    f"{np.asarray(g).dtype}"
                )


def backward_with_random_weights(out, rng, scale=1.0) -> np.ndarray:
    """Backpropagate ``sum(out * w)`` for a random ``w`` of ``out``'s shape and dtype (so a
    mis-scaled entry shows, where an all-ones upstream gradient could hide it), after checking
    that the dtype survives and, for float32, :func:`assert_backward_dtypes`. Returns ``w``."""
    w = (rng.standard_normal(out.shape) * scale).astype(out.dtype)
    loss = (out * w).sum()
    assert loss.dtype == out.dtype
    if out.dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    return w
