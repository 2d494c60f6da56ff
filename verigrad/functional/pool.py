"""2-D pooling, forward and backward: max, average, Lp, adaptive, global, stochastic, mixed.

Inputs are ``(N, C, H, W)`` (or unbatched ``(C, H, W)``); every op pools each channel of each
sample independently. Window geometry follows torch exactly::

    Ho = floor((H + 2 p - d (k - 1) - 1 + (s - 1 if ceil_mode else 0)) / s) + 1
    if ceil_mode and (Ho - 1) s >= H + p:  Ho -= 1    # a window may not start in the right padding

``padding`` may be at most half the (effective) kernel, and an output size below 1 is an
error naming the input and kernel sizes.

Kernels work on strided views, one per kernel offset ``(u, v)``: the view holds, for every
output pixel, the input at that offset of its window. A reduction over the window is then a
loop over the ``kh kw`` offsets of vectorised NumPy operations on output-sized arrays, and the
backward adds into the gradient through the same views, or, for a selection (stochastic, or
max on a small input) among overlapping windows, with one ``np.bincount`` over the flat input
position of each selected entry (never ``np.add.at``, never a loop over pixels or windows).
Max pooling with overlapping windows on larger inputs (3x3 stride 2, the common case) cuts
the padded input into stride-phase planes (:mod:`verigrad.functional._planes`), where every
offset is a contiguous shift, and runs its offsets block by block in cache; its backward adds
masked gradients into the planes the same way and interleaves them back. The max-selection
kernels of both layouts are in :mod:`verigrad.functional._maxpool`.

Policies (all as torch unless said otherwise):

* **max**: padding acts as ``-inf``; the gradient of a tie goes to the first maximal entry
  (row-major within the window); a NaN in a window makes the output NaN (and receives the
  gradient; with several NaNs, the last one, as torch). A dilated window lying wholly in the
  padding outputs ``-inf`` and passes no gradient (torch sends it to an arbitrary entry); so
  does a padded window whose input entries are all ``-inf`` (torch: its first input entry).
  A non-finite upstream gradient reaches only the entries the windows chose, as in torch.
* **avg**: with ``count_include_pad`` the divisor counts the padding but never the overhang
  that ``ceil_mode`` adds past the padding; without it, only real input entries count.
* **Lp**: torch computes ``(avg_pool(x^p) * kh kw)^(1/p)``, i.e. ``(sum x^p)^(1/p)`` except that
  a window cut short by ``ceil_mode`` has its sum scaled by ``kh kw / count``; we do the same.
  We use ``|x|^p`` for every ``p`` (torch gives NaN for negative input with odd or fractional
  ``p``; both agree for non-negative input and for even ``p``). An all-zero window has output 0
  and gradient 0 (not NaN). ``p = inf`` is ``max |x|`` (torch's ``max_pool2d(|x|)``).
* **adaptive**: output bin ``i`` covers input ``[floor(i H / Ho), ceil((i + 1) H / Ho))``.
* **stochastic** (Zeiler & Fergus 2013): activations must be non-negative (ValueError
  otherwise). Training: one entry per window is drawn with probability ``p_i = a_i / sum a``
  and passed through (its gradient goes to that entry); eval: ``sum p_i a_i``. An all-zero
  window outputs 0 with zero gradient in both modes.
* **mixed** (Lee, Gallagher & Tu 2016): ``alpha max + (1 - alpha) avg``; ``alpha`` a number
  in [0, 1] or a Tensor, which then receives a gradient (the caller keeps it in [0, 1]; the
  layer :class:`verigrad.nn.MixedPool2d` does so with a sigmoid).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._checks import ParameterError, ParameterTypeError, check_number, check_pair, check_rng
from ..tensor import Tensor, as_tensor, is_grad_enabled, make_node
from . import _maxpool
from ._maxpool import (
    max_2x2_backward,
    max_2x2_forward,
    max_backward,
    max_forward,
    max_forward_views,
    route,
)
from ._workspace import WORKSPACE

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "lp_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "stochastic_pool2d",
    "mixed_pool2d",
]


# --------------------------------------------------------------------------- geometry
def _out_size(size, kernel, stride, padding, dilation, ceil_mode) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and out > 0 and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class _Geometry:
    """Window layout of one pooling call: kernel, stride, padding, dilation, sizes."""

    def __init__(self, shape, kernel, stride, padding, dilation, ceil_mode, op):
        self.in_hw = shape[-2:]
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        for p, e in zip(padding, effective, strict=True):
            if p > e // 2:
                raise ParameterError(
                    "padding",
                    f"must be at most half the (dilated) kernel size "
                    f"{tuple(effective)}, got padding={padding}, kernel_size={kernel}, "
                    f"dilation={dilation} ({op})",
                )
        out = tuple(
            _out_size(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip(self.in_hw, kernel, stride, padding, dilation, strict=True)
        )
        if min(out) < 1:
            raise ParameterError(
                "kernel_size",
                f"output size would be {out[0]}x{out[1]}: the kernel "
                f"{effective[0]}x{effective[1]} is larger than the padded input "
                f"{self.in_hw[0] + 2 * padding[0]}x{self.in_hw[1] + 2 * padding[1]} ({op})",
            )
        self.out_hw = out
        # rows/columns the last window needs past the input (padding plus ceil overhang)
        self.after = tuple(
            max(0, (o - 1) * s + e - n - p)
            for o, s, e, n, p in zip(out, stride, effective, self.in_hw, padding, strict=True)
        )
        self.disjoint = all(s >= e for s, e in zip(stride, effective, strict=True))

    def padded(self, x: np.ndarray, fill) -> np.ndarray:
        """``x`` with its padding (and ceil overhang) set to ``fill``, from the workspace: the
        buffer is tagged by its geometry and fill, so its border keeps the fill and only the
        interior is written."""
        (ph, pw), (ah, aw) = self.padding, self.after
        if not (ph or pw or ah or aw):
            return x
        n, c, h, w = x.shape
        shape = (n, c, ph + h + ah, pw + w + aw)
        tag = ("pool-pad", shape, self.padding, repr(fill))
        out = WORKSPACE.take(shape, x.dtype, tag, fill=fill)
        out[:, :, ph : ph + h, pw : pw + w] = x
        return out

    def zeros_padded(self, shape, dtype) -> np.ndarray:
        n, c, h, w = shape
        return WORKSPACE.take(
            (n, c, self.padding[0] + h + self.after[0], self.padding[1] + w + self.after[1]),
            dtype,
            zero=True,
        )

    def crop(self, xp: np.ndarray) -> np.ndarray:
        (ph, pw), (h, w) = self.padding, self.in_hw
        if xp.shape[-2:] == (h, w):
            return xp
        out = WORKSPACE.take(xp.shape[:2] + (h, w), xp.dtype)
        np.copyto(out, xp[:, :, ph : ph + h, pw : pw + w])
        return out

    def views(self, xp: np.ndarray):
        """``(offset index, view (N, C, Ho, Wo))`` for every kernel offset, row-major."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = (
            self.kernel,
            self.stride,
            self.dilation,
            self.out_hw,
        )
        for u in range(kh):
            rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
            for v in range(kw):
                yield u * kw + v, xp[:, :, rows, v * dw : v * dw + sw * (wo - 1) + 1 : sw]

    def divisor(self, count_include_pad: bool) -> np.ndarray:
        """torch's avg_pool2d divisor per output pixel, ``(Ho, Wo)``."""
        factors = []
        for n, k, s, p, o in zip(
            self.in_hw, self.kernel, self.stride, self.padding, self.out_hw, strict=True
        ):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            size = end - start
            count = np.minimum(end, n) - np.maximum(start, 0)
            factors.append(size if count_include_pad else count)
        return np.outer(factors[0], factors[1]).astype(np.float64)

    def scatter(self, parts, shape, dtype) -> np.ndarray:
        """Adjoint of :meth:`views`: add the per-offset parts back and crop the padding.

        ``parts(k, out)`` writes offset ``k``'s contribution ``(N, C, Ho, Wo)`` into ``out``:
        straight into the gradient when windows are disjoint, else into a scratch array that
        is then added.
        """
        gxp = self.zeros_padded(shape, dtype)
        scratch = None if self.disjoint else WORKSPACE.take(shape[:2] + self.out_hw, dtype)
        for k, view in self.views(gxp):
            if self.disjoint:
                parts(k, view)
            else:
                parts(k, scratch)
                view += scratch
        return self.crop(gxp)


# --------------------------------------------------------------------------- input handling
def _input(x, op):
    x = as_tensor(x, "x")
    if x.ndim not in (3, 4):
        raise ParameterError("x", f"{op} expects (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        x = Tensor(x.data.astype(np.float64))
    unbatched = x.ndim == 3
    return (x.reshape((1,) + x.shape) if unbatched else x), unbatched


def _finish(out: Tensor, unbatched: bool) -> Tensor:
    return out.reshape(out.shape[1:]) if unbatched else out


def _stride(stride, kernel):
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel
    return check_pair(stride, "stride", 1)


def _geometry(x, op, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The validated window layout of pooling op ``op`` on ``x`` (see :class:`_Geometry`)."""
    kernel = check_pair(kernel_size, "kernel_size", 1)
    return _Geometry(
        x.shape,
        kernel,
        _stride(stride, kernel),
        check_pair(padding, "padding", 0),
        check_pair(dilation, "dilation", 1),
        _bool(ceil_mode, "ceil_mode"),
        op,
    )


def _bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(name, f"expected True or False, got {value!r}")
    return bool(value)


# --------------------------------------------------------------------------- max
def _is_2x2(geo) -> bool:
    """2x2 windows, stride 2, no padding, no dilation, no ceil overhang: the fast kernel."""
    return (
        geo.kernel == (2, 2)
        and geo.stride == (2, 2)
        and geo.padding == (0, 0)
        and geo.dilation == (1, 1)
        and geo.after == (0, 0)
    )


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> Tensor:
    """Max over each window (``torch.nn.functional.max_pool2d``); see the module docstring."""
    x, unbatched = _input(x, "max_pool2d")
    geo = _geometry(x, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    need_index = x.requires_grad and is_grad_enabled()
    shape = x.shape
    n_out = shape[0] * shape[1] * geo.out_hw[0] * geo.out_hw[1]
    if _is_2x2(geo) and n_out:
        out, masks = max_2x2_forward(x.data, geo.out_hw, need_index)

        def backward(g):
            return (max_2x2_backward(np.asarray(g, dtype=x.dtype), masks, shape),)

    elif geo.disjoint or n_out <= _maxpool.SMALL_OUTPUT:
        out, index = max_forward_views(x.data, geo, need_index)

        def backward(g):
            return (route(g, index, geo, shape),)

    else:
        out, found = max_forward(x.data, geo, need_index)

        def backward(g):
            return (max_backward(g, found),)

    return _finish(make_node(out, (x,), backward, "max_pool2d"), unbatched)


# --------------------------------------------------------------------------- average / Lp
def _window_sum(xd, geo):
    views = geo.views(geo.padded(xd, 0))
    _, first = next(views)
    total = WORKSPACE.take(first.shape, first.dtype)
    np.copyto(total, first)
    for _, view in views:
        total += view
    return total


def _spread(g, geo, shape):
    """Adjoint of :func:`_window_sum`: every entry of a window receives its window's ``g``."""
    return geo.scatter(lambda k, out: np.copyto(out, g), shape, g.dtype)


def avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """Mean over each window (``torch.nn.functional.avg_pool2d``); see the module docstring."""
    x, unbatched = _input(x, "avg_pool2d")
    geo = _geometry(x, "avg_pool2d", kernel_size, stride, padding, ceil_mode=ceil_mode)
    scale = (1.0 / geo.divisor(_bool(count_include_pad, "count_include_pad"))).astype(x.dtype)
    out = _window_sum(x.data, geo)
    out *= scale
    shape = x.shape
    return _finish(
        make_node(out, (x,), lambda g: (_spread(g * scale, geo, shape),), "avg_pool2d"), unbatched
    )


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """Power-average pooling ``(sum_window |x|^p)^(1/p)`` (torch's ``lp_pool2d``).

    See the module docstring for the ``ceil_mode`` scaling, ``|x|`` and all-zero windows.
    ``norm_type`` is a number > 0 or ``inf``.

    Computed scaled by the window maximum ``m = max_window |x|`` (as log-sum-exp is)::

        y = m (s sum_window (|x| / m)^p)^(1/p)        s: the ceil_mode scale (1 inside)
        dy/dx_i = s sign(x_i) (|x_i| / y)^(p - 1)     (|x_i| <= y, so this is at most s)

    so no power of an entry above 1 is ever taken: a large ``p`` (200 on values near 10,
    where ``|x|^p`` overflows float64) gives finite values near ``max |x|``, the ``p -> inf``
    limit (``m <= y <= m (s kh kw)^(1/p)``). A window holding ``inf`` gives ``inf``; NaN
    propagates.
    """
    p = check_number(norm_type, "norm_type", 0.0, low_open=True)
    x, unbatched = _input(x, "lp_pool2d")
    if math.isinf(p):
        return _finish(max_pool2d(x.abs(), kernel_size, stride, 0, 1, ceil_mode), unbatched)
    geo = _geometry(x, "lp_pool2d", kernel_size, stride, ceil_mode=ceil_mode)
    kernel = geo.kernel
    xd = x.data
    dtype = xd.dtype
    # torch: avg_pool (divisor = in-bounds count) times kh*kw
    scale = (kernel[0] * kernel[1] / geo.divisor(True)).astype(dtype)
    signed = geo.padded(xd, 0)  # ceil_mode's overhang holds zeros: they add nothing
    views = [view for _, view in geo.views(signed)]
    top = WORKSPACE.take(views[0].shape, dtype)
    np.abs(views[0], out=top)
    for view in views[1:]:
        np.maximum(top, np.abs(view), out=top)  # propagates NaN
    safe_top = np.where(top > 0, top, 1).astype(dtype, copy=False)
    total = np.zeros_like(top)
    with np.errstate(invalid="ignore"):  # inf / inf in a window holding inf: fixed below
        for view in views:
            total += (np.abs(view) / safe_top) ** p
        total *= scale
        out = total ** (1.0 / p) * top
    out[np.isinf(top)] = np.inf
    shape = x.shape

    def backward(g):
        coef = np.asarray(g, dtype=dtype) * scale
        safe_out = np.where(out > 0, out, 1).astype(dtype, copy=False)

        def parts(k, target):
            view = views[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.abs(view) / safe_out
                term = np.where(ratio > 0, ratio ** (p - 1), 0)  # a zero entry: gradient 0
            np.multiply(coef * np.sign(view), term, out=target, casting="unsafe")

        return (geo.scatter(parts, shape, dtype),)

    return _finish(make_node(out, (x,), backward, "lp_pool2d"), unbatched)


# --------------------------------------------------------------------------- adaptive / global
def _output_size(output_size, in_hw):
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        size = tuple(in_hw[i] if v is None else v for i, v in enumerate(output_size))
    else:
        size = output_size
    size = check_pair(size, "output_size")
    if min(size) < 1:
        raise ParameterError("output_size", f"must be at least 1x1, got {output_size!r}")
    return size


def _bins(n_in, n_out):
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)  # floor, ceil


def _bin_matrix(n_in, n_out, dtype):
    """``(n_out, n_in)`` averaging matrix of the adaptive bins."""
    start, end = _bins(n_in, n_out)
    cols = np.arange(n_in)
    member = (cols >= start[:, None]) & (cols < end[:, None])
    return (member / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Mean over adaptive bins: ``y = A_h x A_w^T`` with the bin-averaging matrices ``A``."""
    x, unbatched = _input(x, "adaptive_avg_pool2d")
    oh, ow = _output_size(output_size, x.shape[-2:])
    a_h = _bin_matrix(x.shape[2], oh, x.dtype)
    a_w = _bin_matrix(x.shape[3], ow, x.dtype)
    out = np.matmul(a_h, np.matmul(x.data, a_w.T))

    def backward(g):
        return (np.matmul(a_h.T, np.matmul(g, a_w)),)

    return _finish(make_node(out, (x,), backward, "adaptive_avg_pool2d"), unbatched)


def adaptive_max_pool2d(x, output_size) -> Tensor:
    """Max over adaptive bins; ties go to the first maximal entry, NaN propagates (gradient to the last NaN)."""
    x, unbatched = _input(x, "adaptive_max_pool2d")
    n, c, h, w = x.shape
    oh, ow = _output_size(output_size, (h, w))
    (h0, h1), (w0, w1) = _bins(h, oh), _bins(w, ow)
    xd = x.data
    best = flat_index = None
    # offsets past a bin's end repeat its last row/column: harmless for a max, and the
    # strict '>' keeps the first occurrence for the gradient
    for u in range(int((h1 - h0).max())):
        rows = np.minimum(h0 + u, h1 - 1)
        for v in range(int((w1 - w0).max())):
            cols = np.minimum(w0 + v, w1 - 1)
            view = xd[:, :, rows[:, None], cols[None, :]]
            where = rows[:, None] * w + cols[None, :]
            if best is None:
                best, flat_index = view.copy(), np.broadcast_to(where, view.shape).copy()
                continue
            take = (view > best) | np.isnan(view)  # the last NaN, as torch
            np.copyto(best, view, where=take)
            np.copyto(flat_index, np.broadcast_to(where, view.shape), where=take)

    def backward(g):
        plane = (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
        gx = np.bincount((flat_index + plane).ravel(), weights=g.ravel(), minlength=n * c * h * w)
        return (gx.reshape(n, c, h, w).astype(g.dtype, copy=False),)

    return _finish(make_node(best, (x,), backward, "adaptive_max_pool2d"), unbatched)


def global_avg_pool2d(x) -> Tensor:
    """Mean over all of H and W: ``(N, C, H, W) -> (N, C, 1, 1)`` (``adaptive_avg_pool2d(x, 1)``)."""
    x, unbatched = _input(x, "global_avg_pool2d")
    return _finish(x.mean(axis=(2, 3), keepdims=True), unbatched)


def global_max_pool2d(x) -> Tensor:
    """Max over all of H and W: ``(N, C, H, W) -> (N, C, 1, 1)`` (``adaptive_max_pool2d(x, 1)``)."""
    return adaptive_max_pool2d(x, 1)


# --------------------------------------------------------------------------- stochastic
def stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None) -> Tensor:
    """Stochastic pooling (Zeiler & Fergus 2013) of non-negative activations.

    With ``p_i = a_i / sum_window a``: in training, output ``a_j`` with ``j ~ Multinomial(p)``
    drawn independently per window from ``rng`` (gradient to ``a_j``); in eval, output
    ``sum p_i a_i = sum a_i^2 / sum a_i`` with gradient ``(2 a_j - y) / sum a``. All-zero
    windows give 0 and a zero gradient. Negative or NaN input raises ValueError.
    """
    x, unbatched = _input(x, "stochastic_pool2d")
    training = _bool(training, "training")
    geo = _geometry(x, "stochastic_pool2d", kernel_size, stride)
    kernel = geo.kernel
    xd = x.data
    # an empty batch (N or C of 0) has no minimum; it pools to an empty result like torch's
    low = xd.min() if xd.size else 0
    if not low >= 0:
        raise ParameterError(
            "x",
            f"stochastic pooling needs non-negative finite activations (apply "
            f"ReLU first), got minimum {low}",
        )
    total = _window_sum(xd, geo)
    shape = x.shape
    if training:
        rng = check_rng(rng)
        threshold = rng.random(total.shape) * total
        # j = first offset whose cumulative sum exceeds the threshold; zero entries never win
        index = np.zeros(total.shape, dtype=np.int16)
        running = np.zeros_like(total)
        chosen = np.zeros_like(total)
        for _, view in geo.views(xd):
            running += view
            index += running <= threshold
        index = np.minimum(index, kernel[0] * kernel[1] - 1)
        for k, view in geo.views(xd):
            np.copyto(chosen, view, where=index == k)
        empty = total == 0
        chosen[empty] = 0

        def backward(g):
            return (route(np.where(empty, 0, g).astype(g.dtype, copy=False), index, geo, shape),)

        return _finish(make_node(chosen, (x,), backward, "stochastic_pool2d"), unbatched)

    squares = _window_sum(xd * xd, geo)
    positive = total > 0
    safe = np.where(positive, total, 1)
    out = np.where(positive, squares / safe, 0).astype(xd.dtype, copy=False)

    def backward(g):
        coef = np.where(positive, g / safe, 0).astype(xd.dtype, copy=False)
        # d y / d a_j = (2 a_j - y) / S: spread coef * 2 and subtract spread(coef * y)
        spread = _spread(coef, geo, shape)
        shift = _spread(coef * out, geo, shape)
        return ((2 * xd * spread - shift).astype(xd.dtype, copy=False),)

    return _finish(make_node(out, (x,), backward, "stochastic_pool2d"), unbatched)


# --------------------------------------------------------------------------- mixed
def mixed_pool2d(x, kernel_size, stride=None, padding=0, alpha=0.5) -> Tensor:
    """``alpha * max_pool2d + (1 - alpha) * avg_pool2d`` (Lee, Gallagher & Tu 2016).

    ``alpha`` is a number in [0, 1] or a one-element Tensor (then it gets a gradient,
    ``sum g (max - avg)``). The average counts padding (torch's default).
    """
    x, unbatched = _input(x, "mixed_pool2d")
    if isinstance(alpha, Tensor):
        if alpha.size != 1:
            raise ParameterError("alpha", f"expected a single value, got shape {alpha.shape}")
        alpha = alpha.reshape(())
        if alpha.dtype != x.dtype:
            alpha = alpha.astype(x.dtype)
    elif isinstance(alpha, numbers.Real):
        alpha = check_number(alpha, "alpha", 0.0, 1.0)
    else:
        raise ParameterTypeError(
            "alpha", f"expected a number or a Tensor, got {type(alpha).__name__}"
        )
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride = _stride(stride, kernel)
    maxed = max_pool2d(x, kernel, stride, padding)
    averaged = avg_pool2d(x, kernel, stride, padding)
    return _finish(averaged + alpha * (maxed - averaged), unbatched)
