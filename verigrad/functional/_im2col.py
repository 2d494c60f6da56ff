"""im2col convolution kernels on ndarrays: ``conv2d_forward``, ``conv2d_backward`` and friends.

Used by :func:`verigrad.functional.conv2d` for every layer Winograd does not take, and by
``conv_transpose2d`` (whose forward is conv2d's input gradient). Padding is
``(top, bottom, left, right)``; shapes as in :mod:`verigrad.functional.conv`.

Algorithm (details in ``_Plan``), chunk by chunk of samples: ``im2col`` copies the windows of
the padded input into channel-major columns ``cols (G, K, b L)`` (``K = C/G kh kw`` rows, one
column per sample and output pixel); then each pass is one 2-D BLAS matmul per group:

* forward ``Y_g = W_g @ cols``, written into an O-major scratch, then copied to NCHW ``y``
  with the bias added in the same pass;
* ``dW_g += (cols @ G_g^T)^T`` with the forward's columns, kept when a weight gradient will be
  needed (one im2col buffer) and otherwise rebuilt;
* ``dx`` as the *transposed convolution* of ``g``: ``dcols = W_g^T @ G_g``, then ``col2im``
  adds the ``kh kw`` slices of ``dcols`` into ``dx`` at their kernel offsets: one add of a
  contiguous shifted slice per offset for stride 1, of strided views otherwise; never a loop
  over windows;
* ``db = sum_{n, i, j} g``.

Few, large BLAS calls matter: many small multi-threaded calls stall whenever a core is shared.

Threads (opt-in, ``_parallel.SPLIT_GEMMS``; off by default because it measured slower on
LeNet-5 at 2 threads): with ``T`` threads (``VERIGRAD_NUM_THREADS``) the batch is cut into at least ``T``
chunks and the chunks run on ``T`` threads, each with its own scratch, im2col, GEMMs and
col2im, BLAS held to one thread meanwhile (:func:`~verigrad.functional._parallel.run_split_gemm`):
the small-output-row GEMMs of a LeNet-5 layer (6 or 16 rows) gain little from OpenBLAS's own
threads, and concurrent multi-threaded OpenBLAS calls take turns. The weight gradient is one
term per chunk, summed in chunk order. The chunks follow the thread count, so ``T`` threads
agree with one to float rounding, not bit for bit (the GEMMs' column blocks and the weight
gradient's sum change); a given thread count always gives the same bits. With one thread (or without ``threadpoolctl``) the
chunks run in turn and the memory-bound passes inside each are split over channels instead.

Every large array comes from :data:`WORKSPACE` (see :mod:`verigrad.functional._workspace`).
The tests hold these kernels to a plain loop over output pixels.
"""

from __future__ import annotations

import numpy as np

from ._parallel import gemm_threads, run_split, run_split_gemm
from ._workspace import WORKSPACE

__all__ = [
    "CHUNK_BYTES",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_weight_grad",
    "conv2d_input_grad",
    "im2col",
]


# --------------------------------------------------------------------------- ndarray kernels
#: bytes of scratch per chunk of samples. Each pass over a chunk is a single 2-D BLAS call per
#: group, so chunks are large: few calls keep BLAS threads busy (many small calls stall when
#: a core is shared) while bounding the scratch of very large batches. 8 MiB ran as fast as
#: 16 MiB on the benchmark cases and took conv2d case 2's peak from 2.8x to 2.05x its im2col
#: buffer (the input gradient's columns are per chunk; the forward's are kept whole).
CHUNK_BYTES = 1 << 23



def _out_size(size, before, after, kernel, stride, dilation) -> int:
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


class _Scratch:
    """Chunk-sized buffers taken from the workspace on first use; ``release`` drops them.

    ``padded`` is tagged by its geometry and keeps a permanently zero border (see
    :mod:`verigrad.functional._workspace`): calls write only its interior.
    """

    def __init__(self, dtype, shapes: dict, pad_tag=None):
        self.dtype, self.shapes, self.taken, self.pad_tag = dtype, shapes, {}, pad_tag

    def __getitem__(self, name) -> np.ndarray:
        if name not in self.taken:
            if name == "padded":
                tag = ("conv-pad",) + self.pad_tag
                self.taken[name] = WORKSPACE.take(self.shapes[name], self.dtype, tag, zero=True)
            else:
                self.taken[name] = WORKSPACE.take(self.shapes[name], self.dtype)
        return self.taken[name]

    def release(self) -> None:
        WORKSPACE.give(*self.taken.values())
        self.taken = {}


class _Plan:
    """Geometry and column layout of one convolution, processed in chunks of samples.

    Columns are *channel-major*: ``cols (G, K, b L)`` with ``K = C/G kh kw`` rows and one
    column per (sample, output pixel), so that each pass is one 2-D matmul per group::

        forward   Y (G, O/G, b L)  = W_g @ cols          (Y is the output, O-major)
        dW        dW_g            += G_g @ cols^T
        dx        dcols (G, K, b Q) = W_g^T @ G_g, then col2im

    For stride 1 the rows are *wide*: an output row is computed over the full padded width
    ``Wp`` (``L = Ho Wp``) so that, for each kernel offset, the windows of a channel are one
    contiguous slice of the flattened padded input (``offset = d_h u Wp + d_w v``) and im2col
    is a single copy from a strided view; the ``Wp - Wo`` extra columns are discarded (their
    gradient is 0). The input gradient uses *super-wide* rows (``Q = (Hp + 1) Wp``, the whole
    flattened padded channel, zero gradient past ``Ho``): the terms of one kernel offset, for
    every channel and sample, are then one contiguous slice of ``dcols`` shifted back by the
    offset, so col2im is ``kh kw`` contiguous adds into a channel-major accumulator
    (out-of-range terms land on zeros). That costs a second copy of ``g``, so it is used only
    when ``dcols`` has more rows than ``g`` (``G K > O``); otherwise ``dcols`` keeps rows of
    ``L`` per sample and col2im adds ``(C, b, L)`` blocks at each offset's shift (a first
    layer with C = 1, say). For stride > 1 ``L = Ho Wo``, and im2col/col2im
    loop over the ``kh kw`` kernel offsets with strided views.
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
        # one extra zero row: the last flat window slice runs d_w (kw - 1) past the last row
        self.extra_rows = 1 if self.wide else 0
        self.k = cg * kh * kw
        self.length = self.ho * self.row
        self.flat = (self.hp + self.extra_rows) * self.wp  # Q: a flattened padded channel
        self.margin = dilation[0] * (kh - 1) * self.wp + dilation[1] * (kw - 1)
        # the input gradient's super-wide layout costs a second copy of g (O rows) to make the
        # adds over dcols (G K rows) contiguous: worth it only when dcols has more rows, and
        # when a flat channel is not much longer than the output rows (a valid 5x5 layer on
        # 14x14, LeNet-5's second, has Q = 1.5 L: its dcols GEMM and adds grow by half, and
        # plain rows ran its fwd+bwd 8% faster; padded 3x3 layers, Q <= 1.25 L, ran even)
        self.super_wide = self.wide and groups * self.k > o and 4 * self.flat <= 5 * self.length
        self.columns = None  # the forward's columns (G, K, N L), when kept for the backward
        itemsize = np.dtype(dtype or np.float64).itemsize
        per_sample = itemsize * max(
            c * kh * kw * max(self.length, self.flat if self.wide else 0),
            o * max(self.length, self.flat),
        )
        # at least one chunk per thread: the chunks run on separate threads, each with its own
        # im2col, single-threaded GEMMs and layout passes (see ``run_split_gemm``)
        parts = gemm_threads(n)
        self.chunk = int(max(1, min(-(-n // parts), CHUNK_BYTES // per_sample)))

    def chunks(self):
        """Slices of samples, as equal as possible (a small last chunk makes slow matmuls)."""
        n = self.x_shape[0]
        if n == 0:  # an empty batch: nothing to compute (the results are empty or zero)
            return
        count = -(-n // self.chunk)
        bounds = [round(i * n / count) for i in range(count + 1)]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            yield slice(start, stop)

    def offsets(self):
        """``(u, v, rows, columns)`` slices of each kernel offset's window view, row-major."""
        kh, kw = self.w_shape[2:]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for u in range(kh):
            for v in range(kw):
                yield (
                    u,
                    v,
                    (
                        slice(u * dh, u * dh + sh * (self.ho - 1) + 1, sh),
                        slice(v * dw, v * dw + sw * (self.wo - 1) + 1, sw),
                    ),
                )

    def scratch(self, dtype) -> _Scratch:
        b, c, o = self.chunk, self.x_shape[1], self.w_shape[0]
        q = self.flat if self.super_wide else self.length
        padded = (b, c, self.hp + self.extra_rows, self.wp)
        return _Scratch(
            dtype,
            {
                "cols": (self.groups, self.k, b * self.length),
                "padded": padded,
                "accumulator": padded,
                "g": (o, b, self.ho, self.row),
                "g_flat": (o, b, q),
                "dcols": (self.margin + self.groups * self.k * b * q,),
            },
            pad_tag=(padded, self.pads),
        )

    def release_columns(self) -> None:
        if self.columns is not None:
            WORKSPACE.give(self.columns)
            self.columns = None

    # kernels on one chunk ---------------------------------------------------------------
    def pad(self, x: np.ndarray, buffers, channels=slice(None)) -> np.ndarray:
        """The padded input (all channels), its interior written for ``channels`` only."""
        b, c, h, w = x.shape
        top, bottom, left, right = self.pads
        if not (top or bottom or left or right or self.extra_rows) and x.flags.c_contiguous:
            return x
        xp = buffers["padded"][:b]  # its border is permanently zero: write the interior only
        xp[:, channels, top : top + h, left : left + w] = x[:, channels]
        return xp

    def im2col(self, x: np.ndarray, out: np.ndarray, buffers) -> None:
        """``out (G, K, b L)[g, (c, u, v), (n, i, j)] = x_pad[n, gc + c, s i + d u, s j + d v]``."""
        b, c = x.shape[:2]
        kh, kw = self.w_shape[2:]
        if self.wide:  # one copy from a strided view, split over channels (both cores)
            target = out.reshape(c, kh, kw, b, self.length)

            def work(part):
                flat = self.pad(x, buffers, part).reshape(b, c, -1)
                (dh, dw), item = self.dilation, flat.itemsize
                windows = np.lib.stride_tricks.as_strided(
                    flat,
                    shape=(c, kh, kw, b, self.length),
                    strides=(
                        flat.strides[1],
                        dh * self.wp * item,
                        dw * item,
                        flat.strides[0],
                        item,
                    ),
                    writeable=False,
                )
                np.copyto(target[part], windows[part])

            run_split(c, work, out.size)
        else:
            xp = self.pad(x, buffers)
            view = out.reshape(c, kh, kw, b, self.ho, self.wo)
            for u, v, (rows, columns) in self.offsets():
                view[:, u, v] = xp[:, :, rows, columns].transpose(1, 0, 2, 3)

    def gradient_rows(self, g: np.ndarray, buffers, need_rows: bool, need_flat: bool) -> tuple:
        """``g (b, O, Ho, Wo)`` O-major, zero where no output was kept.

        Returns ``(rows (G, O/G, b L), flat (G, O/G, b Q))`` (each None unless asked): rows for
        the weight gradient, super-wide ``flat`` rows for the input gradient. The transposing
        copy from ``g`` is made once; the other layout is a plain row copy of it.
        """
        b, o = g.shape[:2]
        shape = (self.groups, o // self.groups, -1)
        rows = buffers["g"][:, :b] if need_rows else None
        flat = buffers["g_flat"][:, :b] if need_flat and self.super_wide else None
        if flat is not None:
            flat.reshape(o, b, -1)[:, :, self.length :] = 0
            target = flat[:, :, : self.length].reshape(o, b, self.ho, self.row)
        else:
            target = rows if rows is not None else buffers["g"][:, :b]
            if need_flat:  # not super-wide: the input gradient uses the plain rows
                flat = target

        def work(part):
            target[part, ..., : self.wo] = g[:, part].transpose(1, 0, 2, 3)
            target[part, ..., self.wo :] = 0

        run_split(o, work, target.size)
        if rows is not None and flat is not None and rows is not flat:
            rows.reshape(o, b, self.length)[...] = flat.reshape(o, b, -1)[:, :, : self.length]
        return (
            None if rows is None else rows.reshape(shape),
            None if flat is None else flat.reshape(shape),
        )

    def col2im(self, dcols_flat: np.ndarray, b: int, buffers, out: np.ndarray) -> None:
        """Adjoint of :meth:`im2col` into ``out (b, C, H, W)``; see the class docstring."""
        c, h, w = self.x_shape[1:]
        kh, kw = self.w_shape[2:]
        (dh, dw), top, left = self.dilation, self.pads[0], self.pads[2]
        dxp = buffers["accumulator"][:b]
        if self.wide:
            # channel-major accumulation (C, b, Q), one add per kernel offset at its shift;
            # split over channels (both cores)
            acc = dxp.reshape(c, b, self.flat)

            def work(part):
                if self.super_wide:  # every channel's terms: one contiguous slice of dcols
                    size, flat_acc = c * kh * kw * b * self.flat, acc.reshape(c, -1)
                    for u in range(kh):
                        for v in range(kw):
                            start = self.margin - (u * dh * self.wp + v * dw)
                            terms = dcols_flat[start : start + size].reshape(c, kh * kw, -1)
                            if u == v == 0:
                                np.copyto(flat_acc[part], terms[part, 0])
                            else:
                                flat_acc[part] += terms[part, u * kw + v]
                else:  # rows of L per sample: (C, b, L) blocks
                    length = self.length
                    terms = dcols_flat[self.margin :][: c * kh * kw * b * length]
                    terms = terms.reshape(c, kh * kw, b, length)
                    acc[part, :, length:] = 0
                    for u in range(kh):
                        for v in range(kw):
                            shift = u * dh * self.wp + v * dw
                            if u == v == 0:
                                np.copyto(acc[part, :, :length], terms[part, 0])
                            else:
                                acc[part, :, shift : shift + length] += terms[part, u * kw + v]
                out[:, part] = (
                    acc[part]
                    .reshape(-1, b, self.hp + 1, self.wp)[:, :, top : top + h, left : left + w]
                    .transpose(1, 0, 2, 3)
                )

            run_split(c, work, acc.size)
            return
        dxp.fill(0)
        view = dcols_flat[self.margin :][: c * kh * kw * b * self.length]
        view = view.reshape(c, kh, kw, b, self.ho, self.wo)
        for u, v, (rows, columns) in self.offsets():
            dxp[:, :, rows, columns] += view[:, u, v].transpose(1, 0, 2, 3)
        out[...] = dxp[:, :, top : top + h, left : left + w]


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
    contiguous=True,
):
    """``conv2d`` of ndarrays: ``(y (N, O, Ho, Wo), plan)``; ``bias (O,)`` optional.

    With ``contiguous=False`` ``y`` is instead the NCHW view of the channel-major GEMM output
    ``(O, N, Ho, row)`` with the bias added in place, chunk by chunk while each chunk's output
    is in cache: no copy (the layout the next layer's kernels read equally well).

    Per chunk of samples (chunks on separate threads, see the module docstring): im2col, then
    one matmul per group written straight into an O-major scratch ``(O, N, Ho, row)``; with
    ``contiguous`` one pass then writes its transposed (and, for wide rows, cropped) view into
    the C-contiguous ``y`` and adds the bias (the bias add is folded into that copy). ``y`` comes from the workspace: it is reused only once nothing refers to it.
    ``out_hw`` limits the output size (conv_transpose2d's backward needs it when
    ``output_padding`` adds rows that no window of the forward reached). With
    ``keep_columns`` the whole ``(G, K, N L)`` columns stay in ``plan.columns`` for the weight
    gradient (one im2col buffer of memory instead of rebuilding them).
    """
    plan = _Plan(x.shape, weight.shape, stride, pads, dilation, groups, out_hw, x.dtype)
    n, o, g = x.shape[0], weight.shape[0], groups
    w3 = weight.reshape(g, o // g, plan.k)
    y = WORKSPACE.take((o, n, plan.ho, plan.row), x.dtype)  # O-major GEMM output (scratch)
    y_flat = y.reshape(o, n * plan.length)
    if keep_columns:
        plan.columns = WORKSPACE.take((g, plan.k, n * plan.length), x.dtype)
    chunks = list(plan.chunks())
    add_bias = bias is not None and not contiguous

    def work(span):  # a run of chunks: one thread's share of the samples
        buffers = plan.scratch(x.dtype)
        for part in chunks[span]:
            lo, hi = part.start * plan.length, part.stop * plan.length
            if plan.columns is None:
                cols = buffers["cols"][:, :, : hi - lo]
            else:
                cols = plan.columns[:, :, lo:hi]
            plan.im2col(x[part], cols, buffers)
            out = y_flat[:, lo:hi]
            np.matmul(w3, cols, out=out.reshape(g, o // g, -1))
            if add_bias:  # while the chunk's output is in cache
                out += bias[:, None]
        buffers.release()

    run_split_gemm(len(chunks), work)
    view = y.transpose(1, 0, 2, 3)[..., : plan.wo]
    if not contiguous:  # the channel-major result as an NCHW view: no copy
        return view, plan
    # one pass makes the C-contiguous NCHW result (cropping wide rows) and adds the bias
    result = WORKSPACE.take((n, o, plan.ho, plan.wo), x.dtype)

    def work(part):  # split over output channels (both cores)
        if bias is None:
            np.copyto(result[:, part], view[:, part])
        else:
            np.add(view[:, part], bias[part, None, None], out=result[:, part])

    run_split(o, work, result.size)
    return result, plan


def conv2d_backward(g, x, weight, plan, input_grad=True, weight_grad=True):
    """``(dL/dx, dL/dW)`` of conv2d from the upstream gradient ``g (N, O, Ho, Wo)``.

    Per chunk (chunks on separate threads, see the module docstring), one matmul per group for
    each: ``dW_g += G_g cols^T`` (the forward's kept
    columns, or rebuilt from ``x``) and ``dcols = W_g^T G_g`` followed by col2im (the
    transposed convolution of ``g``). Gives back ``plan.columns``.
    """
    groups, o = plan.groups, plan.w_shape[0]
    dx = WORKSPACE.take(plan.x_shape, g.dtype) if input_grad else None
    chunks = list(plan.chunks())
    # one weight-gradient term per chunk, summed in chunk order below: the same bits whether
    # the chunks run on one thread or several
    terms = WORKSPACE.take((len(chunks), groups, plan.k, o // groups), g.dtype) if weight_grad else None
    if input_grad:
        w3t = weight.reshape(groups, o // groups, plan.k).transpose(0, 2, 1)

    def work(span):  # a run of chunks: one thread's share of the samples
        buffers = plan.scratch(g.dtype)
        if input_grad:
            dcols_flat = buffers["dcols"]
            dcols_flat[: plan.margin] = 0  # col2im reads up to `margin` before the first row
        for index in range(span.start, span.stop):
            part = chunks[index]
            b, lo, hi = part.stop - part.start, part.start * plan.length, part.stop * plan.length
            rows, flat = plan.gradient_rows(g[part], buffers, weight_grad, input_grad)
            if weight_grad:
                if plan.columns is not None:
                    cols = plan.columns[:, :, lo:hi]
                else:
                    cols = buffers["cols"][:, :, : hi - lo]
                    plan.im2col(x[part], cols, buffers)
                # as (cols G^T)^T: OpenBLAS threads split a tall-by-short product far better
                # than a short-by-tall one with a long inner dimension (4-10x, shared cores)
                np.matmul(cols, rows.transpose(0, 2, 1), out=terms[index])
            if input_grad:
                size = groups * plan.k * flat.shape[-1]
                dcols = dcols_flat[plan.margin : plan.margin + size].reshape(groups, plan.k, -1)
                np.matmul(w3t, flat, out=dcols)
                plan.col2im(dcols_flat[: plan.margin + size], b, buffers, dx[part])
        buffers.release()

    run_split_gemm(len(chunks), work)
    dw = None
    if weight_grad:
        dw = np.zeros((groups, o // groups, plan.k), dtype=g.dtype)
        for term in terms:
            dw += term.transpose(0, 2, 1)
        dw = dw.reshape(plan.w_shape)
    plan.release_columns()
    return dx, dw


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
    n = x.shape[0]
    plan.chunk = n
    buffers = plan.scratch(x.dtype)
    cols = buffers["cols"]
    plan.im2col(x, cols, buffers)
    out = cols.reshape(plan.k, n, plan.ho, plan.row)[..., : plan.wo].transpose(1, 0, 2, 3)
    out = out.reshape(n, plan.k, -1).copy()
    buffers.release()
    return out
