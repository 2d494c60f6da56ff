"""Max-selection kernels of the pooling ops: window maxima with the chosen offsets, and the
routing of gradients to the chosen entries.

Two layouts (see :mod:`verigrad.functional.pool` for the policies, which both follow):

* disjoint windows (``stride >= kernel``, e.g. 2x2/2): one strided view of the padded input
  per kernel offset; the gradient is written straight into its views;
* overlapping windows (e.g. 3x3/2) with more than :data:`SMALL_OUTPUT` outputs: the
  stride-phase planes of :mod:`verigrad.functional._planes`, where every offset is a
  contiguous shift, processed block by block in cache; the gradient is added into planes
  that are then interleaved back.

Smaller overlapping cases use the strided views too, and route their gradient with one
``np.bincount`` (:func:`route`), as stochastic pooling does.

The 2x2 stride-2 window without padding or dilation (the training models' pooling) has its
own kernel, :func:`max_2x2_forward` / :func:`max_2x2_backward`: four strided maxima taken in
pairs, and three boolean masks for the backward pass; outputs, masks and gradients come from
the workspace (no fresh pages in a training loop). :func:`max_forward_views` with
:func:`route` is its plain reference and the tests hold one to the other.
"""

from __future__ import annotations

import numpy as np

from ._parallel import run_split
from ._planes import PhasePlanes
from ._workspace import WORKSPACE

__all__ = [
    "BLOCK",
    "SMALL_OUTPUT",
    "max_forward",
    "max_forward_views",
    "max_backward",
    "max_2x2_forward",
    "max_2x2_backward",
    "route",
]


#: outputs up to which overlapping windows also take the strided-view path: below it the
#: planes' fixed costs (splitting, merging, bookkeeping) outweigh their faster passes
#: (measured crossover between 8K and 16K outputs for 3x3/2 on 2 cores)
SMALL_OUTPUT = 1 << 13

#: wide entries per block of the max kernels: the block's slices of the planes, maxima, index
#: and mask (about 7 arrays) fit in a 2 MiB L2 cache
BLOCK = 1 << 15


def _index_dtype(n_offsets: int):
    return np.int8 if n_offsets < 128 else np.int16


def _max_step(best, view, k, index=None, mask=None, scratch=None) -> None:
    """Fold kernel offset ``k`` (``view``) into the running maximum ``best`` and, with
    ``index``, into the chosen offset. Offsets come in increasing order, so the offset of the
    last strict increase of the running maximum is that of the first maximal entry."""
    if index is not None:
        np.greater(view, best, out=mask)
        np.multiply(mask, index.dtype.type(k), out=scratch)
        np.maximum(index, scratch, out=index)
    np.maximum(best, view, out=best)  # propagates NaN


def _route_nans(best, index, views) -> None:
    """Windows whose maximum is NaN choose their last NaN entry, as torch."""
    nan_out = np.isnan(best)
    if nan_out.any():
        for k, view in views:
            np.copyto(index, k, where=nan_out & np.isnan(view))


def max_forward(xd, geo, need_index):
    """Window maxima and, if asked, the offset index of the chosen entry (int8/int16).

    Works on the phase planes of :class:`PhasePlanes`, one block of :data:`BLOCK` wide
    entries at a time (so the planes' block, the maxima and the index stay in cache across
    the kernel offsets). Returns ``out`` ``(N, C, Ho, Wo)`` and what the backward needs: the
    index in the planes' flat wide layout, and the layout.
    """
    layout = PhasePlanes(xd.shape, geo.kernel, geo.stride, geo.padding, geo.dilation, geo.out_hw)
    planes = layout.split(xd, -np.inf)
    (_, key0, shift0), *rest = layout.offsets
    best = layout.take(xd.dtype, layout.length)
    index = mask = scratch = None
    index_b = mask_b = scratch_b = None
    if need_index:
        index = np.zeros(layout.length, dtype=_index_dtype(len(layout.offsets)))
        mask = layout.take(bool, BLOCK)
        scratch = layout.take(index.dtype, BLOCK)
    for start in range(0, layout.length, BLOCK):
        stop = min(start + BLOCK, layout.length)
        best_b = best[start:stop]
        np.copyto(best_b, planes[key0][start + shift0 : stop + shift0])
        if need_index:
            index_b, mask_b, scratch_b = (
                index[start:stop],
                mask[: stop - start],
                scratch[: stop - start],
            )
        for k, key, shift in rest:
            view = planes[key][start + shift : stop + shift]
            _max_step(best_b, view, k, index_b, mask_b, scratch_b)
    if need_index:
        _route_nans(
            best,
            index,
            ((k, layout.window(planes, key, shift)) for k, key, shift in layout.offsets),
        )
        layout.release(mask, scratch)
    out = layout.crop(best)
    layout.release(planes, best)
    return out, (index, layout)


def max_forward_views(xd, geo, need_index):
    """Maxima and (if asked) the offset index of the chosen entry, int8/int16, on strided views.

    Each kernel offset is a strided view of the padded input, with no copy into planes: the
    path for disjoint windows, and for small outputs (:data:`SMALL_OUTPUT`) of any geometry.
    """
    xp = geo.padded(xd, -np.inf)
    views = geo.views(xp)
    _, first = next(views)
    best = np.array(first, copy=True)
    index = mask = scratch = None
    if need_index:
        index = np.zeros(best.shape, dtype=_index_dtype(geo.kernel[0] * geo.kernel[1]))
        mask = np.empty(best.shape, dtype=bool)
        scratch = np.empty_like(index)
    for k, view in views:
        _max_step(best, view, k, index, mask, scratch)
    if need_index:
        _route_nans(best, index, geo.views(xp))
    return best, index


def _select_finite(g, mask, out):
    np.multiply(g, mask, out=out)


def _select_exact(g, mask, out):
    out.fill(0)
    np.copyto(out, g, where=mask)


def _selector(g):
    """``out = g where mask else 0``: a product with the mask when ``g`` is finite (5-10x
    faster than a masked copy on a random mask), a masked copy otherwise (``inf * 0`` would
    put NaN where no gradient belongs)."""
    return _select_finite if np.isfinite(g).all() else _select_exact


def max_backward(g, found):
    """Gradient of max pooling: ``g`` goes to the chosen offset of each window.

    For each kernel offset, ``g`` masked to the windows that chose it (see :func:`_selector`)
    is added into the gradient's phase plane at that offset's shift (contiguous 1-D
    operations, block by block), then the planes are interleaved back.
    """
    index, layout = found
    select = _selector(g)
    wide = layout.widen(g)
    planes = layout.zeros(g.dtype)
    mask = layout.take(bool, BLOCK)
    part = layout.take(g.dtype, BLOCK)
    for start in range(0, layout.length, BLOCK):
        stop = min(start + BLOCK, layout.length)
        index_b, wide_b = index[start:stop], wide[start:stop]
        mask_b, part_b = mask[: stop - start], part[: stop - start]
        for k, key, shift in layout.offsets:
            np.equal(index_b, index.dtype.type(k), out=mask_b)
            select(wide_b, mask_b, part_b)
            planes[key][start + shift : stop + shift] += part_b
    gx = layout.merge(planes, g.dtype)
    layout.release(wide, mask, part, planes)
    return gx


def route(g, index, geo, shape):
    """Gradient of a selection: ``g`` goes to offset ``index`` of each window.

    Disjoint windows: one masked product per kernel offset, written straight into the
    gradient. Overlapping windows: one ``bincount`` over the flat input position of every
    selected entry (sums the contributions of windows sharing an entry in a single pass).
    """
    if not geo.disjoint:
        return _route_overlapping(g, index, geo, shape)
    mask = np.empty(index.shape, dtype=bool)
    select = _selector(g)

    def part(k, out):
        np.equal(index, index.dtype.type(k), out=mask)
        select(g, mask, out)

    return geo.scatter(part, shape, g.dtype)


def _route_overlapping(g, index, geo, shape):
    n, c = shape[:2]
    (ph, pw), (ah, aw) = geo.padding, geo.after
    hp, wp = ph + shape[2] + ah, pw + shape[3] + aw
    kw, (sh, sw), (dh, dw) = geo.kernel[1], geo.stride, geo.dilation
    ho, wo = geo.out_hw
    u, v = np.divmod(index.astype(np.int64), kw)
    flat = u * (dh * wp) + v * dw
    flat += (np.arange(ho) * (sh * wp))[:, None] + np.arange(wo) * sw
    flat += (np.arange(n * c, dtype=np.int64) * (hp * wp)).reshape(n, c, 1, 1)
    total = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * c * hp * wp)
    gxp = total.reshape(n, c, hp, wp)[:, :, ph : ph + shape[2], pw : pw + shape[3]]
    return gxp.astype(g.dtype)


# --------------------------------------------------------------------------- 2x2 stride 2
def _quarters(x, out_hw):
    """The four strided views ``x[:, :, u::2, v::2]`` cropped to ``out_hw``, row-major."""
    ho, wo = out_hw
    return [x[:, :, u : u + 2 * ho : 2, v : v + 2 * wo : 2] for u in (0, 1) for v in (0, 1)]


def max_2x2_forward(xd, out_hw, need_masks):
    """2x2 stride-2 max pooling of ``xd (N, C, H, W)`` (floor mode): ``(out, masks)``.

    With ``a, b, c, d`` the window's entries in row-major order::

        right  = b > a          top = max(a, b)
        lower  = d > c          bottom = max(c, d)
        down   = bottom > top   out = max(top, bottom)

    The strict comparisons send a tie to the first maximal entry (torch's rule). ``np.maximum``
    propagates NaN; a window holding NaN sends its gradient to its last NaN (as torch), which
    the masks get from a fix-up pass run only when the output holds NaN. ``masks`` is
    ``(right, lower, down)`` (bool, output-sized) when ``need_masks``, else None.

    Layout: the results follow ``xd``'s. A channel-major input (the NCHW view of a
    ``(C, N, H, W)`` array, as conv2d returns) gives channel-major outputs and masks (NCHW
    views again), so every pass reads and writes in memory order; the work is then split over
    channels instead of samples.
    """
    n, c = xd.shape[:2]
    ho, wo = out_hw
    a, b, cc, d = _quarters(xd, out_hw)
    take, axis = _layout_of(xd)
    out = take((n, c, ho, wo), xd.dtype)
    bottom = take((n, c, ho, wo), xd.dtype)
    at = _slicer(axis)
    if not need_masks:

        def work(p):
            np.maximum(a[at(p)], b[at(p)], out=out[at(p)])
            np.maximum(cc[at(p)], d[at(p)], out=bottom[at(p)])
            np.maximum(out[at(p)], bottom[at(p)], out=out[at(p)])

        run_split(xd.shape[axis], work, xd.size)
        return out, None
    right, lower, down = (take((n, c, ho, wo), np.bool_) for _ in range(3))

    def work(p):  # over the outer axis in memory (both cores)
        p = at(p)
        np.greater(b[p], a[p], out=right[p])
        np.maximum(a[p], b[p], out=out[p])
        np.greater(d[p], cc[p], out=lower[p])
        np.maximum(cc[p], d[p], out=bottom[p])
        np.greater(bottom[p], out[p], out=down[p])
        np.maximum(out[p], bottom[p], out=out[p])

    run_split(xd.shape[axis], work, xd.size)
    if np.isnan(np.add.reduce(out, axis=None)):  # a NaN somewhere (or inf - inf): fix up
        nan_out = np.isnan(out)
        if nan_out.any():
            nan_b, nan_c, nan_d = np.isnan(b), np.isnan(cc), np.isnan(d)
            right[nan_out] = nan_b[nan_out]
            lower[nan_out] = nan_d[nan_out]
            down[nan_out] = (nan_c | nan_d)[nan_out]
    return out, (right, lower, down)


def max_2x2_backward(g, masks, x_shape):
    """Gradient of :func:`max_2x2_forward`: ``g`` to the chosen entry of each window.

    Written straight into the four strided views of the gradient (a zero row/column where
    ``H``/``W`` is odd and no window reached it)."""
    right, lower, down = masks
    out_hw = g.shape[2:]
    take, axis = _layout_of(right)  # the forward's layout
    at = _slicer(axis)
    if axis != _layout_of(g)[1]:  # one copy of g into that layout: the passes below then
        g = _in_layout(g, take)  # read and write in memory order (3x faster on LeNet-5)
    gx = take(x_shape, g.dtype)
    ho, wo = out_hw
    if x_shape[2] > 2 * ho:
        gx[:, :, 2 * ho :] = 0
    if x_shape[3] > 2 * wo:
        gx[:, :, :, 2 * wo :] = 0
    ga, gb, gc, gd = _quarters(gx, out_hw)
    upper = take(g.shape, np.bool_)
    choose = take(g.shape, np.bool_)
    select = _selector(g)

    def work(p):  # over the outer axis in memory (both cores)
        p = at(p)
        np.logical_not(down[p], out=upper[p])
        # (view, row chosen, column chosen within the row, whether the column is the second)
        for view, row, column, second in (
            (ga, upper, right, False),
            (gb, upper, right, True),
            (gc, down, lower, False),
            (gd, down, lower, True),
        ):
            if second:
                np.logical_and(row[p], column[p], out=choose[p])
            else:
                np.greater(row[p], column[p], out=choose[p])  # row and not column
            select(g[p], choose[p], view[p])

    run_split(g.shape[axis], work, gx.size)
    return gx


def _channel_major(x) -> bool:
    """Whether ``x (N, C, H, W)`` is laid out channel-major: the NCHW view of a ``(C, N, H,
    W')`` array (``W' >= W``: conv2d's wide rows are cropped), channels outermost."""
    return x.shape[0] > 1 and x.shape[1] > 1 and x.strides[1] > x.strides[0] > 0


def _layout_of(x):
    """``(take, axis)``: a workspace allocator of NCHW-shaped arrays in ``x``'s layout
    (channel-major or C-contiguous NCHW) and the outer axis in memory (1 or 0)."""
    if not _channel_major(x):
        return WORKSPACE.take, 0

    def take(shape, dtype):
        n, c = shape[:2]
        return WORKSPACE.take((c, n) + tuple(shape[2:]), dtype).transpose(1, 0, 2, 3)

    return take, 1


def _in_layout(a, take):
    out = take(a.shape, a.dtype)
    np.copyto(out, a)
    return out


def _slicer(axis):
    if axis == 0:
        return lambda p: p
    return lambda p: (slice(None), p)
