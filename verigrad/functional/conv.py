"""2-D convolution and transposed convolution, forward and backward, via im2col + BLAS.

Shapes (NCHW; an unbatched ``(C, H, W)`` input is accepted and gives an unbatched result)::

    conv2d            x (N, C, H, W), weight (O, C/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)
    conv_transpose2d  x (N, C, H, W), weight (C, O/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)

with ``G = groups``, ``Ho = floor((H + pad_top + pad_bottom - d (kh - 1) - 1) / s) + 1`` for
conv2d and ``Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1`` for conv_transpose2d.
As in torch, conv2d is a cross-correlation (the kernel is not flipped)::

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x_pad[n, gc + c, s i + d u, s j + d v]

Algorithm: im2col + one BLAS matmul per group for each pass (forward, weight gradient, input
gradient as a transposed convolution with ``col2im``), written out in
:mod:`verigrad.functional._im2col`; Winograd F(2x2, 3x3) for the 3x3 stride-1 layers large
enough to gain (:mod:`verigrad.functional._winograd`, rule in ``choose_algorithm``).

Workspace policy (:mod:`verigrad.functional._workspace`): every large array of a call (padded
input with a permanently zero border, columns, GEMM output, the result, gradients) is taken
from :data:`WORKSPACE` and written with ``out=``, so a training loop pays no page faults for
fresh memory after its first steps. A buffer is handed out again only once nothing refers to
it, so results, values saved in the graph and gradients on their way never change under
their holder. On several threads the im2col path runs its chunks of samples on separate
threads, each with single-threaded GEMMs (:mod:`verigrad.functional._im2col`); otherwise the
memory-bound passes (im2col copy, the layout copy that adds the bias, col2im, gradient
transposes) are split over channels on both cores (:mod:`verigrad.functional._parallel`).

Algorithms: 3x3 stride-1 layers with many channels use Winograd F(2x2, 3x3)
(:mod:`verigrad.functional._winograd`, 2.25x fewer multiply-adds); everything else, and every
layer under ``algorithm="im2col"`` / ``VERIGRAD_CONV_ALGO=im2col``, this module's im2col. The
rule and its measurements are in :func:`choose_algorithm`.

conv_transpose2d is the same pair of kernels with the roles exchanged: its forward is conv2d's
input gradient and its input gradient is conv2d's forward.

``padding="same"`` pads ``d (k - 1)`` in total per axis; for an even effective kernel the
extra row/column goes to the bottom/right (torch pads the same asymmetric way internally), and
as in torch it requires ``stride == 1``. ``"valid"`` means no padding.

The pure ``ndarray`` kernels (``conv2d_forward``, ``conv2d_weight_grad``,
``conv2d_input_grad``) take padding as ``(top, bottom, left, right)``. The tests hold them
to a plain loop over output pixels.
"""

from __future__ import annotations

import os

import numpy as np

from .._checks import ParameterError, check_allocation, check_int, check_pair, memory_bytes
from ..tensor import Tensor, as_tensor, is_grad_enabled, make_node
from ._im2col import (  # noqa: F401  (_Plan, CHUNK_BYTES: for tests and benchmarks)
    CHUNK_BYTES,
    WORKSPACE,
    _Plan,
    conv2d_backward,
    conv2d_forward,
    conv2d_input_grad,
    conv2d_weight_grad,
    im2col,
)
from ._winograd import eligible, winograd_backward, winograd_forward

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_weight_grad",
    "conv2d_input_grad",
    "im2col",
    "choose_algorithm",
]


# --------------------------------------------------------------------------- validation
def _prepare(x, weight, bias, name):
    """Tensors, float dtype, batch dimension; returns (x, weight, bias, dtype, unbatched)."""
    x = as_tensor(x, "x")
    weight = as_tensor(weight, "weight")
    if x.ndim not in (3, 4):
        raise ParameterError("x", f"{name} expects (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if x.shape[-3] == 0:
        raise ParameterError("x", f"{name} needs at least one channel, got shape {x.shape}")
    if weight.ndim != 4:
        raise ParameterError("weight", f"{name} expects a 4-D weight, got shape {weight.shape}")
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
        raise ParameterError(
            "groups", f"x has {channels} channels, not divisible by groups={groups}"
        )
    if out_channels % groups:
        raise ParameterError("groups", f"{what} {out_channels} is not divisible by groups={groups}")
    if weight_shape[1] != expected_in:
        raise ParameterError(
            "weight",
            f"shape {weight_shape} is wrong for groups={groups}: dimension 1 "
            f"must be {expected_in} here",
        )


def _check_fits(padded, effective, what="x"):
    if padded[0] < effective[0] or padded[1] < effective[1]:
        raise ParameterError(
            "kernel_size",
            f"the (dilated) kernel {effective[0]}x{effective[1]} is larger "
            f"than the padded input {padded[0]}x{padded[1]} of {what}",
        )


def _conv_bytes(x_shape, weight_shape, pads, stride, dilation, itemsize) -> int:
    """Bytes of conv2d's padded input, im2col matrix and output for these sizes."""
    n, c, h, w = x_shape
    o, _, kh, kw = weight_shape
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    ho = max(0, (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1)
    wo = max(0, (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1)
    return itemsize * (n * c * hp * wp + n * c * kh * kw * ho * wo + n * o * ho * wo)


def _check_conv_memory(x_shape, weight_shape, pads, stride, dilation, itemsize):
    """Refuse sizes whose buffers exceed half the memory before allocating, naming
    ``padding`` when the padding alone makes them so (``padding=10**6``), else ``x``."""
    needed = _conv_bytes(x_shape, weight_shape, pads, stride, dilation, itemsize)
    if needed <= memory_bytes() // 2:
        return
    unpadded = _conv_bytes(x_shape, weight_shape, (0, 0, 0, 0), stride, dilation, itemsize)
    name = "padding" if unpadded <= memory_bytes() // 2 else "x"
    check_allocation(needed, name, f"conv2d of x {tuple(x_shape)} with padding {pads}")


def _conv_padding(padding, kernel, dilation, stride):
    """``(top, bottom, left, right)`` from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ParameterError(
                    "padding", f"'same' needs stride 1 (as torch), got stride={stride}"
                )
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            return (
                total[0] // 2,
                total[0] - total[0] // 2,
                total[1] // 2,
                total[1] - total[1] // 2,
            )
        raise ParameterError(
            "padding", f"must be an int, a pair, 'valid' or 'same', got {padding!r}"
        )
    ph, pw = check_pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


# --------------------------------------------------------------------------- public ops
#: environment variable that forces an algorithm for every eligible conv2d call
ALGORITHM_VARIABLE = "VERIGRAD_CONV_ALGO"
ALGORITHMS = ("auto", "im2col", "winograd")

#: ``auto`` takes Winograd F(2x2, 3x3) for eligible layers with at least this many input
#: channels x output channels and inputs of at least 4x4 (see ``choose_algorithm``)
WINOGRAD_MIN_CHANNELS = 32 * 64


def choose_algorithm(algorithm, x_shape, w_shape, stride, dilation, groups) -> str:
    """``"im2col"`` or ``"winograd"`` for one conv2d call.

    ``algorithm`` (the argument) wins; ``None`` reads :data:`ALGORITHM_VARIABLE` (default
    ``auto``). Winograd F(2x2, 3x3) needs a 3x3 kernel, stride 1, dilation 1 and one group: an
    explicit ``algorithm="winograd"`` on another layer is an error, while the environment
    variable applies it only where it can (a whole model can then be run on it). ``auto``
    picks it when ``C O >= WINOGRAD_MIN_CHANNELS`` and the input is at least 4x4: its
    transforms are memory-bound passes over about ``16 (C + O) P`` entries (``P`` tiles)
    against GEMMs of ``16 C O P`` multiply-adds, so it pays only when both channel counts are
    large. Measured fwd+bwd, one thread, Winograd over im2col: case C (64->128, 32x32) 0.68x,
    case B (32->64, 14x14) 0.73-0.86x; 16->32 on 14x14 1.17x and case A (1->32) 3.9x.
    """
    name = "algorithm"
    forced = algorithm is not None
    if algorithm is None:
        algorithm, name = os.environ.get(ALGORITHM_VARIABLE, "auto") or "auto", ALGORITHM_VARIABLE
    if algorithm not in ALGORITHMS:
        raise ParameterError(name, f"must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    fits = eligible(w_shape, stride, dilation, groups)
    if algorithm == "winograd":
        if not fits and forced:
            raise ParameterError(
                "algorithm",
                f"winograd needs a 3x3 kernel, stride 1, dilation 1 and groups=1, got kernel "
                f"{tuple(w_shape[2:])}, stride {stride}, dilation {dilation}, groups {groups}",
            )
        return "winograd" if fits else "im2col"
    if (
        algorithm == "auto"
        and fits
        and x_shape[1] * w_shape[0] >= WINOGRAD_MIN_CHANNELS
        and min(x_shape[2:]) >= 4
    ):
        return "winograd"
    return "im2col"


def conv2d(
    x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, algorithm=None
) -> Tensor:
    """2-D cross-correlation (``torch.nn.functional.conv2d``); see the module docstring.

    ``algorithm`` is ``"auto"``, ``"im2col"`` or ``"winograd"`` (Winograd F(2x2, 3x3),
    :mod:`verigrad.functional._winograd`), or None to read the environment variable
    ``VERIGRAD_CONV_ALGO`` (default ``auto``); see :func:`choose_algorithm`.

    The kernel writes an O-major array (with wider rows for stride 1; see ``_Plan``); the
    result is copied once to C-contiguous NCHW, with the bias added in the same pass, so every
    later op (and whoever receives the array) sees the ordinary layout.
    """
    x, weight, bias, dtype, unbatched = _prepare(x, weight, bias, "conv2d")
    stride = check_pair(stride, "stride", 1)
    dilation = check_pair(dilation, "dilation", 1)
    groups = check_int(groups, "groups", 1)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    _check_groups(c, o, groups, weight.shape, c // groups, "out_channels (weight.shape[0])")
    if bias is not None and bias.shape != (o,):
        raise ParameterError("bias", f"expected shape ({o},), got {bias.shape}")
    pads = _conv_padding(padding, (kh, kw), dilation, stride)
    _check_fits(
        (h + pads[0] + pads[1], w + pads[2] + pads[3]),
        (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1),
    )

    _check_conv_memory(x.shape, weight.shape, pads, stride, dilation, np.dtype(dtype).itemsize)
    method = choose_algorithm(algorithm, x.shape, weight.shape, stride, dilation, groups)
    xd, wd = _as(x.data, dtype), _as(weight.data, dtype)
    bd = None if bias is None else _as(bias.data, dtype)
    keep = is_grad_enabled() and weight.requires_grad
    if method == "winograd":
        y, plan = winograd_forward(xd, wd, pads, bias=bd, keep=keep)
        kernel_backward, release = winograd_backward, plan.release
    else:
        y, plan = conv2d_forward(
            xd, wd, stride, pads, dilation, groups, bias=bd, keep_columns=keep, contiguous=False
        )
        kernel_backward, release = conv2d_backward, plan.release_columns

    def backward(g):
        g = np.asarray(g, dtype=dtype)
        gx, gw = kernel_backward(g, xd, wd, plan, x.requires_grad, weight.requires_grad)
        release()  # a second backward through this graph rebuilds what was kept
        gb = g.sum(axis=(0, 2, 3)) if bias is not None and bias.requires_grad else None
        grads = (_grad_for(x, gx), _grad_for(weight, gw))
        return grads if bias is None else grads + (_grad_for(bias, gb),)

    parents = (x, weight) if bias is None else (x, weight, bias)
    out = make_node(y, parents, backward, "conv2d")
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
            raise ParameterError(
                "output_padding",
                f"must be smaller than stride or dilation, got "
                f"output_padding={(oph, opw)}, stride={stride}, dilation={dilation}",
            )
    n, c, h, w = x.shape
    cin, og, kh, kw = weight.shape
    if cin != c:
        raise ParameterError(
            "weight", f"shape {weight.shape} needs dimension 0 = in_channels {c} of x"
        )
    _check_groups(c, og * groups, groups, weight.shape, og, "out_channels")
    o = og * groups
    if bias is not None and bias.shape != (o,):
        raise ParameterError("bias", f"expected shape ({o},), got {bias.shape}")
    ho = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    wo = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if ho <= 0 or wo <= 0:
        raise ParameterError(
            "padding",
            f"output size would be {ho}x{wo} (must be at least 1x1) for input "
            f"{h}x{w}, kernel {kh}x{kw}, stride {stride}, padding {(ph, pw)}",
        )
    pads = (ph, ph, pw, pw)  # output_padding rows are never reached by a window: zero
    check_allocation(
        np.dtype(dtype).itemsize * n * (o + c * kh * kw) * ho * wo,
        "stride" if max(stride) > 1 else "x",
        f"conv_transpose2d of x {tuple(x.shape)} to an output of {ho}x{wo}",
    )

    xd, wd = _as(x.data, dtype), _as(weight.data, dtype)
    # the adjoint conv2d maps (N, O, Ho, Wo) to x's (N, C, H, W) with weight (C, O/G, kh, kw)
    plan = _Plan((n, o, ho, wo), wd.shape, stride, pads, dilation, groups, (h, w), dtype)
    y = conv2d_input_grad(xd, wd, plan)
    if bias is not None:
        y += _as(bias.data, dtype)[:, None, None]

    def backward(g):
        g = np.asarray(g, dtype=dtype)
        gx = gw = gb = None
        if x.requires_grad:
            gx = conv2d_forward(g, wd, stride, pads, dilation, groups, out_hw=(h, w))[0]
        if weight.requires_grad:
            gw = conv2d_backward(xd, g, wd, plan, input_grad=False, weight_grad=True)[1]
        if bias is not None and bias.requires_grad:
            gb = g.sum(axis=(0, 2, 3))
        grads = (_grad_for(x, gx), _grad_for(weight, gw))
        return grads if bias is None else grads + (_grad_for(bias, gb),)

    parents = (x, weight) if bias is None else (x, weight, bias)
    out = make_node(y, parents, backward, "conv_transpose2d")
    return out.reshape(out.shape[1:]) if unbatched else out
