"""2-D convolution and transposed convolution, forward and backward, via im2col + BLAS.

Shapes (NCHW; an unbatched ``(C, H, W)`` input is accepted and gives an unbatched result)::

    conv2d            x (N, C, H, W), weight (O, C/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)
    conv_transpose2d  x (N, C, H, W), weight (C, O/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)

with ``G = groups``, ``Ho = floor((H + pad_top + pad_bottom - d (kh - 1) - 1) / s) + 1`` for
conv2d and ``Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1`` for conv_transpose2d.
As in torch, conv2d is a cross-correlation (the kernel is not flipped)::

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x_pad[n, gc + c, s i + d u, s j + d v]

Algorithm. ``im2col`` copies, for every kernel offset ``(u, v)``, one strided view of the
padded input into ``cols (N, G, K, L)`` with ``K = C/G kh kw`` and ``L = Ho Wo``; then the
convolution is one batched BLAS matmul ``y = W_g @ cols`` whose result is already NCHW. The
backward pass reuses ``cols``:

* ``dW_g = sum_n g[n] @ cols[n]^T`` (one batched matmul and a sum over the batch);
* ``dx`` is the *transposed convolution* of ``g``: ``dcols = W_g^T @ g`` (one batched matmul,
  written into the ``cols`` buffer once ``dW`` no longer needs it) followed by ``col2im``,
  which adds the ``kh kw`` slices of ``dcols`` into ``dx`` at their kernel offsets (a loop over
  kernel offsets, each a vectorised strided add; never a loop over windows or pixels);
* ``db = sum_{n, i, j} g``.

conv_transpose2d is the same pair of kernels with the roles exchanged: its forward is conv2d's
input gradient and its input gradient is conv2d's forward.

``padding="same"`` pads ``d (k - 1)`` in total per axis; for an even effective kernel the
extra row/column goes to the bottom/right (torch pads the same asymmetric way internally), and
as in torch it requires ``stride == 1``. ``"valid"`` means no padding.

The pure ``ndarray`` kernels (``conv2d_forward``, ``conv2d_weight_grad``,
``conv2d_input_grad``) take padding as ``(top, bottom, left, right)``. A plain loop version
(:func:`conv2d_reference`) is kept for the tests.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_tensor, check_int, check_pair
from ..tensor import Tensor, make_node

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "conv2d_forward",
    "conv2d_weight_grad",
    "conv2d_input_grad",
    "conv2d_reference",
    "im2col",
]


# --------------------------------------------------------------------------- ndarray kernels
def _pad(x: np.ndarray, pads) -> np.ndarray:
    """Zero-pad the last two axes by ``(top, bottom, left, right)`` (no copy when all are 0)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def im2col(xp: np.ndarray, kernel, stride, dilation, out_hw, out=None) -> np.ndarray:
    """Windows of the (already padded) ``xp (N, C, Hp, Wp)`` as ``(N, C, kh, kw, Ho, Wo)``.

    ``cols[n, c, u, v, i, j] = xp[n, c, s_h i + d_h u, s_w j + d_w v]``. One strided copy per
    kernel offset, each over contiguous (stride 1) rows of the input.
    """
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    ho, wo = out_hw
    n, c = xp.shape[:2]
    if out is None:
        out = np.empty((n, c, kh, kw, ho, wo), dtype=xp.dtype)
    for u in range(kh):
        rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
        for v in range(kw):
            out[:, :, u, v] = xp[:, :, rows, v * dw : v * dw + sw * (wo - 1) + 1 : sw]
    return out


def _col2im(dcols: np.ndarray, padded_hw, stride, dilation) -> np.ndarray:
    """Adjoint of :func:`im2col`: add ``dcols (N, C, kh, kw, Ho, Wo)`` into a padded image."""
    n, c, kh, kw, ho, wo = dcols.shape
    sh, sw = stride
    dh, dw = dilation
    hp, wp = padded_hw
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1) and hp == kh * ho and wp == kw * wo:
        # non-overlapping windows tiling the image exactly: col2im is a transposition
        return np.ascontiguousarray(dcols.transpose(0, 1, 4, 2, 5, 3)).reshape(n, c, hp, wp)
    out = np.zeros((n, c, hp, wp), dtype=dcols.dtype)
    for u in range(kh):
        rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
        for v in range(kw):
            out[:, :, rows, v * dw : v * dw + sw * (wo - 1) + 1 : sw] += dcols[:, :, u, v]
    return out


def _out_size(size, before, after, kernel, stride, dilation) -> int:
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_forward(
    x, weight, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, out_hw=None
):
    """``conv2d`` of ndarrays (no bias). Returns ``(y (N, O, Ho, Wo), cols (N, G, K, L))``.

    ``out_hw`` limits the output size (conv_transpose2d's backward needs that when its
    ``output_padding`` adds rows that no window of the forward reached).
    """
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    top, bottom, left, right = pads
    if out_hw is None:
        out_hw = (
            _out_size(h, top, bottom, kh, stride[0], dilation[0]),
            _out_size(w, left, right, kw, stride[1], dilation[1]),
        )
    ho, wo = out_hw
    cols = im2col(_pad(x, pads), (kh, kw), stride, dilation, out_hw)
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    w3 = weight.reshape(groups, o // groups, cg * kh * kw)
    y = np.matmul(w3, cols)  # (N, G, O/G, L): already NCHW
    return y.reshape(n, o, ho, wo), cols


def conv2d_weight_grad(g, cols, weight_shape, groups=1):
    """``dL/dW`` from the upstream gradient ``g (N, O, Ho, Wo)`` and ``cols (N, G, K, L)``."""
    n = g.shape[0]
    o = weight_shape[0]
    g4 = g.reshape(n, groups, o // groups, -1)
    if n == 1:
        gw = g4[0] @ cols[0].transpose(0, 2, 1)
    else:
        gw = np.matmul(g4, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape(weight_shape)


def conv2d_input_grad(
    g, weight, x_hw, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, out=None
):
    """``dL/dx`` of conv2d, i.e. the transposed convolution of ``g (N, O, Ho, Wo)``.

    ``x_hw`` is the (unpadded) input size; ``out`` an optional ``(N, G, K, L)`` buffer for
    ``dcols`` (conv2d's backward passes its ``cols`` once they are used up).
    """
    n, o, ho, wo = g.shape
    _, cg, kh, kw = weight.shape
    top, bottom, left, right = pads
    h, w = x_hw
    w3 = weight.reshape(groups, o // groups, cg * kh * kw)
    g4 = g.reshape(n, groups, o // groups, ho * wo)
    if out is not None and out.dtype == np.result_type(g, weight):
        dcols = np.matmul(w3.transpose(0, 2, 1), g4, out=out)
    else:
        dcols = np.matmul(w3.transpose(0, 2, 1), g4)
    dcols = dcols.reshape(n, groups * cg, kh, kw, ho, wo)
    hp, wp = h + top + bottom, w + left + right
    dxp = _col2im(dcols, (hp, wp), stride, dilation)
    if (top, bottom, left, right) == (0, 0, 0, 0):
        return dxp
    return np.ascontiguousarray(dxp[:, :, top : top + h, left : left + w])


def conv2d_reference(x, weight, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Plain loop over output pixels (slow; the tests hold the fast kernel to it)."""
    xp = _pad(x, pads)
    n, c = x.shape[:2]
    o, cg, kh, kw = weight.shape
    ho = _out_size(x.shape[2], pads[0], pads[1], kh, stride[0], dilation[0])
    wo = _out_size(x.shape[3], pads[2], pads[3], kw, stride[1], dilation[1])
    og = o // groups
    y = np.zeros((n, o, ho, wo), dtype=np.result_type(x, weight))
    for oc in range(o):
        grp = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[
                    :,
                    grp * cg : (grp + 1) * cg,
                    i * stride[0] : i * stride[0] + dilation[0] * (kh - 1) + 1 : dilation[0],
                    j * stride[1] : j * stride[1] + dilation[1] * (kw - 1) + 1 : dilation[1],
                ]
                y[:, oc, i, j] = (patch * weight[oc]).sum(axis=(1, 2, 3))
    return y


# --------------------------------------------------------------------------- validation
def _prepare(x, weight, bias, name):
    """Tensors, float dtype, batch dimension; returns (x, weight, bias, dtype, unbatched)."""
    x = as_tensor(x, "x")
    weight = as_tensor(weight, "weight")
    if x.ndim not in (3, 4):
        raise ValueError(f"x: {name} expects (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"weight: {name} expects a 4-D weight, got shape {weight.shape}")
    if bias is not None:
        bias = as_tensor(bias, "bias")
    dtype = np.result_type(*(t.dtype for t in (x, weight, bias) if t is not None))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    return x, weight, bias, dtype, unbatched


def _as(a: np.ndarray, dtype) -> np.ndarray:
    return a if a.dtype == dtype else a.astype(dtype)


def _grad_for(tensor, g):
    return None if g is None else g.astype(tensor.dtype, copy=False)


def _check_groups(channels, out_channels, groups, weight_shape, expected_in, what):
    if channels % groups:
        raise ValueError(f"groups: x has {channels} channels, not divisible by groups={groups}")
    if out_channels % groups:
        raise ValueError(f"groups: {what} {out_channels} is not divisible by groups={groups}")
    if weight_shape[1] != expected_in:
        raise ValueError(
            f"weight: shape {weight_shape} is wrong for groups={groups}: dimension 1 "
            f"must be {expected_in} here"
        )


def _check_fits(padded, effective, what="x"):
    if padded[0] < effective[0] or padded[1] < effective[1]:
        raise ValueError(
            f"kernel_size: the (dilated) kernel {effective[0]}x{effective[1]} is larger "
            f"than the padded input {padded[0]}x{padded[1]} of {what}"
        )


def _conv_padding(padding, kernel, dilation, stride):
    """``(top, bottom, left, right)`` from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding: 'same' needs stride 1 (as torch), got stride={stride}")
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            return (
                total[0] // 2,
                total[0] - total[0] // 2,
                total[1] // 2,
                total[1] - total[1] // 2,
            )
        raise ValueError(f"padding: must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = check_pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


# --------------------------------------------------------------------------- public ops
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D cross-correlation (``torch.nn.functional.conv2d``); see the module docstring."""
    x, weight, bias, dtype, unbatched = _prepare(x, weight, bias, "conv2d")
    stride = check_pair(stride, "stride", 1)
    dilation = check_pair(dilation, "dilation", 1)
    groups = check_int(groups, "groups", 1)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    _check_groups(c, o, groups, weight.shape, c // groups, "out_channels (weight.shape[0])")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"bias: expected shape ({o},), got {bias.shape}")
    pads = _conv_padding(padding, (kh, kw), dilation, stride)
    _check_fits(
        (h + pads[0] + pads[1], w + pads[2] + pads[3]),
        (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1),
    )

    xd, wd = _as(x.data, dtype), _as(weight.data, dtype)
    y, cols = conv2d_forward(xd, wd, stride, pads, dilation, groups)
    if bias is not None:
        y += _as(bias.data, dtype)[:, None, None]
    state = {"cols": cols}

    def backward(g):
        g = np.ascontiguousarray(g, dtype=dtype)
        gw = gx = gb = None
        cols = state["cols"]
        if cols is None:  # a second backward through the same graph: rebuild the columns
            cols = conv2d_forward(xd, wd, stride, pads, dilation, groups)[1]
        if weight.requires_grad:
            gw = conv2d_weight_grad(g, cols, wd.shape, groups)
        if x.requires_grad:
            # the columns are used up: let dcols overwrite them instead of a fresh buffer
            state["cols"] = None
            gx = conv2d_input_grad(g, wd, (h, w), stride, pads, dilation, groups, out=cols)
        if bias is not None and bias.requires_grad:
            gb = g.sum(axis=(0, 2, 3))
        grads = (_grad_for(x, gx), _grad_for(weight, gw))
        return grads if bias is None else grads + (_grad_for(bias, gb),)

    parents = (x, weight) if bias is None else (x, weight, bias)
    out = make_node(y, parents, backward, "conv2d")
    if not out.requires_grad:
        state["cols"] = None
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose2d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed convolution (``torch.nn.functional.conv_transpose2d``), the adjoint of conv2d.

    ``weight (C_in, C_out/G, kh, kw)``; output size
    ``(H - 1) s - 2 p + d (kh - 1) + output_padding + 1``; ``output_padding`` must be smaller
    than the stride or the dilation (torch's rule).
    """
    x, weight, bias, dtype, unbatched = _prepare(x, weight, bias, "conv_transpose2d")
    stride = check_pair(stride, "stride", 1)
    dilation = check_pair(dilation, "dilation", 1)
    ph, pw = check_pair(padding, "padding", 0)
    oph, opw = check_pair(output_padding, "output_padding", 0)
    groups = check_int(groups, "groups", 1)
    for op, s, d in ((oph, stride[0], dilation[0]), (opw, stride[1], dilation[1])):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding: must be smaller than stride or dilation, got "
                f"output_padding={(oph, opw)}, stride={stride}, dilation={dilation}"
            )
    n, c, h, w = x.shape
    cin, og, kh, kw = weight.shape
    if cin != c:
        raise ValueError(f"weight: shape {weight.shape} needs dimension 0 = in_channels {c} of x")
    _check_groups(c, og * groups, groups, weight.shape, og, "out_channels")
    o = og * groups
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"bias: expected shape ({o},), got {bias.shape}")
    ho = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    wo = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(
            f"padding: output size would be {ho}x{wo} (must be at least 1x1) for input "
            f"{h}x{w}, kernel {kh}x{kw}, stride {stride}, padding {(ph, pw)}"
        )
    pads = (ph, ph, pw, pw)  # output_padding rows are never reached by a window: zero

    xd, wd = _as(x.data, dtype), _as(weight.data, dtype)
    # conv2d's weight is (O_conv, C_conv/G, ...) = (C_in, C_out/G, ...): exactly this weight
    y = conv2d_input_grad(xd, wd, (ho, wo), stride, pads, dilation, groups)
    if bias is not None:
        y += _as(bias.data, dtype)[:, None, None]

    def backward(g):
        g = np.ascontiguousarray(g, dtype=dtype)
        gw = gb = None
        gx, cols = conv2d_forward(g, wd, stride, pads, dilation, groups, out_hw=(h, w))
        if weight.requires_grad:
            gw = conv2d_weight_grad(xd, cols, wd.shape, groups)
        if not x.requires_grad:
            gx = None
        if bias is not None and bias.requires_grad:
            gb = g.sum(axis=(0, 2, 3))
        grads = (_grad_for(x, gx), _grad_for(weight, gw))
        return grads if bias is None else grads + (_grad_for(bias, gb),)

    parents = (x, weight) if bias is None else (x, weight, bias)
    out = make_node(y, parents, backward, "conv_transpose2d")
    return out.reshape(out.shape[1:]) if unbatched else out
