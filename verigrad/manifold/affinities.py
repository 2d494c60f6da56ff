"""Input-space affinities for t-SNE: perplexity-calibrated Gaussian kernels, symmetrised.

For every point ``i`` a precision ``beta_i`` is found by binary search so that the
conditional distribution ``p_{j|i} = exp(-d_ij beta_i) / sum_k exp(-d_ik beta_i)`` (``d`` the
squared euclidean distance) has entropy ``log(perplexity)`` (van der Maaten & Hinton 2008).
The search runs for all points at once: each step updates the precision of every point still
searching, so the cost is ``O(steps * N * K)`` in vectorised NumPy, with no Python loop over
points.

``method="exact"`` uses all ``N - 1`` other points and reproduces scikit-learn's exact
``_joint_probabilities`` (squared distances cast to float32, tolerance 1e-5, at most 100
steps, ``P = max((P + P^T) / sum, eps)``), except where scikit-learn's rows underflow: each
row's distances are first shifted by its smallest off-diagonal one, which changes neither
``p_{j|i}`` nor the entropy but keeps ``exp(-d beta)`` from reaching zero for every ``j`` when
the search needs a large ``beta`` (a perplexity near 1, nearly tied nearest neighbours), where
scikit-learn gives the whole row zero mass. ``method="fft"`` uses only the
``k = min(N - 1, floor(3 * perplexity))`` exact nearest neighbours, found by chunked BLAS
distances (memory ``O(N k)`` plus one bounded chunk), and returns a CSR matrix
``P = (P_cond + P_cond^T) / sum`` as openTSNE does.

Edge cases: duplicate points (zero distances) and isolated points end the search with finite
values: the precision simply doubles or halves until the step budget runs out, and
probabilities that underflow leave the row sum at a tiny floor instead of zero.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import ParameterError, as_float_array, check_choice, check_finite, check_number

__all__ = [
    "joint_probabilities",
    "conditional_probabilities",
    "nearest_neighbors",
    "squared_distances",
    "check_perplexity",
    "neighbors_to",
    "affinities_to",
]

MACHINE_EPSILON = np.finfo(np.float64).eps
# scikit-learn stores these as C floats; the float32 values keep parity to the last bit.
_PERPLEXITY_TOLERANCE = float(np.float32(1e-5))
_SUM_FLOOR = float(np.float32(1e-8))
_MAX_STEPS = 100
#: bytes of distances held at once by the chunked nearest-neighbour search
_CHUNK_BYTES = 32 * 2**20


def check_perplexity(perplexity, n_samples: int) -> float:
    """Validate ``perplexity`` against the number of samples (``n > 3``, ``1 <= perplexity < n``).

    The perplexity ``exp(H)`` of a distribution is at least 1 (entropy ``H >= 0``), so a value
    below 1 names no distribution: the search can only run to its step limit (scikit-learn
    accepts any positive value; here 1e-9 once gave an exact P of all zeros and a KL of -0.0).
    At 1 each point's mass goes to its nearest neighbour.
    """
    if n_samples <= 3:
        raise ParameterError("X", f"t-SNE needs more than 3 samples, got n_samples={n_samples}")
    perplexity = check_number(perplexity, "perplexity")
    if perplexity < 1:
        raise ParameterError(
            "perplexity", f"must be >= 1 (the effective number of neighbours), got {perplexity:g}"
        )
    if perplexity >= n_samples:
        raise ParameterError(
            "perplexity", f"must be less than n_samples={n_samples}, got {perplexity:g}"
        )
    return perplexity


def squared_distances(X: np.ndarray) -> np.ndarray:
    """All pairwise squared euclidean distances ``(N, N)``, diagonal zero.

    Computed as scikit-learn's ``euclidean_distances(squared=True)``:
    ``-2 X X^T + ||x_i||^2 + ||x_j||^2``, clipped at zero.
    """
    norms = np.einsum("ij,ij->i", X, X)
    distances = X @ X.T
    distances *= -2
    distances += norms[:, None]
    distances += norms[None, :]
    np.maximum(distances, 0, out=distances)
    np.fill_diagonal(distances, 0)
    return distances


def _within_reach(sq_distances: np.ndarray) -> np.ndarray:
    """``sq_distances`` divided by a power of two when their size is out of the search's reach.

    The search starts at ``beta = 1`` and doubles or halves at most 100 times, so it cannot
    find a precision far beyond ``2^(+-100)``: data scaled by 1e20 would end with the wrong
    ``P``. ``p_{j|i}`` depends only on ``beta d``, so scaling every distance by one power of
    two (exact in floating point) changes nothing else; inside ``2^(+-60)`` the distances are
    left as they are, step for step as scikit-learn's search.
    """
    positive = sq_distances[np.isfinite(sq_distances) & (sq_distances > 0)]
    if positive.size == 0:
        return sq_distances
    exponent = int(np.round(np.log2(np.median(positive))))
    if abs(exponent) <= 60:
        return sq_distances
    return np.ldexp(sq_distances, -exponent)


def _unit_scale(X: np.ndarray) -> int:
    """The power of two ``e`` that brings ``X``'s spread near 1 when it lies beyond
    ``2^(+-100)`` (0 otherwise): squared distances of data at 1e-160 underflow to 0 and at
    1e160 overflow, though ``P`` depends only on their ratios. Dividing by ``2^e`` is exact,
    so ``P`` is unchanged wherever it was computable."""
    spread = float(np.max(np.abs(X - X.mean(axis=0)))) if X.size else 0.0
    if not 0.0 < spread < np.inf:
        return 0
    exponent = int(np.round(np.log2(spread)))
    return exponent if abs(exponent) > 100 else 0


def conditional_probabilities(
    sq_distances: np.ndarray, perplexity: float, exclude_diagonal: bool = False
) -> np.ndarray:
    """Row-wise ``p_{j|i}`` of shape ``(N, K)`` by a binary search on each precision.

    ``sq_distances`` is ``(N, K)``: squared distances to the ``K`` candidates of each row.
    With ``exclude_diagonal`` (the dense case, ``K == N``) entry ``(i, i)`` is left at zero.
    The search follows scikit-learn's ``_binary_search_perplexity`` step for step: start at
    ``beta = 1``, double/halve until the entropy is bracketed, then bisect; stop a row when
    ``|H - log(perplexity)| <= 1e-5`` or after 100 steps.
    """
    n, k = sq_distances.shape
    sq_distances = _within_reach(sq_distances)
    desired_entropy = np.log(perplexity)
    beta = np.ones(n)
    beta_min = np.full(n, -np.inf)
    beta_max = np.full(n, np.inf)
    P = np.zeros((n, k))
    active = np.arange(n)
    diagonal = exclude_diagonal and k == n
    for _ in range(_MAX_STEPS):
        if active.size == 0:
            break
        d = sq_distances[active]
        b = beta[active]
        p = np.exp(-d * b[:, None])
        if diagonal:
            p[np.arange(active.size), active] = 0.0
        sum_p = p.sum(axis=1)
        sum_p[sum_p == 0.0] = _SUM_FLOOR
        p /= sum_p[:, None]
        entropy = np.log(sum_p) + b * np.einsum("ij,ij->i", d, p)
        P[active] = p
        diff = entropy - desired_entropy
        searching = np.abs(diff) > _PERPLEXITY_TOLERANCE
        active, diff, b = active[searching], diff[searching], b[searching]
        up = diff > 0.0
        # entropy too high -> sharper kernel (larger beta); too low -> wider
        lo = np.where(up, b, beta_min[active])
        hi = np.where(up, beta_max[active], b)
        beta_min[active], beta_max[active] = lo, hi
        new = np.where(
            up,
            np.where(np.isinf(hi), b * 2.0, (b + hi) / 2.0),
            np.where(np.isinf(lo), b / 2.0, (b + lo) / 2.0),
        )
        beta[active] = new
    return P


def _check_distances(distances: np.ndarray) -> None:
    if not np.isfinite(distances).all():
        raise ParameterError(
            "X",
            "its squared distances overflow float64 (values too large for t-SNE's "
            "affinities); rescale X",
        )


def _fits_float32(distances: np.ndarray) -> bool:
    """Whether float32 holds every distance (scikit-learn rounds them to float32 and so
    overflows to inf beyond 3.4e38, or flushes to zero below 1.2e-38)."""
    info = np.finfo(np.float32)
    positive = distances[distances > 0]
    return positive.size == 0 or (positive.max() <= info.max and positive.min() >= info.tiny)


def nearest_neighbors(X: np.ndarray, k: int, chunk_bytes: int = _CHUNK_BYTES):
    """Exact ``k`` nearest neighbours of every row of ``X`` (itself excluded).

    Returns ``(indices, sq_distances)``, both ``(N, k)``, sorted by distance. Candidates are
    ranked in row chunks by ``||y||^2 / 2 - x . y`` (the row's own ``||x||^2`` does not change
    its ranking), one float32 BLAS product and one pass per chunk; ``argpartition`` keeps
    ``k + 16`` candidates, whose float64 distances are then recomputed exactly and re-ranked,
    so float32 rounding cannot change the neighbours short of 16-way near-ties. Peak memory is
    ``O(N k)`` plus one chunk of ``chunk_bytes``. Duplicates of a point count as neighbours at
    distance zero; the point itself never does.
    """
    n = X.shape[0]
    # neighbours do not change under a shift or a scaling of X, but float32 ranking does:
    # rank centred data scaled to unit size, so an offset (X + 1e4) or a scale (1e-20 X) keeps
    # the real distances above float32's rounding; exact distances come from the centred X
    X = X - X.mean(axis=0)
    size = float(np.abs(X).max())
    unit = X / size if size > 0 else X
    norms = np.einsum("ij,ij->i", unit, unit)
    X32 = unit.astype(np.float32)
    half_norms32 = (norms / 2).astype(np.float32)
    extra = min(n - 1, k + 16)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k))
    rows = max(1, min(n, chunk_bytes // (4 * n)))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = X32[start:stop] @ X32.T
        np.subtract(half_norms32[None, :], block, out=block)
        local = np.arange(stop - start)
        block[local, local + start] = np.inf
        if extra < n - 1:
            candidates = np.argpartition(block, extra - 1, axis=1)[:, :extra]
        else:
            candidates = np.argsort(block, axis=1)[:, :extra]
        exact = X[candidates] - X[start:stop, None, :]
        exact = np.einsum("ijk,ijk->ij", exact, exact)
        _check_distances(exact)
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        indices[start:stop] = np.take_along_axis(candidates, order, axis=1)
        distances[start:stop] = np.take_along_axis(exact, order, axis=1)
    return indices, distances


def joint_probabilities(X, perplexity, method: str = "exact"):
    """Symmetric t-SNE input affinities ``P`` for data ``X`` of shape ``(N, D)``.

    Parameters
    ----------
    X : array of shape (N, D), finite, N > 3.
    perplexity : float in [1, N).
    method : ``"exact"`` -> dense ``(N, N)`` ndarray, equal to scikit-learn's exact
        ``_joint_probabilities`` (diagonal zero, off-diagonal ``>= eps``, sums to ~1; see
        the module docstring for the one difference, rows that underflow there);
        ``"fft"`` -> ``scipy.sparse.csr_matrix`` over the ``k = min(N-1, 3 perplexity)``
        nearest neighbours, ``P = (P_cond + P_cond^T) / sum`` (sums to 1, symmetric).
    """
    X = check_finite(as_float_array(X, "X", ndim=2, dtype=np.float64), "X")
    method = check_choice(method, "method", ("exact", "fft"))
    exponent = _unit_scale(X)
    if exponent:
        X = np.ldexp(X, -exponent)
    n = X.shape[0]
    perplexity = check_perplexity(perplexity, n)
    if method == "exact":
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: _check_distances
            if np.abs(X.mean(axis=0)).max() > 100 * X.std(axis=0).max():
                # an offset far larger than the spread: ||x||^2 - 2 x.y + ||y||^2 would
                # cancel most digits (scikit-learn's formula, kept for ordinary data): centre
                X = X - X.mean(axis=0)
            distances = squared_distances(X)
        _check_distances(distances)
        if _fits_float32(distances):  # scikit-learn's float32 rounding, where it is harmless
            distances = distances.astype(np.float32).astype(np.float64)
        np.fill_diagonal(distances, np.inf)
        distances -= distances.min(axis=1)[:, None]  # nearest at 0: exp never all zero
        np.fill_diagonal(distances, 0.0)
        conditional = conditional_probabilities(distances, perplexity, exclude_diagonal=True)
        P = conditional + conditional.T
        P /= max(P.sum(), MACHINE_EPSILON)
        np.maximum(P, MACHINE_EPSILON, out=P)
        np.fill_diagonal(P, 0.0)
        return P
    k = min(n - 1, int(3 * perplexity))
    k = max(k, 1)
    indices, distances = nearest_neighbors(X, k)
    # shifting each row by its nearest distance leaves p_{j|i} and the entropy unchanged but
    # keeps far-away points from underflowing to an all-zero row
    distances -= distances[:, :1]
    conditional = conditional_probabilities(distances, perplexity)
    indptr = np.arange(0, n * k + 1, k)
    P = sp.csr_matrix((conditional.ravel(), indices.ravel(), indptr), shape=(n, n))
    P = (P + P.T).tocsr()
    P.sum_duplicates()
    P.sort_indices()
    P.eliminate_zeros()
    P.data /= P.data.sum()
    return P


def neighbors_to(reference: np.ndarray, X: np.ndarray, k: int, chunk_bytes: int = _CHUNK_BYTES):
    """Exact ``k`` nearest rows of ``reference`` ``(N, D)`` for every row of ``X`` ``(m, D)``.

    Returns ``(indices, sq_distances)``, both ``(m, k)``, sorted by distance (ties by index).
    Row chunks of ``X`` against all of ``reference`` by one float64 BLAS product each
    (``||x||^2 - 2 x.r + ||r||^2``, clipped at 0); memory ``O(m k)`` plus one chunk.
    """
    n = reference.shape[0]
    centre = reference.mean(axis=0)  # distances do not change under a shift; rounding does
    reference = reference - centre
    X = X - centre
    ref_norms = np.einsum("ij,ij->i", reference, reference)
    indices = np.empty((X.shape[0], k), dtype=np.int64)
    distances = np.empty((X.shape[0], k))
    rows = max(1, min(X.shape[0], chunk_bytes // (8 * n)))
    for start in range(0, X.shape[0], rows):
        block = X[start : start + rows]
        d = block @ reference.T
        d *= -2
        d += ref_norms[None, :]
        d += np.einsum("ij,ij->i", block, block)[:, None]
        np.maximum(d, 0, out=d)
        _check_distances(d)
        if k < n:
            candidates = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            candidates = np.broadcast_to(np.arange(n), d.shape)
        near = np.take_along_axis(d, candidates, axis=1)
        order = np.lexsort((candidates, near), axis=1)
        indices[start : start + rows] = np.take_along_axis(candidates, order, axis=1)
        distances[start : start + rows] = np.take_along_axis(near, order, axis=1)
    return indices, distances


def affinities_to(reference, X, perplexity: float):
    """Affinities of new points ``X`` ``(m, D)`` to the training points ``reference``
    ``(N, D)``: each new point's conditional ``p_{j|i}`` over its ``k = min(N, 3 perplexity)``
    nearest training points, calibrated to ``perplexity`` (openTSNE's ``to_new``). Returns
    ``(indices, P)``, both ``(m, k)``; each row of ``P`` sums to 1."""
    n = reference.shape[0]
    k = max(1, min(n, int(3 * perplexity)))
    exponent = _unit_scale(reference)  # the training data's scale, as in joint_probabilities
    if exponent:
        reference, X = np.ldexp(reference, -exponent), np.ldexp(X, -exponent)
    indices, distances = neighbors_to(reference, X, k)
    distances -= distances[:, :1]  # as in joint_probabilities: no all-zero rows
    P = conditional_probabilities(distances, min(perplexity, k))
    P /= np.maximum(P.sum(axis=1, keepdims=True), MACHINE_EPSILON)
    return indices, P
