"""2-D convolution and transposed convolution, forward and backward, via im2col + BLAS.

Shapes (NCHW; an unbatched ``(C, H, W)`` input is accepted and gives an unbatched result)::

    conv2d            x (N, C, H, W), weight (O, C/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)
    conv_transpose2d  x (N, C, H, W), weight (C, O/G, kh, kw), bias (O,) -> (N, O, Ho, Wo)

with ``G = groups``, ``Ho = floor((H + pad_top + pad_bottom - d (kh - 1) - 1) / s) + 1`` for
conv2d and ``Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1`` for conv_transpose2d.
As in torch, conv2d is a cross-correlation (the kernel is not flipped)::

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x_pad[n, gc + c, s i + d u, s j + d v]

Algorithm, chunk by chunk of samples (a chunk's columns fit in cache, about 2 MiB):
``im2col`` copies, for every kernel offset ``(u, v)``, one view of the padded input into
``cols (b, G, K, L)`` with ``K = C/G kh kw`` and ``L = Ho Wo`` (``Ho Wp`` for stride 1, see
``_Plan``); the convolution is then one batched BLAS matmul ``y = W_g @ cols`` written straight
into the NCHW output. When a weight gradient will be needed the columns are kept for the
backward pass (one im2col buffer), otherwise only a chunk's worth exists at a time. Backward:

* ``dW_g += sum_n g[n] @ cols[n]^T`` (one batched matmul per chunk);
* ``dx`` as the *transposed convolution* of ``g``: ``dcols = W_g^T @ g`` (one batched matmul)
  followed by ``col2im``, which adds the ``kh kw`` slices of ``dcols`` into ``dx`` at their
  kernel offsets: for stride 1 one strided-view sum over the offsets (``_Plan.col2im_wide``),
  otherwise a loop over kernel offsets of vectorised adds; never a loop over windows or pixels;
* ``db = sum_{n, i, j} g``.

Scratch buffers come from a small pool (:data:`WORKSPACE`) so repeated calls do not pay page
faults for fresh memory. Extra memory per call is one im2col buffer (when kept) plus a few
chunk-sized buffers and the outputs.

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

import threading

import numpy as np

from .._checks import as_tensor, check_int, check_pair
from ..tensor import Tensor, is_grad_enabled, make_node

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_weight_grad",
    "conv2d_input_grad",
    "im2col",
]


# --------------------------------------------------------------------------- workspace
class _Workspace:
    """Free scratch buffers kept between calls.

    A fresh large array costs a page fault per 4 KiB page on first touch (tens of ms for the
    im2col buffer of a mid-sized layer), so the columns, padded copies and padded gradients are
    taken from and given back to this small pool instead of being allocated per call. Buffers
    are raw bytes; a request takes the smallest free buffer that is large enough and not more
    than twice the request.
    """

    def __init__(self, max_bytes: int = 1 << 29, max_buffers: int = 8):
        self.max_bytes, self.max_buffers = max_bytes, max_buffers
        self._free: list = []
        self._lock = threading.Lock()

    def take(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = max(1, int(np.prod(shape)) * dtype.itemsize)
        with self._lock:
            fits = [b for b in self._free if nbytes <= b.nbytes <= 2 * nbytes]
            if fits:
                buf = min(fits, key=lambda b: b.nbytes)
                self._free = [b for b in self._free if b is not buf]
            else:
                buf = np.empty(nbytes, dtype=np.uint8)
        return buf[:nbytes].view(dtype).reshape(shape)

    def give(self, *arrays) -> None:
        with self._lock:
            for a in arrays:
                buf = a.base if a.base is not None else a
                if buf.dtype != np.uint8 or buf.ndim != 1 or any(b is buf for b in self._free):
                    continue
                self._free.append(buf)
            self._free.sort(key=lambda b: -b.nbytes)
            while self._free and (
                len(self._free) > self.max_buffers
                or sum(b.nbytes for b in self._free) > self.max_bytes
            ):
                self._free.pop(0)

    def clear(self) -> None:
        with self._lock:
            self._free = []


WORKSPACE = _Workspace()


# --------------------------------------------------------------------------- ndarray kernels
#: bytes of im2col columns per chunk of samples: small enough that the columns stay in cache
#: from im2col through the matmul (and dcols through col2im), large enough for a good matmul
CHUNK_BYTES = 1 << 21


def _out_size(size, before, after, kernel, stride, dilation) -> int:
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


class _Scratch:
    """Chunk-sized buffers taken from the workspace on first use; ``release`` gives them back."""

    def __init__(self, dtype, shapes: dict):
        self.dtype, self.shapes, self.taken = dtype, shapes, {}

    def __getitem__(self, name) -> np.ndarray:
        if name not in self.taken:
            self.taken[name] = WORKSPACE.take(self.shapes[name], self.dtype)
        return self.taken[name]

    def release(self) -> None:
        WORKSPACE.give(*self.taken.values())
        self.taken = {}


class _Plan:
    """Geometry and column layout of one convolution, processed in chunks of samples.

    Columns of a chunk of ``b`` samples are ``(b, G, K, L)`` with ``K = C/G kh kw`` and ``L =
    Ho row``. For stride 1 they use *wide rows* (``row = Wp``): output row ``i`` is computed
    over the full padded width, so that for each kernel offset the windows of a channel are one
    contiguous slice of the flattened padded input (``offset = d_h u Wp + d_w v``, length
    ``Ho Wp``) and im2col/col2im move long contiguous rows; the ``Wp - Wo`` extra columns of
    each output row are discarded (their upstream gradient is taken as 0). Otherwise ``row =
    Wo`` and each offset is a strided view.
    """

    def __init__(self, x_shape, w_shape, stride, pads, dilation, groups, out_hw=None, dtype=None):
        n, c, h, w = x_shape
        o, cg, kh, kw = w_shape
        self.x_shape, self.w_shape = tuple(x_shape), tuple(w_shape)
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        top, bottom, left, right = pads
        if out_hw is None:
            out_hw = (
                _out_size(h, top, bottom, kh, stride[0], dilation[0]),
                _out_size(w, left, right, kw, stride[1], dilation[1]),
            )
        self.ho, self.wo = out_hw
        self.hp, self.wp = h + top + bottom, w + left + right
        self.wide = tuple(stride) == (1, 1)
        self.row = self.wp if self.wide else self.wo
        # the last flat slice of a wide layout runs d_w (kw - 1) past the last row
        self.extra_rows = 1 if self.wide and dilation[1] * (kw - 1) > 0 else 0
        self.k = cg * kh * kw
        self.length = self.ho * self.row
        # zero margins around wide dcols rows for col2im_wide: before, the largest offset;
        # after, up to the end of the flattened padded channel
        self.margin = dilation[0] * (kh - 1) * self.wp + dilation[1] * (kw - 1)
        self.after = max(0, (self.hp + self.extra_rows) * self.wp - self.length)
        itemsize = np.dtype(dtype or np.float64).itemsize
        self.columns = None  # the forward's columns, when kept for the backward
        # the largest per-sample scratch: columns, padded input or widened gradient
        per_sample = itemsize * max(
            c * kh * kw * self.length, o * self.length, c * (self.hp + self.extra_rows) * self.wp
        )
        self.chunk = int(max(1, min(n, CHUNK_BYTES // per_sample)))

    def chunks(self):
        n = self.x_shape[0]
        for start in range(0, n, self.chunk):
            yield slice(start, min(n, start + self.chunk))

    def offsets(self):
        """``(u, v, flat offset or (rows, columns))`` per kernel offset, row-major."""
        kh, kw = self.w_shape[2:]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for u in range(kh):
            for v in range(kw):
                if self.wide:
                    yield u, v, u * dh * self.wp + v * dw
                else:
                    yield (
                        u,
                        v,
                        (
                            slice(u * dh, u * dh + sh * (self.ho - 1) + 1, sh),
                            slice(v * dw, v * dw + sw * (self.wo - 1) + 1, sw),
                        ),
                    )

    # scratch buffers for one chunk, from the workspace --------------------------------
    def scratch(self, dtype) -> _Scratch:
        b, c, o = self.chunk, self.x_shape[1], self.w_shape[0]
        return _Scratch(
            dtype,
            {
                "cols": (b, self.groups, self.k, self.length),
                "padded": (b, c, self.hp + self.extra_rows, self.wp),
                "wide": (b, o, self.ho, self.row),
                "dcols": (b, self.groups, self.k, self.margin + self.length + self.after),
            },
        )

    def release_columns(self) -> None:
        if self.columns is not None:
            WORKSPACE.give(self.columns)
            self.columns = None

    # kernels on one chunk ---------------------------------------------------------------
    def im2col(self, x: np.ndarray, buffers: dict, out=None) -> np.ndarray:
        """Columns ``(b, G, K, L)``: ``cols[n, g, (c, u, v), (i, j)] = x_pad[n, gc + c, s i + d u, s j + d v]``."""
        b, c, h, w = x.shape
        kh, kw = self.w_shape[2:]
        top, bottom, left, right = self.pads
        if top or bottom or left or right or self.extra_rows:
            xp = buffers["padded"][:b]
            xp[:, :, :top] = 0
            xp[:, :, top + h :] = 0
            xp[:, :, top : top + h, :left] = 0
            xp[:, :, top : top + h, left + w :] = 0
            xp[:, :, top : top + h, left : left + w] = x
        else:
            xp = np.ascontiguousarray(x)
        cols = buffers["cols"][:b] if out is None else out
        view = cols.reshape(b, c, kh, kw, self.length)
        if self.wide:
            # all kernel offsets at once: window (u, v) of a channel starts at d_h u Wp + d_w v
            flat = xp.reshape(b, c, -1)
            (dh, dw), item = self.dilation, flat.itemsize
            windows = np.lib.stride_tricks.as_strided(
                flat,
                shape=(b, c, kh, kw, self.length),
                strides=flat.strides[:2] + (dh * self.wp * item, dw * item, item),
                writeable=False,
            )
            np.copyto(view, windows)
        else:
            view = view.reshape(b, c, kh, kw, self.ho, self.wo)
            for u, v, (rows, columns) in self.offsets():
                view[:, :, u, v] = xp[:, :, rows, columns]
        return cols

    def col2im(self, dcols: np.ndarray, buffers: dict, out: np.ndarray) -> None:
        """Adjoint of :meth:`im2col`: add ``dcols (b, G, K, L)`` into a padded image, crop into ``out``."""
        b, c, h, w = out.shape
        kh, kw = self.w_shape[2:]
        top, left = self.pads[0], self.pads[2]
        dxp = buffers["padded"][:b]
        dxp.fill(0)
        view = dcols.reshape(b, c, kh, kw, self.length)
        if self.wide:
            flat = dxp.reshape(b, c, -1)
            for u, v, offset in self.offsets():
                flat[:, :, offset : offset + self.length] += view[:, :, u, v]
        else:
            view = view.reshape(b, c, kh, kw, self.ho, self.wo)
            for u, v, (rows, columns) in self.offsets():
                dxp[:, :, rows, columns] += view[:, :, u, v]
        out[...] = dxp[:, :, top : top + h, left : left + w]

    def col2im_wide(self, margined: np.ndarray, buffers, out: np.ndarray) -> None:
        """col2im of wide-row ``dcols`` as one strided sum over the kernel offsets.

        ``margined (b, G, K, margin + L + after)`` holds dcols between zero margins. Padded
        input position ``q`` (flat per channel) receives ``sum_{u, v} dcols[u, v, q - off_uv]``
        with ``off_uv = d_h u Wp + d_w v``; the index of that term is linear in ``(u, v, q)``,
        so the terms form one strided view ``(b, C, kh, kw, Q)`` (out-of-range ``q - off_uv``
        land in the zero margins) and col2im is ``view.sum(axis=(2, 3))``: a single pass
        instead of ``kh kw`` read-modify-write passes over the padded image.
        """
        b, c, h, w = out.shape
        kh, kw = self.w_shape[2:]
        (dh, dw), top, left = self.dilation, self.pads[0], self.pads[2]
        row, item = margined.shape[-1], margined.itemsize
        q = (self.hp + self.extra_rows) * self.wp
        base = margined.reshape(b, c, kh, kw, row)[:, :, 0, 0, self.margin :]
        terms = np.lib.stride_tricks.as_strided(
            base,
            shape=(b, c, kh, kw, q),
            strides=(
                base.strides[0],
                base.strides[1],
                (kw * row - dh * self.wp) * item,
                (row - dw) * item,
                item,
            ),
            writeable=False,
        )
        dxp = buffers["padded"][:b]
        np.sum(terms, axis=(2, 3), out=dxp.reshape(b, c, q))
        out[...] = dxp[:, :, top : top + h, left : left + w]

    def widen(self, g: np.ndarray, buffers: dict) -> np.ndarray:
        """``g (b, O, Ho, Wo)`` as ``(b, G, O/G, L)``, zero in the discarded wide columns."""
        b, o = g.shape[:2]
        shape = (b, self.groups, o // self.groups, self.length)
        if self.row == self.wo:
            return np.ascontiguousarray(g).reshape(shape)
        wide = buffers["wide"][:b]
        wide[..., : self.wo] = g
        wide[..., self.wo :] = 0
        return wide.reshape(shape)


def conv2d_forward(
    x,
    weight,
    stride=(1, 1),
    pads=(0, 0, 0, 0),
    dilation=(1, 1),
    groups=1,
    out_hw=None,
    bias=None,
    keep_columns=False,
):
    """``conv2d`` of ndarrays: ``(y (N, O, Ho, Wo), plan)``; ``bias (O,)`` optional.

    Chunk by chunk of samples: im2col into a cached buffer, then one batched matmul
    ``W_g @ cols`` written straight into the NCHW output. With wide rows the result is a
    strided view that drops the extra columns (no compaction copy). ``out_hw`` limits the output
    size (conv_transpose2d's backward needs it when ``output_padding`` adds rows that no window
    of the forward reached). With ``keep_columns`` the whole ``(N, G, K, L)`` columns stay in
    ``plan.columns`` for the weight gradient (one im2col buffer of memory instead of
    rebuilding them); :meth:`_Plan.release_columns` gives them back.
    """
    plan = _Plan(x.shape, weight.shape, stride, pads, dilation, groups, out_hw, x.dtype)
    n, o, g = x.shape[0], weight.shape[0], groups
    w3 = weight.reshape(g, o // g, plan.k)
    y = np.empty((n, o, plan.ho, plan.row), dtype=x.dtype)
    buffers = plan.scratch(x.dtype)
    if keep_columns:
        plan.columns = WORKSPACE.take((n, g, plan.k, plan.length), x.dtype)
    for part in plan.chunks():
        kept = None if plan.columns is None else plan.columns[part]
        cols = plan.im2col(x[part], buffers, out=kept)
        np.matmul(w3, cols, out=y[part].reshape(cols.shape[0], g, o // g, plan.length))
        if bias is not None:  # while the chunk is contiguous and in cache
            y[part] += bias[:, None, None]
    buffers.release()
    return (y if plan.row == plan.wo else y[..., : plan.wo]), plan


def conv2d_backward(g, x, weight, plan, input_grad=True, weight_grad=True):
    """``(dL/dx, dL/dW)`` of conv2d from the upstream gradient ``g (N, O, Ho, Wo)``.

    Per chunk: ``dW += sum_n g_n cols_n^T`` (the forward's kept columns, or rebuilt from
    ``x``) and ``dx`` as the transposed convolution ``col2im(W_g^T @ g)``.
    """
    groups, o = plan.groups, plan.w_shape[0]
    dx = np.empty(plan.x_shape, dtype=g.dtype) if input_grad else None
    dw = np.zeros((groups, o // groups, plan.k), dtype=g.dtype) if weight_grad else None
    if input_grad:
        w3t = weight.reshape(groups, o // groups, plan.k).transpose(0, 2, 1)
    buffers = plan.scratch(g.dtype)
    zeroed = False
    for part in plan.chunks():
        g4 = plan.widen(g[part], buffers)
        if weight_grad:
            if plan.columns is not None:
                cols = plan.columns[part]
            else:
                cols = plan.im2col(x[part], buffers)
            dw += np.matmul(g4, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if input_grad and plan.wide:
            # dcols inside zero margins, so that col2im is one strided sum (see col2im_wide)
            margined = buffers["dcols"][: g4.shape[0]]
            if not zeroed:
                margined[..., : plan.margin] = 0
                margined[..., plan.margin + plan.length :] = 0
                zeroed = True
            np.matmul(w3t, g4, out=margined[..., plan.margin : plan.margin + plan.length])
            plan.col2im_wide(margined, buffers, dx[part])
        elif input_grad:
            # the kept columns of this chunk are used up: dcols overwrite them
            target = buffers["cols"][: g4.shape[0]] if plan.columns is None else plan.columns[part]
            dcols = np.matmul(w3t, g4, out=target)
            plan.col2im(dcols, buffers, dx[part])
    buffers.release()
    if input_grad:
        plan.release_columns()  # overwritten by dcols: a later backward rebuilds them
    return dx, (None if dw is None else dw.reshape(plan.w_shape))


def conv2d_input_grad(g, weight, plan):
    """``dL/dx`` of conv2d, i.e. the transposed convolution of ``g`` (conv_transpose2d)."""
    return conv2d_backward(g, None, weight, plan, input_grad=True, weight_grad=False)[0]


def conv2d_weight_grad(g, x, plan):
    """``dL/dW`` of conv2d."""
    return conv2d_backward(g, x, None, plan, input_grad=False, weight_grad=True)[1]


def im2col(x, kernel, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> np.ndarray:
    """Plain im2col ``(N, C, H, W) -> (N, C kh kw, Ho Wo)`` (a copy, for inspection and tests)."""
    plan = _Plan(
        x.shape,
        (1, x.shape[1]) + tuple(kernel),
        tuple(stride),
        pads,
        tuple(dilation),
        1,
        dtype=x.dtype,
    )
    plan.chunk = x.shape[0]
    buffers = plan.scratch(x.dtype)
    cols = plan.im2col(x, buffers)
    n, _, k, _ = cols.shape
    out = cols.reshape(n, k, plan.ho, plan.row)[..., : plan.wo].reshape(n, k, -1).copy()
    buffers.release()
    return out


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
    """2-D cross-correlation (``torch.nn.functional.conv2d``); see the module docstring.

    For stride 1 the result's data is a strided view of a slightly wider array (rows computed
    over the padded width, see ``_Plan``): every NumPy operation handles it, and code that
    needs a contiguous array gets one from ``np.ascontiguousarray``.
    """
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
    bd = None if bias is None else _as(bias.data, dtype)
    keep = is_grad_enabled() and weight.requires_grad
    y, plan = conv2d_forward(xd, wd, stride, pads, dilation, groups, bias=bd, keep_columns=keep)

    def backward(g):
        g = np.asarray(g, dtype=dtype)
        gx, gw = conv2d_backward(g, xd, wd, plan, x.requires_grad, weight.requires_grad)
        plan.release_columns()  # a second backward through this graph rebuilds them
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
