"""t-SNE objectives: the KL divergence and its gradient, exact and FFT-accelerated.

With input affinities ``P`` (symmetric, summing to 1) and an embedding ``Y`` of shape
``(N, d)``, t-SNE minimises ``KL(P || Q) = sum_{i != j} p_ij log(p_ij / q_ij)`` where
``q_ij = w_ij / Z``, ``w_ij = (1 + |y_i - y_j|^2 / nu)^(-(nu + 1) / 2)`` (Student-t with
``nu`` degrees of freedom, ``nu = 1`` the Cauchy kernel) and ``Z = sum_{k != l} w_kl``. Its
gradient (van der Maaten & Hinton 2008) is

    dKL/dy_i = (2 (nu + 1) / nu) sum_j (p_ij - q_ij) u_ij (y_i - y_j),
    u_ij = (1 + |y_i - y_j|^2 / nu)^-1,

the *attractive* part ``sum_j p_ij u_ij (y_i - y_j)`` and the *repulsive* part
``sum_j w_ij u_ij (y_i - y_j) / Z``. Early exaggeration multiplies only the attractive
part by ``alpha``. Every objective here returns ``(kl, grad)`` with ``grad`` the gradient
above (the factor ``2 (nu + 1) / nu`` included, so 4 for the Cauchy kernel: the same scale as
scikit-learn, four times openTSNE's).

* :func:`kl_gradient_exact`: all pairs, ``O(N^2)`` time, rows processed in chunks so memory
  stays ``O(chunk * N)``; distances and the two sums are BLAS products.
* :func:`kl_gradient_fft`: ``P`` sparse (CSR), ``nu = 1``, ``d in {1, 2}``. The attractive part
  runs over the nonzeros of ``P``; the repulsive part and ``Z`` come from FFT-accelerated
  polynomial interpolation (Linderman et al. 2019, "Fast interpolation-based t-SNE", as in
  FIt-SNE and openTSNE): the embedding's bounding box is cut into ``n_boxes`` equal boxes per
  dimension (``max(min_num_intervals, span / ints_in_interval)``), each with
  ``n_interpolation_points`` equispaced Lagrange nodes; every point spreads its charges
  ``(1, y, |y|^2)`` to the nodes of its box, the squared kernel ``(1 + r^2)^-2`` between all
  nodes is applied as a convolution by zero-padded real FFTs, and the potentials are
  interpolated back. From ``phi_0 = sum_j w_ij^2``, ``phi_y = sum_j w_ij^2 y_j`` and
  ``phi_|y|^2`` follow ``sum_j w_ij = (1 + |y_i|^2) phi_0 - 2 y_i . phi_y + phi_|y|^2`` and
  ``sum_j w_ij^2 (y_i - y_j) = y_i phi_0 - phi_y``. The KL is openTSNE's estimate:
  ``sum_nnz p_ij log(p_ij / (w_ij + eps) + eps) + (sum p) log(Z_fft + eps)``.
  A 2-D embedding whose pairs cost less than the grid (a measured cost model, see
  :mod:`verigrad.manifold.pairwise`; up to about 4,000 points once the map has spread) has
  its repulsion summed over all pairs instead: cheaper there, and accurate to single
  precision (1e-4 of the largest force, the grid's is about 1e-3).
"""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import wait
from typing import NamedTuple

import numpy as np
import scipy.fft
import scipy.sparse as sp

from .._checks import ParameterError, check_finite, check_number
from .._threads import LazyPool
from .pairwise import pairs_are_cheaper, repulsion_to_reference, repulsive_forces_pairs

__all__ = [
    "kl_divergence",
    "kl_gradient_exact",
    "kl_gradient_fft",
    "attractive_forces",
    "repulsive_forces_fft",
    "repulsive_forces_direct",
    "neighbor_pairs",
    "NeighborPairs",
    "kl_gradient_partial",
]

EPSILON = np.finfo(np.float64).eps
#: elements of one (rows x N) block in the all-pairs loops (512 KB of float64 per temporary:
#: the block's passes stay in the L2 cache and its buffers come from the heap, not fresh pages;
#: 2**21 took twice as long for TSNE.transform of 360 points into 1,437)
_BLOCK_ELEMENTS = 2**16
#: pairs per chunk of the attractive term (its temporaries stay in the L2 cache)
_PAIR_CHUNK = 2**15


def _row_blocks(n: int, rows: int):
    rows = max(1, min(n, rows))
    for start in range(0, n, rows):
        yield start, min(n, start + rows)


def _kernel_blocks(Y, dof: float = 1.0):
    """The row-block pairwise loop of the all-pairs methods: yields ``(start, stop, u)`` with
    ``u = (1 + |y_i - y_j|^2 / dof)^-1`` of shape ``(stop - start, N)``, zero on the diagonal
    (no self-interaction). Distances are BLAS products; memory stays ``O(block * N)``. ``u``
    is the caller's to overwrite."""
    norms = np.einsum("ij,ij->i", Y, Y)
    for start, stop in _row_blocks(Y.shape[0], _BLOCK_ELEMENTS // max(1, Y.shape[0])):
        u = Y[start:stop] @ Y.T
        u *= -2
        u += norms[None, :]
        u += norms[start:stop, None]
        np.maximum(u, 0, out=u)
        if dof != 1.0:
            u /= dof
        u += 1.0
        np.reciprocal(u, out=u)
        local = np.arange(stop - start)
        u[local, local + start] = 0.0
        yield start, stop, u


def _weighted_differences(Y, start, stop, weights):
    """``sum_j weights_ij (y_i - y_j)`` for the rows ``start:stop`` (``weights`` a row block)."""
    return Y[start:stop] * weights.sum(axis=1)[:, None] - weights @ Y


def _check_shapes(P, Y):
    """``Y`` as a 2-D float64 array; ``P`` must be ``(N, N)`` for ``Y``'s ``N`` rows."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2:
        raise ParameterError("Y", f"expected a 2-D embedding (N, d), got shape {Y.shape}")
    shape = getattr(P, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ParameterError("P", f"expected a square (N, N) matrix, got shape {shape}")
    if shape[0] != Y.shape[0]:
        raise ParameterError(
            "Y", f"expected {shape[0]} rows to match P of shape {tuple(shape)}, got shape {Y.shape}"
        )
    return check_finite(Y, "Y")


def _dense_rows(P, start, stop):
    block = P[start:stop]
    return block.toarray() if sp.issparse(block) else np.asarray(block, dtype=np.float64)


def kl_gradient_exact(P, Y, exaggeration: float = 1.0, dof: float = 1.0, compute_kl: bool = True):
    """Exact KL divergence and gradient over all ``N^2`` pairs.

    Parameters
    ----------
    P : array (N, N) (or sparse), symmetric, zero diagonal, summing to 1.
    Y : array (N, d), any ``d``.
    exaggeration : multiplies the attractive term of the gradient only.
    dof : Student-t degrees of freedom ``nu`` (scikit-learn uses ``max(d - 1, 1)``).
    compute_kl : if False, ``kl`` is returned as ``nan`` (saves a log per pair).

    Returns
    -------
    (kl, grad) : ``KL(P || Q)`` for the given (unexaggerated) ``P`` and ``grad`` of shape
    ``(N, d)``. ``p log p`` uses ``max(p, eps)`` inside the log, as scikit-learn does.
    ``ValueError`` (naming ``P`` or ``Y``) if their shapes do not match or ``Y`` holds NaN or
    infinite values.
    """
    Y = _check_shapes(P, Y)
    attractive = np.zeros_like(Y)
    repulsive = np.zeros_like(Y)
    z = 0.0
    p_log_p = p_log_w = 0.0
    power = (dof + 1.0) / 2.0
    for start, stop, u in _kernel_blocks(Y, dof):
        w = u if dof == 1.0 else u**power
        z += w.sum()
        p = _dense_rows(P, start, stop)
        if compute_kl:
            positive = p > 0
            p_log_p += float(np.sum(p[positive] * np.log(np.maximum(p[positive], EPSILON))))
            p_log_w += float(power * np.sum(p[positive] * np.log(u[positive])))
        attractive[start:stop] = _weighted_differences(Y, start, stop, p * u)
        repulsion = w * u if dof != 1.0 else np.square(u, out=u)
        repulsive[start:stop] = _weighted_differences(Y, start, stop, repulsion)
    scale = 2.0 * (dof + 1.0) / dof
    grad = attractive
    grad *= exaggeration * scale
    grad -= (scale / z) * repulsive
    kl = np.nan
    if compute_kl:
        sum_p = float(P.sum())
        kl = p_log_p - p_log_w + sum_p * np.log(z)
    return kl, grad


def kl_divergence(P, Y, dof: float = 1.0) -> float:
    """The exact ``KL(P || Q)`` of embedding ``Y`` ``(N, d)`` for affinities ``P`` (dense or
    sparse), computed over all pairs in chunks (``O(N^2)`` time, bounded memory). ``P`` must
    be ``(N, N)`` and ``dof > 0``, else ``ValueError`` naming the argument."""
    _check_shapes(P, Y)
    dof = check_number(dof, "dof", low=0, low_open=True)
    return float(kl_gradient_exact(P, Y, dof=dof, compute_kl=True)[0])


class NeighborPairs(NamedTuple):
    """The strict upper triangle of a symmetric sparse ``P``, prepared once per fit:
    ``upper`` (CSR), and per stored pair its ``rows`` and ``cols`` (``i < j``)."""

    upper: sp.csr_matrix
    rows: np.ndarray
    cols: np.ndarray


def neighbor_pairs(P) -> NeighborPairs:
    """Index the pairs ``i < j`` of a symmetric sparse ``P`` (diagonal ignored)."""
    upper = sp.triu(sp.csr_matrix(P), k=1, format="csr")
    upper.sum_duplicates()
    upper.sort_indices()
    rows = np.repeat(np.arange(upper.shape[0], dtype=np.intp), np.diff(upper.indptr))
    return NeighborPairs(upper, rows, upper.indices.astype(np.intp))


def attractive_forces(P, Y, pairs: NeighborPairs | None = None, compute_kl: bool = False):
    """``sum_j p_ij w_ij (y_i - y_j)`` over the nonzeros of a symmetric sparse ``P``, with the
    Cauchy kernel ``w_ij = 1 / (1 + |y_i - y_j|^2)``.

    Each pair is visited once (upper triangle, in cache-sized chunks) to form
    ``a_ij = p_ij w_ij``; with ``A`` symmetric, ``forces = y * (A 1) - A Y`` is one sparse
    product with ``[1, Y]`` for each triangle. ``pairs`` (from :func:`neighbor_pairs`) skips
    re-indexing ``P``. Returns ``(forces (N, d), sum_p, sum p log(p / (w + eps) + eps))``, the
    last two over all ordered pairs and only when ``compute_kl`` (else ``nan``).
    """
    if pairs is None:
        pairs = neighbor_pairs(P)
    upper, rows, cols = pairs
    p = upper.data
    n, dim = Y.shape
    columns = [np.ascontiguousarray(Y[:, k]) for k in range(dim)]
    weight = np.empty_like(p)
    for start in range(0, p.size, _PAIR_CHUNK):
        stop = min(p.size, start + _PAIR_CHUNK)
        r, c = rows[start:stop], cols[start:stop]
        denominator = None
        for y in columns:
            diff = y.take(r)
            diff -= y.take(c)
            diff *= diff
            if denominator is None:
                denominator = diff
            else:
                denominator += diff
        denominator += 1.0
        np.divide(p[start:stop], denominator, out=weight[start:stop])
    A = sp.csr_matrix((weight, upper.indices, upper.indptr), shape=upper.shape)
    charges = np.empty((n, dim + 1))
    charges[:, 0] = 1.0
    charges[:, 1:] = Y
    sums = A @ charges
    sums += A.T @ charges
    forces = Y * sums[:, :1]
    forces -= sums[:, 1:]
    sum_p = kl_part = np.nan
    if compute_kl:
        positive = p > 0
        w = weight[positive] / p[positive]
        q = p[positive]
        sum_p = 2.0 * float(p.sum())
        kl_part = 2.0 * float(np.sum(q * np.log(q / (w + EPSILON) + EPSILON)))
    return forces, sum_p, kl_part


def _lagrange_weights(t: np.ndarray, n_points: int) -> np.ndarray:
    """Lagrange basis values at positions ``t`` in [0, 1] for the equispaced nodes
    ``(k + 1/2) / n_points``; shape ``t.shape + (n_points,)``."""
    nodes = (np.arange(n_points) + 0.5) / n_points
    out = np.empty(t.shape + (n_points,))
    for k in range(n_points):
        value = np.ones_like(t)
        for m in range(n_points):
            if m != k:
                value *= (t - nodes[m]) / (nodes[k] - nodes[m])
        out[..., k] = value
    return out


def _fft_friendly(n: int) -> bool:
    """``n = 2^a 3^b 5^c 7^d 11^e 13^f`` with ``e + f <= 1`` (sizes FFT libraries like)."""
    rare = 0
    for factor in (11, 13):
        while n % factor == 0:
            n //= factor
            rare += 1
    for factor in (2, 3, 5, 7):
        while n % factor == 0:
            n //= factor
    return n == 1 and rare <= 1


#: box counts per dimension, as FIt-SNE/openTSNE round them (20 .. 1000, FFT friendly)
_BOX_COUNTS = np.array([n for n in range(20, 1001) if _fft_friendly(n)])


def _n_boxes(span: float, min_num_intervals: int, ints_in_interval: float) -> int:
    """Boxes per dimension: ``max(min_num_intervals, span / ints_in_interval)`` rounded up to
    the next FFT-friendly count, at most 1000 (openTSNE's rule, so the grids agree)."""
    wanted = int(max(min_num_intervals, span / ints_in_interval))
    if wanted >= _BOX_COUNTS[-1]:
        return int(_BOX_COUNTS[-1])
    return int(_BOX_COUNTS[np.searchsorted(_BOX_COUNTS, wanted)])


def _fft_size(m: int) -> int:
    """An even FFT length >= 2m that scipy.fft transforms fast (room for the zero padding
    that keeps the circular convolution from wrapping)."""
    size = 2 * m
    while True:
        size = scipy.fft.next_fast_len(size, real=True)
        if size % 2 == 0:
            return size
        size += 1


def _kernel_spectrum(size: int, spacing: float, dim: int) -> np.ndarray:
    """DFT of the squared Cauchy kernel ``(1 + r^2)^-2`` sampled on the circulant grid of
    length ``size`` per axis (offsets ``min(i, size - i) * spacing``).

    The kernel is even along every axis, so its DFT is real and equals the type-I DCT of the
    quarter ``[0, size/2]^dim``: a quarter of the work of a full FFT. Returned in the layout
    of ``rfftn`` over ``dim`` axes (full first axis, half last axis).
    """
    offsets = np.arange(size // 2 + 1) * spacing
    squared = offsets**2
    if dim == 1:
        kernel = 1.0 / np.square(1.0 + squared)
    else:
        kernel = 1.0 / np.square(1.0 + squared[:, None] + squared[None, :])
    spectrum = scipy.fft.dctn(kernel, type=1, overwrite_x=True)
    if dim == 2:
        spectrum = np.concatenate([spectrum, spectrum[-2:0:-1]], axis=0)
    return spectrum


def _convolve(grid: np.ndarray, spacing: float, workers=None) -> np.ndarray:
    """``potential[t, i] = sum_j K(|x_i - x_j|) grid[t, j]`` over the nodes of a regular grid
    ``(T, m)`` or ``(T, m, m)``, by FFTs of length ``size >= 2m`` (zero padding, no wrap-around).

    The 2-D transform is pruned: the row pass runs only over the ``m`` nonzero input rows and
    the inverse row pass only over the ``m`` rows kept, 3/4 of the work of full 2-D FFTs.
    """
    dim = grid.ndim - 1
    m = grid.shape[-1]
    size = _fft_size(m)
    spectrum = _kernel_spectrum(size, spacing, dim)
    fft = scipy.fft
    out = fft.rfft(grid, n=size, axis=-1, workers=workers)
    if dim == 1:
        out *= spectrum
        return fft.irfft(out, n=size, axis=-1, workers=workers)[..., :m]
    out = fft.fft(out, n=size, axis=-2, workers=workers, overwrite_x=True)
    out *= spectrum
    out = fft.ifft(out, axis=-2, workers=workers, overwrite_x=True)[:, :m, :]
    return fft.irfft(out, n=size, axis=-1, workers=workers)[:, :, :m]


def repulsive_forces_direct(Y):
    """``sum_j w_ij^2 (y_i - y_j)`` ``(N, d)`` and ``Z = sum_{i != j} w_ij`` summed over all
    pairs (Cauchy kernel), in row blocks of bounded memory: exact, ``O(N^2)``."""
    forces = np.empty_like(Y)
    z = 0.0
    for start, stop, w in _kernel_blocks(Y):
        z += float(w.sum())
        np.square(w, out=w)
        forces[start:stop] = _weighted_differences(Y, start, stop, w)
    return forces, z


def repulsive_forces_fft(
    Y,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    workers=None,
    direct=None,
):
    """FFT-interpolated ``sum_j w_ij^2 (y_i - y_j)`` ``(N, d)`` and ``Z = sum_{i != j} w_ij``
    for the Cauchy kernel ``w = 1 / (1 + r^2)``, ``d in {1, 2}`` (see the module docstring).

    ``direct``: sum all pairs instead (:func:`~verigrad.manifold.pairwise.repulsive_forces_pairs`,
    single-precision passes: 1e-4 of the largest force, against the grid's 1e-3). None (the
    default) does so for a 2-D embedding when the measured cost model
    (:func:`~verigrad.manifold.pairwise.pairs_are_cheaper`) says the pairs cost less than the
    grid's FFTs: 300 points take about 0.6 ms by pairs against 7 ms on the smallest grid, and
    1,437 points 4 ms against 12-29 ms as the map spreads. A small data set whose map spreads
    out (a large learning rate) would otherwise pay for a grid of up to 3000 x 3000 nodes per
    gradient.
    """
    n, dim = Y.shape
    p = int(n_interpolation_points)
    low, high = float(Y.min()), float(Y.max())
    span = high - low
    n_boxes = _n_boxes(span, min_num_intervals, ints_in_interval)
    if direct is None:
        direct = dim == 2 and pairs_are_cheaper(
            n, _fft_size(n_boxes * p), dim + 2, _threads(workers)
        )
    if direct:
        return repulsive_forces_pairs(Y, workers=_threads(workers))
    box_width = span / n_boxes if span > 0 else 1.0
    m = n_boxes * p  # interpolation nodes per dimension
    spacing = box_width / p
    scaled = (Y - low) / box_width
    box = np.minimum(scaled.astype(np.intp), n_boxes - 1)
    weights = _lagrange_weights(scaled - box, p)  # (n, dim, p)
    node = box[:, :, None] * p + np.arange(p)  # (n, dim, p) grid index per dim
    if dim == 1:
        flat = node[:, 0, :]
        weight = weights[:, 0, :]
    else:
        flat = node[:, 0, :, None] * m + node[:, 1, None, :]
        weight = weights[:, 0, :, None] * weights[:, 1, None, :]
        flat = flat.reshape(n, p * p)
        weight = weight.reshape(n, p * p)
    n_terms = dim + 2
    charges = np.empty((n, n_terms))
    charges[:, 0] = 1.0
    charges[:, 1 : 1 + dim] = Y
    charges[:, -1] = np.einsum("ij,ij->i", Y, Y)
    grid_size = m**dim
    # the interpolation as a sparse (N, grid) matrix: spreading is its transpose times the
    # charges, gathering is the matrix times the node potentials (C loops, no temporaries)
    per_point = weight.shape[1]
    interpolation = sp.csr_matrix(
        (weight.ravel(), flat.ravel().astype(np.int32), np.arange(0, n * per_point + 1, per_point)),
        shape=(n, grid_size),
    )
    grid = np.ascontiguousarray((interpolation.T @ charges).T).reshape((n_terms,) + (m,) * dim)
    potential = _convolve(grid, spacing, workers).reshape(n_terms, grid_size)
    phi = interpolation @ np.ascontiguousarray(potential.T)  # (n, n_terms)
    sq_norm = charges[:, -1]
    sum_w = (1.0 + sq_norm) * phi[:, 0] - 2.0 * np.einsum("nd,nd->n", Y, phi[:, 1 : 1 + dim])
    sum_w += phi[:, -1]
    z = float(sum_w.sum()) - n
    forces = Y * phi[:, :1] - phi[:, 1 : 1 + dim]
    return forces, z


#: the thread that computes the attractive term beside the repulsive FFTs
_ATTRACTIVE = LazyPool("verigrad-tsne")


def _threads(workers) -> int:
    """scipy.fft's convention: None is 1, a negative count is relative to the cores."""
    if workers is None:
        return 1
    workers = int(workers)
    if workers == 0:
        raise ParameterError(
            "workers", "must be a nonzero integer (negative: relative to the cores)"
        )
    if workers < 0:
        return max(1, (os.cpu_count() or 1) + 1 + workers)
    return workers


def kl_gradient_fft(
    P,
    Y,
    exaggeration: float = 1.0,
    compute_kl: bool = True,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    pairs=None,
    workers=None,
    direct=None,
):
    """FFT-accelerated ``(kl, grad)`` for sparse ``P`` (CSR, symmetric, sums to 1) and
    ``Y`` of shape ``(N, 1)`` or ``(N, 2)``, Cauchy kernel.

    ``grad = 4 (exaggeration * attractive - repulsive / Z)``; ``kl`` is openTSNE's estimate
    for the unexaggerated ``P`` (``nan`` unless ``compute_kl``). ``pairs`` as in
    :func:`attractive_forces`. ``workers`` threads (None: 1; negative: relative to the cores,
    as ``scipy.fft``): with two or more, the attractive part
    runs in a thread of its own beside the repulsive part, whose FFTs get the other
    ``workers - 1`` (both release the GIL in their loops; on 2 cores this took an iteration
    on 20,000 points from about 55 ms to 38 ms). The result does not depend on ``workers``.
    ``direct`` as in :func:`repulsive_forces_fft` (None: all pairs are summed when that is
    cheaper than the grid, for small 2-D embeddings; then ``Z``, and so the KL, is exact).
    """
    Y = _check_shapes(P, Y)
    if Y.shape[1] not in (1, 2):
        raise ParameterError(
            "Y", f"the fft method supports 1-D or 2-D embeddings, got shape {Y.shape}"
        )
    workers = _threads(workers)
    if workers > 1:
        # in the caller's context, so its np.errstate applies in the thread too
        pending = _ATTRACTIVE.get().submit(
            contextvars.copy_context().run,
            attractive_forces,
            P,
            Y,
            pairs=pairs,
            compute_kl=compute_kl,
        )
        try:
            repulsive, z = repulsive_forces_fft(
                Y,
                n_interpolation_points,
                min_num_intervals,
                ints_in_interval,
                workers - 1,
                direct,
            )
        except BaseException:
            wait([pending])  # never leave the thread working on arrays the caller may change
            raise
        attractive, sum_p, kl_part = pending.result()
    else:
        repulsive, z = repulsive_forces_fft(
            Y, n_interpolation_points, min_num_intervals, ints_in_interval, 1, direct
        )
        attractive, sum_p, kl_part = attractive_forces(P, Y, pairs=pairs, compute_kl=compute_kl)
    if not z > 0.0:
        # every pair's weight underflowed: points so far apart that Q, and so the KL and its
        # gradient, are non-finite (a learning rate far too large)
        raise FloatingPointError(
            "t-SNE diverged: the embedding spread so far that every kernel weight is 0, so the "
            "objective is non-finite; try a smaller learning_rate"
        )
    grad = attractive
    grad *= 4.0 * exaggeration
    grad -= (4.0 / (z + EPSILON)) * repulsive
    kl = kl_part + sum_p * np.log(z + EPSILON) if compute_kl else np.nan
    return kl, grad


def kl_gradient_partial(P, neighbors, Y, reference, exaggeration: float = 1.0, dtype=np.float64):
    """Per-point KL objective of new points ``Y`` ``(m, d)`` placed against a fixed
    ``reference`` embedding ``(N, d)`` (``TSNE.transform``).

    Each new point ``i`` has its own distribution over the training points:
    ``p_{j|i}`` (``P`` ``(m, k)`` over ``neighbors`` ``(m, k)``, rows summing to 1) against
    ``q_{j|i} = w_ij / Z_i``, ``w_ij = 1 / (1 + |y_i - r_j|^2)``, ``Z_i = sum_j w_ij`` over all
    ``N`` training points. Points do not interact, so each is placed independently of the
    others (a subset or a reordering of ``X`` gives the same positions). Returns ``(kl, grad)``
    with ``kl = sum_i KL(p_i || q_i)`` and

        grad_i = 2 (exaggeration sum_j p_ij w_ij (y_i - r_j) - sum_j w_ij^2 (y_i - r_j) / Z_i).

    The repulsion is summed over all pairs in row blocks (``O(m N)`` per call), its passes in
    ``dtype`` (:func:`~verigrad.manifold.pairwise.repulsion_to_reference`). float64, the
    default, keeps each point's result independent of which other points are placed with it
    to 1e-7 (scikit-learn's subset-invariance check); float32's block products round
    differently with the block's shape.
    """
    diff = Y[:, None, :] - reference[neighbors]  # (m, k, d)
    w_near = 1.0 / (1.0 + np.einsum("mkd,mkd->mk", diff, diff))
    attractive = np.einsum("mk,mkd->md", P * w_near, diff)
    repulsive, z = repulsion_to_reference(Y, reference, dtype=dtype)
    repulsive /= z[:, None]
    grad = 2.0 * (exaggeration * attractive - repulsive)
    positive = P > 0
    kl = float(np.sum(P[positive] * np.log(P[positive] / w_near[positive])))
    kl += float(np.log(z) @ P.sum(axis=1))
    return kl, grad
