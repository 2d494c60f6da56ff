"""The t-SNE repulsion summed over all pairs, in single precision: the fast path for small maps.

For the Cauchy kernel ``w_ij = 1 / (1 + |y_i - y_j|^2)`` the repulsive forces and the
normaliser are

    F_i = sum_j w_ij^2 (y_i - y_j),        Z = sum_{i != j} w_ij.

Both are symmetric in ``(i, j)``, so each pair is computed once: the rows are cut into blocks
of ``block`` rows, and block ``I`` meets only the columns from its own first row on (the upper
triangle). A block of squared weights ``W2`` then adds ``y_I rowsum(W2) - W2 y`` to the forces
of its rows and ``y colsum(W2) - W2^T y_I`` to those of its columns; the sums and the
weighted positions come from one product each with the charges ``[1, y]``. The passes run in
float32 on buffers reused from call to call (a fresh block per call costs page faults worth
more than the arithmetic); the blocks' contributions are added in float64. Relative error
against float64 throughout: about 1e-6 for ``Z`` and 5e-5 for the forces of a map 80 units
wide, far below the FFT interpolation's (about 1e-3).

On 1,437 points (one thread) this takes about 7.5-9 ms a call (float64: 13.5 ms), where the
FFT-interpolated repulsion takes 12-21 ms while the map is small and 22-29 ms once it is 80
units wide;
:func:`pairs_are_cheaper` is the measured cost model that chooses between the two. A second
thread gained nothing on the 2-core machine (the blocks' passes are bound by memory, not by
arithmetic), so t-SNE runs the pairs on one thread and the attractive term on the other.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import wait

import numpy as np

from .._threads import LazyPool

__all__ = ["repulsive_forces_pairs", "pairs_are_cheaper", "repulsion_to_reference"]

#: rows per block: 128 rows x N columns of float32 (N = 1,500: 750 KB, about the L2 cache)
_BLOCK_ROWS = 128
#: measured seconds per point pair (N^2, both triangles counted) of repulsive_forces_pairs,
#: and per ``T * L^2 * log2 L`` of a whole FFT-interpolated repulsion (T charge grids of L^2
#: nodes: spreading, kernel spectrum, convolution, gathering), one thread, idle machine: 1,437
#: and 3,000 points took 8.9 and 31.6 ms by pairs (4.6e-9, 3.6e-9); grids with L = 300, 480
#: and 900 took 12-21, 22-29 and 92-101 ms (2.7e-9 to 7.1e-9, the most at small L)
_SECONDS_PER_PAIR = 4.0e-9
_SECONDS_PER_FFT_UNIT = 4.0e-9

_workspace = threading.local()
_POOL = LazyPool("verigrad-tsne-pairs")


def pairs_are_cheaper(n: int, fft_length: int, n_grids: int, workers: int = 1) -> bool:
    """Whether summing the ``n^2`` pairs on ``workers`` threads costs less than ``n_grids``
    FFT convolutions of length ``fft_length`` per axis (a 2-D grid) on one."""
    pairs = _SECONDS_PER_PAIR * n * n / max(1, workers)
    grid = _SECONDS_PER_FFT_UNIT * n_grids * fft_length**2 * math.log2(max(fft_length, 2))
    return pairs <= grid


def _buffers(size: int, dtype):
    """Two scratch vectors of at least ``size`` elements, owned by this thread."""
    key = "buffers_" + np.dtype(dtype).name
    held = getattr(_workspace, key, None)
    if held is None or held[0].size < size:
        held = (np.empty(size, dtype=dtype), np.empty(size, dtype=dtype))
        setattr(_workspace, key, held)
    return held


def _strict_upper(b: int, dtype) -> np.ndarray:
    """``(b, b)`` mask of ``dtype``, 1 above the diagonal, 0 on and below it (cached per size
    and dtype)."""
    masks = getattr(_workspace, "masks", None)
    if masks is None:
        masks = _workspace.masks = {}
    mask = masks.get((b, dtype))
    if mask is None:
        mask = masks[b, dtype] = np.triu(np.ones((b, b), dtype=dtype), k=1)
    return mask


def repulsive_forces_pairs(Y, block: int = _BLOCK_ROWS, dtype=np.float32, workers: int = 1):
    """``(F, Z)`` for the embedding ``Y`` ``(N, d)`` (any ``d``): ``F`` ``(N, d)`` float64 with
    ``F_i = sum_j w_ij^2 (y_i - y_j)``, and ``Z = sum_{i != j} w_ij``, every pair summed.

    ``dtype`` of the elementwise passes and the block products: float32 (the default) is
    about 1.8x faster than float64, with a relative error of about 1e-6 in ``Z`` and 5e-5 in
    the forces (the FFT interpolation's is about 1e-3); float64 is exact to round-off. The
    blocks' contributions are summed in float64 either way. ``workers`` threads share the row
    blocks (split into equal amounts of pairs); the result does not depend on how many.
    """
    n, dim = Y.shape
    Yf = np.ascontiguousarray(Y, dtype=dtype)
    columns = [np.ascontiguousarray(Yf[:, k]) for k in range(dim)]
    charges = np.concatenate([np.ones((n, 1), dtype=Yf.dtype), Yf], axis=1)
    block = max(1, min(n, int(block)))
    starts = list(range(0, n, block))
    groups = _split_by_work(starts, block, n, max(1, int(workers)))
    pending = []
    if len(groups) > 1:
        pool = _POOL.get(len(groups) - 1)
        pending = [
            pool.submit(_sum_blocks, Yf, charges, columns, group, block) for group in groups[1:]
        ]
    try:
        parts = _sum_blocks(Yf, charges, columns, groups[0], block)
    finally:
        wait(pending)  # never leave a thread working on arrays the caller may change
    for job in pending:
        parts.extend(job.result())
    forces, z = np.zeros((n, dim)), 0.0
    for start, more_forces, more_z in parts:  # in block order, however they were computed
        forces[start:] += more_forces
        z += more_z
    return forces, z


def _split_by_work(starts, block, n, workers):
    """The block starts cut into at most ``workers`` consecutive groups with about equal
    numbers of pairs (block ``s`` holds ``rows * (n - s)``)."""
    work = np.array([(min(n, s + block) - s) * (n - s) for s in starts], dtype=np.float64)
    bounds = np.searchsorted(np.cumsum(work), work.sum() * np.arange(1, workers) / workers)
    edges = sorted({0, len(starts), *(min(int(b) + 1, len(starts)) for b in bounds)})
    return [starts[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _sum_blocks(Yf, charges, columns, starts, block):
    """Per block of rows beginning at ``starts``, its contribution ``(forces, z)`` (see the
    module docstring): kept apart so that the caller sums them in block order, and the result
    is the same bit for bit however the blocks were shared among threads."""
    n, dim = Yf.shape
    weights, scratch = _buffers(block * n, Yf.dtype)
    with np.errstate(over="ignore"):  # a squared distance past the range: weight 0, its limit
        return [
            _one_block(Yf, charges, columns, start, block, weights, scratch) for start in starts
        ]


def _cauchy_weights(w, d, rows, columns):
    """``w = 1 / (1 + |r_i - c_j|^2)`` into ``w`` ``(len(r), len(c))``, with ``d`` of the same
    shape as scratch; ``rows`` and ``columns`` are lists of per-dimension coordinate vectors."""
    np.subtract(rows[0][:, None], columns[0][None, :], out=w)
    np.multiply(w, w, out=w)
    for r, c in zip(rows[1:], columns[1:], strict=True):
        np.subtract(r[:, None], c[None, :], out=d)
        np.multiply(d, d, out=d)
        w += d
    w += 1.0
    np.reciprocal(w, out=w)
    return w


def _one_block(Yf, charges, columns, start, block, weights, scratch):
    """The contribution of the rows ``start:start + block`` against the columns from
    ``start`` on, computed in the scratch vectors ``weights`` and ``scratch``; ``charges`` is
    ``[1, Y]`` ``(N, 1 + d)``."""
    n, dim = Yf.shape
    forces = np.zeros((n - start, dim))  # the block touches the rows from start on
    stop = min(n, start + block)
    rows, width = stop - start, n - start
    w = _cauchy_weights(
        weights[: rows * width].reshape(rows, width),
        scratch[: rows * width].reshape(rows, width),
        [c[start:stop] for c in columns],
        [c[start:] for c in columns],
    )
    w[:, :rows] *= _strict_upper(rows, Yf.dtype)  # each pair once, no self-interaction
    z = 2.0 * float(w.sum())  # pairwise summation: float32 keeps Z to about 1e-7
    np.multiply(w, w, out=w)
    # one GEMM per side gives both the weight sums and the weighted positions: [1, y] columns
    by_row = w @ charges[start:]  # (rows, 1 + d)
    by_column = charges[start:stop].T @ w  # (1 + d, width)
    own, tail = Yf[start:stop], Yf[start:]
    forces[:rows] += own * by_row[:, :1]
    forces[:rows] -= by_row[:, 1:]
    forces += tail * by_column[0][:, None]
    forces -= by_column[1:].T
    return start, forces, z


def repulsion_to_reference(Y, reference, block: int = _BLOCK_ROWS, dtype=np.float32):
    """For new points ``Y`` ``(m, d)`` against a fixed map ``reference`` ``(N, d)``
    (``TSNE.transform``): ``(F, z)`` with ``F_i = sum_j w_ij^2 (y_i - r_j)`` ``(m, d)`` and
    ``z_i = sum_j w_ij`` ``(m,)``, float64, every pair summed in blocks of ``block`` rows with
    ``dtype`` passes as :func:`repulsive_forces_pairs` (float32: about 5e-5 relative)."""
    m, dim = Y.shape
    n = reference.shape[0]
    Yf = np.ascontiguousarray(Y, dtype=dtype)
    ref = np.ascontiguousarray(reference, dtype=dtype)
    ref_columns = [np.ascontiguousarray(ref[:, k]) for k in range(dim)]
    new_columns = [np.ascontiguousarray(Yf[:, k]) for k in range(dim)]
    charges = np.concatenate([np.ones((n, 1), dtype=dtype), ref], axis=1)
    block = max(1, min(m, int(block)))
    weights, scratch = _buffers(block * n, np.dtype(dtype))
    forces = np.empty((m, dim))
    z = np.empty(m)
    with np.errstate(over="ignore"):  # a squared distance past the range: weight 0
        for start in range(0, m, block):
            stop = min(m, start + block)
            rows = stop - start
            w = _cauchy_weights(
                weights[: rows * n].reshape(rows, n),
                scratch[: rows * n].reshape(rows, n),
                [c[start:stop] for c in new_columns],
                ref_columns,
            )
            z[start:stop] = w.sum(axis=1)
            np.multiply(w, w, out=w)
            by_row = w @ charges  # (rows, 1 + d): sum_j w^2 and sum_j w^2 r_j
            forces[start:stop] = Yf[start:stop] * by_row[:, :1]
            forces[start:stop] -= by_row[:, 1:]
    return forces, z
