"""The t-SNE repulsion summed over all pairs, in single precision: the fast path for small maps.

For the Cauchy kernel ``w_ij = 1 / (1 + |y_i - y_j|^2)`` the repulsive forces and the
normaliser are

    F_i = sum_j w_ij^2 (y_i - y_j),        Z = sum_{i != j} w_ij.

Both are symmetric in ``(i, j)``, so each pair is computed once: the rows are cut into blocks
of ``block`` rows, and block ``I`` meets only the columns from its own first row on. A block
of weights is one thin matrix product and one reciprocal: with coordinates ``a = y - c``
centred on the block's mean ``c``,

    1 + |a_i - a_j|^2 = [1, a_i, 1 + |a_i|^2] . [|a_j|^2, -2 a_j, 1],

a product with ``d + 2`` terms (the form of ``sklearn.metrics.euclidean_distances``: one
pass over the block, where the per-dimension differences take ``3 d + 2``). The same
charges then give the sums, one matrix-vector product per charge: the rows get
``a_i rowsum(W2) - W2 a`` from ``[-2 a, 1]``, the columns after the block's own
``a_j colsum(W2) - W2^T a_I`` from ``[1, a_I]``; the block's own square is taken whole from
the row side. The passes run in float32 on buffers reused from call to call (a fresh block
per call costs page faults worth more than the arithmetic); the blocks' contributions are
added in float64.

The product form loses ``u (|a_i| + |a_j|)^2`` to rounding (``u`` the unit round-off), which
is small next to ``1 + |a_i - a_j|^2`` only if the block's own points lie close to its
centre: the points are ordered into spatial tiles first (strips of the first coordinate cut
along the second), so a block of 256 points of a map 100 units wide spans about 30 units. A
block whose bound ``u (8 r^2 + 2)`` (``r`` its radius) exceeds 1e-3, or whose squares would
overflow, is computed from the differences instead, and so is float64 (see
:data:`_PRODUCT_DTYPES`). The float32 sums lose about ``u |a_i| sum_j w_ij^2``: the size of
the terms they add, not of their net. Relative error against float64 throughout, on the
digits' map (1,437 points, 100 units wide): 1e-7 for ``Z``, 1e-4 of the largest force (3e-5
in norm), where the per-dimension differences had 2e-4 (9e-5); ten tight clusters: 3e-4 (7e-5)
against 2.6e-4 (9e-5). Both far below the FFT interpolation's 1e-3, which adds its charges
the same way. A map whose net forces are far smaller than those terms loses more: two sites
of 128 identical points each, 57 units apart, get forces wrong by half (the net force is
5e-4, the terms of each point's own site add to 3,600), and a tile at the product's bound
can have weights off by 1e-3 (``Z`` by 1e-4). ``dtype=np.float64`` is exact to round-off.

On 1,437 points (one thread) this takes about 4 ms a call (the per-dimension differences
with a GEMM per side took 6.4 ms), where the FFT-interpolated repulsion takes 12-21 ms
while the map is small and 22-29 ms once it is 80 units wide; :func:`pairs_are_cheaper` is
the measured cost model that chooses between the two. A second thread takes 20% off
(3.4 ms), less than the attractive term it would displace, so t-SNE runs the pairs on one
thread and the attractive term on the other.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import wait

import numpy as np

from .._threads import LazyPool

__all__ = ["repulsive_forces_pairs", "pairs_are_cheaper", "repulsion_to_reference"]

#: rows per block: 256 rows x N columns of float32 (N = 1,500: 1.5 MB, in the L3 cache);
#: 128 rows took 25% longer (4.9 against 3.9 ms for 1,437 points: twice the per-block work)
_BLOCK_ROWS = 256
#: measured seconds per point pair (N^2, both triangles counted) of repulsive_forces_pairs,
#: and per ``T * L^2 * log2 L`` of a whole FFT-interpolated repulsion (T charge grids of L^2
#: nodes: spreading, kernel spectrum, convolution, gathering), one thread, idle machine: 300,
#: 1,437 and 3,000 points took 0.64, 3.9 and 12 ms by pairs (7.1e-9, 1.9e-9, 1.3e-9 a pair,
#: the small map paying for the per-block work); grids with L = 300, 480 and 900 took 12-21,
#: 22-29 and 92-101 ms (2.7e-9 to 7.1e-9, the most at small L)
_SECONDS_PER_PAIR = 2.0e-9
#: at most this many elements in a block of weights (fewer rows for a long map): the block
#: and its scratch stay in memory for the thread's life (32 MB in float64)
_MAX_BLOCK_ELEMENTS = 1 << 22
_SECONDS_PER_FFT_UNIT = 4.0e-9

_workspace = threading.local()
#: per dtype: the unit round-off, and a bound on the squared coordinates past which the
#: charges' product could overflow
_LIMITS = {
    np.dtype(t): (float(np.finfo(t).eps) / 2, float(np.finfo(t).max) / 16)
    for t in (np.float32, np.float64)
}
#: the dtypes whose weights come from the charges' product: OpenBLAS 0.3.31's dgemm with 2-8
#: inner terms ran at 1.3 ms for a 128 x 1,437 block on the 2-core machine (0.04 GFLOP/s,
#: 14x its sgemm, twice the per-dimension differences), so float64 takes the differences
_PRODUCT_DTYPES = frozenset({np.dtype(np.float32)})
_POOL = LazyPool("verigrad-tsne-pairs")


def pairs_are_cheaper(n: int, fft_length: int, n_grids: int, workers: int = 1) -> bool:
    """Whether summing the ``n^2`` pairs on ``workers`` threads costs less than ``n_grids``
    FFT convolutions of length ``fft_length`` per axis (a 2-D grid) on one."""
    pairs = _SECONDS_PER_PAIR * n * n / max(1, workers)
    grid = _SECONDS_PER_FFT_UNIT * n_grids * fft_length**2 * math.log2(max(fft_length, 2))
    return pairs <= grid


def _scratch(name: str, shape, dtype) -> np.ndarray:
    """A scratch array of ``shape`` and ``dtype`` owned by this thread, carved from a buffer
    kept between calls (grown when a larger one is asked for)."""
    size = math.prod(shape)
    held = getattr(_workspace, "held", None)
    if held is None:
        held = _workspace.held = {}
    buffer = held.get((name, dtype))
    if buffer is None or buffer.size < size:
        buffer = held[name, dtype] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


def spatial_order(Y, block: int) -> np.ndarray:
    """A permutation of the rows of ``Y`` ``(N, d)`` whose consecutive runs of ``block`` rows
    are compact tiles: sorted by the first coordinate into strips of about ``sqrt(N / block)``
    blocks each, every strip sorted by the second coordinate (one dimension: sorted)."""
    n = Y.shape[0]
    order = np.argsort(Y[:, 0], kind="stable")
    if Y.shape[1] == 1 or n <= block:
        return order
    strip = block * math.ceil(math.sqrt(math.ceil(n / block)))
    for s in range(0, n, strip):
        part = order[s : s + strip]
        order[s : s + strip] = part[np.argsort(Y[part, 1], kind="stable")]
    return order


def repulsive_forces_pairs(Y, block: int = _BLOCK_ROWS, dtype=np.float32, workers: int = 1):
    """``(F, Z)`` for the embedding ``Y`` ``(N, d)`` (any ``d``): ``F`` ``(N, d)`` float64 with
    ``F_i = sum_j w_ij^2 (y_i - y_j)``, and ``Z = sum_{i != j} w_ij``, every pair summed.

    ``dtype`` of the block passes and products: float32 (the default) is about twice as fast
    as float64, with a relative error of about 1e-7 in ``Z`` and 1e-4 of the largest force
    (see the module docstring; the FFT interpolation's is about 1e-3); float64 is exact to
    round-off. The blocks' contributions are summed in float64 either way. ``workers``
    threads share the row blocks (split into equal amounts of pairs); the result does not
    depend on how many.
    """
    Y = np.asarray(Y, dtype=np.float64)
    n, dim = Y.shape
    dtype = np.dtype(dtype)
    block = max(1, min(n, int(block), _MAX_BLOCK_ELEMENTS // max(n, 1)))
    order = spatial_order(Y, block)
    coords = np.ascontiguousarray(Y[order].T)  # (d, N), in tile order
    starts = list(range(0, n, block))
    groups = _split_by_work(starts, block, n, max(1, int(workers)))
    pending = []
    if len(groups) > 1:
        pool = _POOL.get(len(groups) - 1)
        pending = [pool.submit(_sum_blocks, coords, group, block, dtype) for group in groups[1:]]
    try:
        parts = _sum_blocks(coords, groups[0], block, dtype)
    finally:
        wait(pending)  # never leave a thread working on arrays the caller may change
    for job in pending:
        parts.extend(job.result())
    forces, z = np.zeros((dim, n)), 0.0
    for start, more_forces, more_z in parts:  # in block order, however they were computed
        forces[:, start:] += more_forces
        z += more_z
    out = np.empty((n, dim))
    out[order] = forces.T
    return out, z


def _split_by_work(starts, block, n, workers):
    """The block starts cut into at most ``workers`` consecutive groups with about equal
    numbers of pairs (block ``s`` holds ``rows * (n - s)``)."""
    work = np.array([(min(n, s + block) - s) * (n - s) for s in starts], dtype=np.float64)
    bounds = np.searchsorted(np.cumsum(work), work.sum() * np.arange(1, workers) / workers)
    edges = sorted({0, len(starts), *(min(int(b) + 1, len(starts)) for b in bounds)})
    return [starts[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _sum_blocks(coords, starts, block, dtype):
    """Per block of rows beginning at ``starts``, its contribution ``(start, forces (d, N -
    start), z)`` (see the module docstring): kept apart so that the caller sums them in
    block order, and the result is the same bit for bit however the blocks were shared among
    threads."""
    with np.errstate(over="ignore"):  # a squared distance past the range: weight 0, its limit
        return [
            _one_block(coords, start, min(coords.shape[1], start + block), dtype)
            for start in starts
        ]


def _charges(ours, theirs, dtype):
    """The block's rows ``ours`` ``(d, rows)`` and columns ``theirs`` ``(d, width)`` (float64)
    centred on the rows' mean: ``(a, b, left, right, by_product)`` with ``a``, ``b`` the centred
    coordinates (float64), ``left = [1, a, 1 + |a|^2]`` ``(d + 2, rows)`` and
    ``right = [|b|^2, -2 b, 1]`` ``(d + 2, width)`` in ``dtype`` (thread-owned scratch), so
    that ``left^T right`` is ``1 + |a_i - b_j|^2``; ``by_product`` is False when that product
    would lose more than 1e-3 of it to rounding or overflow (see the module docstring), and
    in float64 (:data:`_PRODUCT_DTYPES`)."""
    dim, rows = ours.shape
    width = theirs.shape[1]
    centre = ours.sum(axis=1, keepdims=True)
    centre /= rows
    a, b = ours - centre, theirs - centre
    left = _scratch("left", (dim + 2, rows), dtype)
    right = _scratch("right", (dim + 2, width), dtype)
    squares = _scratch("squares", (width,), np.float64)
    own = _scratch("own", (rows,), np.float64)
    np.multiply(b[0], b[0], out=squares)
    np.multiply(a[0], a[0], out=own)
    for k in range(1, dim):
        squares += b[k] * b[k]
        own += a[k] * a[k]
    left[0] = 1.0
    left[1 : dim + 1] = a
    np.add(own, 1.0, out=left[dim + 1])
    right[0] = squares
    np.multiply(b, -2.0, out=right[1 : dim + 1])
    right[dim + 1] = 1.0
    eps, largest = _LIMITS[dtype]
    by_product = (
        dtype in _PRODUCT_DTYPES
        and eps * (8.0 * float(own.max()) + 2.0) <= 1e-3
        and float(squares.max()) < largest
    )
    return a, b, left, right, by_product


def _weights(w, a, b, left, right, by_product):
    """``w = 1 / (1 + |a_i - b_j|^2)`` ``(rows, width)``: one product of the charges, or
    (``by_product`` False) from the per-dimension differences."""
    if by_product:
        np.matmul(left.T, right, out=w)
    else:
        ours, theirs = a.astype(w.dtype), b.astype(w.dtype)
        np.subtract(ours[0][:, None], theirs[0][None, :], out=w)
        np.multiply(w, w, out=w)
        if a.shape[0] > 1:
            d = _scratch("differences", w.shape, w.dtype)
        for k in range(1, a.shape[0]):
            np.subtract(ours[k][:, None], theirs[k][None, :], out=d)
            w += np.multiply(d, d, out=d)
        w += 1.0
    return np.reciprocal(w, out=w)


def _one_block(coords, start, stop, dtype):
    """The contribution of the rows ``start:stop`` against the columns from ``start`` on: the
    block's own square from the row side, the columns after it from both sides."""
    rows = stop - start
    a, b, left, right, by_product = _charges(coords[:, start:stop], coords[:, start:], dtype)
    dim, width = b.shape
    w = _weights(_scratch("weights", (rows, width), dtype), a, b, left, right, by_product)
    w.reshape(-1)[: rows * (width + 1) : width + 1] = 0.0  # no self-interaction
    # matrix-vector products: a GEMM this thin would first copy the whole block into its
    # panels (measured 1.5-2x slower than one product per charge)
    sums = np.matmul(_ones(rows, dtype), w, out=_scratch("sums", (width,), dtype))
    z = float(sums[:rows].sum(dtype=np.float64)) + 2.0 * float(sums[rows:].sum(dtype=np.float64))
    np.multiply(w, w, out=w)
    by_row = _scratch("by_row", (dim + 1, rows), dtype)
    for k in range(dim + 1):  # -2 sum_j w^2 b_j, then sum_j w^2
        np.matmul(w, right[k + 1], out=by_row[k])
    # the coordinates as the products saw them (rounded to dtype): a point's own term and
    # its duplicates' then cancel exactly (float64 coordinates left u |a| sum w^2 behind)
    forces = np.empty((dim, width))
    np.multiply(left[1 : dim + 1], by_row[dim], out=forces[:, :rows], dtype=np.float64)
    forces[:, :rows] += 0.5 * by_row[:dim]
    if width > rows:
        by_column = _scratch("by_column", (dim + 1, width - rows), dtype)
        for k in range(dim + 1):  # sum_i w^2, then sum_i w^2 a_i
            np.matmul(left[k], w[:, rows:], out=by_column[k])
        rest = forces[:, rows:]
        np.multiply(right[1 : dim + 1, rows:], by_column[0], out=rest, dtype=np.float64)
        rest *= -0.5  # right holds -2 b
        rest -= by_column[1:]
    return start, forces, z


def _ones(size, dtype):
    """A thread-owned vector of ``size`` ones."""
    ones = _scratch("ones", (size,), dtype)
    ones.fill(1.0)
    return ones


def repulsion_to_reference(Y, reference, block: int = _BLOCK_ROWS, dtype=np.float64):
    """For new points ``Y`` ``(m, d)`` against a fixed map ``reference`` ``(N, d)``
    (``TSNE.transform``): ``(F, z)`` with ``F_i = sum_j w_ij^2 (y_i - r_j)`` ``(m, d)`` and
    ``z_i = sum_j w_ij`` ``(m,)``, float64, every pair summed in blocks of ``block`` rows
    (spatial tiles of ``Y``, each centred on its mean; fewer rows when ``block * N`` would
    pass :data:`_MAX_BLOCK_ELEMENTS`) with ``dtype`` passes as :func:`repulsive_forces_pairs`.

    float64 by default: a new point placed on a training point has its own term
    ``w^2 = 1`` in each sum, which float32 would keep only to ``u |a_i|`` against a net force
    that may be far smaller (36% off on the worst row of such a test at map width 100)."""
    Y = np.asarray(Y, dtype=np.float64)
    m, dim = Y.shape
    dtype = np.dtype(dtype)
    n = reference.shape[0]
    block = max(1, min(m, int(block), _MAX_BLOCK_ELEMENTS // max(n, 1)))
    order = spatial_order(Y, block)
    ours_all = np.ascontiguousarray(Y[order].T)
    theirs = np.ascontiguousarray(np.asarray(reference, dtype=np.float64).T)
    forces = np.empty((m, dim))
    z = np.empty(m)
    with np.errstate(over="ignore"):  # a squared distance past the range: weight 0
        for start in range(0, m, block):
            mine = order[start : start + block]
            rows = len(mine)
            a, b, left, right, by_product = _charges(
                ours_all[:, start : start + rows], theirs, dtype
            )
            w = _weights(_scratch("weights", (rows, n), dtype), a, b, left, right, by_product)
            z[mine] = np.matmul(w, _ones(n, dtype), out=_scratch("sums", (rows,), dtype))
            np.multiply(w, w, out=w)
            by_row = _scratch("by_row", (dim + 1, rows), dtype)
            for k in range(dim + 1):  # -2 sum_j w^2 b_j, then sum_j w^2
                np.matmul(w, right[k + 1], out=by_row[k])
            mine_forces = left[1 : dim + 1].astype(np.float64) * by_row[dim]
            forces[mine] = (mine_forces + 0.5 * by_row[:dim]).T
    return forces, z
