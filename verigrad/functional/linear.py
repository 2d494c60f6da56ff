"""Affine map ``y = x W^T + b`` as one fused node.

Shapes: ``x (..., in)``, ``weight (out, in)``, ``bias (out,)``, ``y (..., out)``.
Backward, with ``x`` flattened to ``(n, in)`` and ``g`` to ``(n, out)``::

    dx = g W          dW = g^T x          db = sum_n g
"""

from __future__ import annotations

from .._checks import ParameterError
from ..tensor import Tensor, as_tensor, make_node

__all__ = ["linear"]


def linear(x, weight, bias=None) -> Tensor:
    """``x @ weight.T + bias`` (torch.nn.functional.linear)."""
    x = as_tensor(x, "x")
    weight = as_tensor(weight, "weight")
    if weight.ndim != 2:
        raise ParameterError(
            "weight", f"expected shape (out_features, in_features), got {weight.shape}"
        )
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ParameterError(
            "x",
            f"last dimension {x.shape[-1] if x.ndim else None} does not match weight's "
            f"in_features {weight.shape[1]} (x {x.shape}, weight {weight.shape})",
        )
    if bias is not None:
        bias = as_tensor(bias, "bias")
        if bias.shape != (weight.shape[0],):
            raise ParameterError("bias", f"expected shape ({weight.shape[0]},), got {bias.shape}")
    xd, wd = x.data, weight.data
    x2 = xd.reshape(-1, xd.shape[-1])
    out2 = x2 @ wd.T
    if bias is not None:
        out2 += bias.data
    out = out2.reshape(xd.shape[:-1] + (wd.shape[0],))

    def backward(g):
        g2 = g.reshape(-1, wd.shape[0])
        gx = (g2 @ wd).reshape(xd.shape) if x.requires_grad else None
        gw = g2.T @ x2 if weight.requires_grad else None
        if bias is None:
            return gx, gw
        gb = g2.sum(axis=0) if bias.requires_grad else None
        return gx, gw, gb

    parents = (x, weight) if bias is None else (x, weight, bias)
    return make_node(out, parents, backward, "linear")
