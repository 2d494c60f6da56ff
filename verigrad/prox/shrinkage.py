"""The shrinkage and projection kernels behind the proximal operators, on plain arrays.

* :func:`soft_threshold`: ``sign(v) max(|v| - threshold, 0)``, the prox of the (weighted) l1
  norm;
* :func:`weighted_group_shrink`: the exact block soft threshold of each row in a diagonal
  metric (the prox of the group-l1 norm with a per-element step, derived in
  :mod:`verigrad.prox.operators`);
* :func:`project_l1_ball`, :func:`project_simplex`: Euclidean projections by one sort (Duchi,
  Shalev-Shwartz, Singer & Chandra 2008, "Efficient projections onto the l1-ball for learning
  in high dimensions", Fig. 1).

:mod:`verigrad.prox.operators` wraps them as operator objects with checked steps and values.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._checks import ParameterError, as_float_array, check_finite, check_number

__all__ = ["soft_threshold", "weighted_group_shrink", "project_l1_ball", "project_simplex"]


def _as_input(v, name: str = "v") -> np.ndarray:
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v
    return as_float_array(v, name)


def _soft_threshold(v: np.ndarray, threshold) -> np.ndarray:
    """:func:`soft_threshold` without the checks (the operators' thresholds are checked)."""
    out = np.abs(v)
    out -= threshold
    np.maximum(out, 0, out=out)
    np.copysign(out, v, out=out)
    out += 0.0  # the zeros of negative entries: +0, not -0 (which prints as "-0.")
    return out


def soft_threshold(v, threshold) -> np.ndarray:
    """``sign(v) * max(|v| - threshold, 0)`` as a new array.

    ``threshold``: a number, or an array broadcasting to ``v`` (one threshold per entry, the
    weighted l1 prox), finite and ``>= 0``; NaN, infinite or negative thresholds are a
    ParameterError naming ``threshold`` (they would give NaN or a silent all-zero result).
    """
    v = _as_input(v)
    if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
        check_finite(check_number(threshold, "threshold", low=0.0), "threshold")
    else:
        threshold = as_float_array(threshold, "threshold")
        if not np.all(np.isfinite(threshold)) or np.any(threshold < 0):
            bad = int(np.count_nonzero(~(np.isfinite(threshold) & (threshold >= 0))))
            raise ParameterError(
                "threshold", f"every threshold must be finite and >= 0, {bad} entries are not"
            )
        try:
            np.broadcast_shapes(threshold.shape, v.shape)
        except ValueError:
            raise ParameterError(
                "threshold", f"shape {threshold.shape} does not broadcast to v's {v.shape}"
            ) from None
    return _soft_threshold(v, threshold)


def weighted_group_shrink(V: np.ndarray, T: np.ndarray, lam) -> np.ndarray:
    """The exact block soft threshold of each row of ``V`` in the diagonal metric ``1 / T``.

    Row ``k`` is ``argmin_x lam_k ||x||_2 + sum_i (x_i - V_ki)^2 / (2 T_ki)`` (derived in
    :mod:`verigrad.prox.operators`). ``V``, ``T``: ``(K, M)``, ``T > 0``; ``lam``: a number or
    ``(K,)``, ``>= 0``. Returns a new float64 array ``(K, M)``; rows with
    ``||V_k / T_k|| <= lam_k`` are exactly zero. Not checked (the operators check).
    """
    V = np.asarray(V, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (V.shape[0],))[:, None]
    out = np.zeros_like(V)
    keep = np.sqrt(np.einsum("km,km->k", V / T, V / T)) > lam[:, 0]
    if not np.any(keep):
        return out
    V, T, lam = V[keep], T[keep], lam[keep]
    squares = V * V
    norm = np.sqrt(squares.sum(axis=1))
    lo = np.maximum(norm - lam[:, 0] * T.max(axis=1), 0.0)
    hi = norm - lam[:, 0] * T.min(axis=1)
    r = np.where(lo > 0, lo, 0.5 * hi)
    shift = lam * T
    for _ in range(100):
        denom = r[:, None] + shift
        phi = (squares / denom**2).sum(axis=1)
        dphi = (squares / denom**3).sum(axis=1)  # -phi'(r) / 2
        g = phi**-0.5 - 1.0  # increasing in r, zero at the root
        lo = np.where(g < 0, np.maximum(lo, r), lo)
        hi = np.where(g > 0, np.minimum(hi, r), hi)
        newton = r - g / (phi**-1.5 * dphi)
        inside = (newton > lo) & (newton < hi)
        new = np.where(inside, newton, 0.5 * (lo + hi))
        done = np.abs(new - r) <= 4 * np.finfo(np.float64).eps * np.maximum(new, 1e-300)
        r = new
        if np.all(done | (hi - lo <= 4 * np.finfo(np.float64).eps * hi)):
            break
    out[keep] = V * (r[:, None] / (r[:, None] + shift))
    return out


def _simplex_threshold(u: np.ndarray, radius: float) -> float:
    """The shift ``theta`` with ``sum(max(u - theta, 0)) = radius`` for ``u >= 0`` (flat)."""
    s = np.sort(u)[::-1]
    cumulative = np.cumsum(s)
    ranks = np.arange(1, s.size + 1)
    # rho: the largest j with s_j > (cumsum_j - radius) / j (Duchi et al. 2008, Fig. 1)
    rho = np.flatnonzero(s * ranks > cumulative - radius)[-1]
    return (cumulative[rho] - radius) / (rho + 1)


def project_l1_ball(v: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean projection of the whole array ``v`` onto ``{x : ||x||_1 <= radius}``.

    Points already inside come back unchanged (a copy); ``radius == 0`` gives zeros. Cost
    ``O(m log m)`` for ``m = v.size`` (one sort; Duchi, Shalev-Shwartz, Singer & Chandra 2008).
    """
    u = np.abs(v)
    if u.sum() <= radius:
        return v.copy()
    if radius == 0:
        return np.zeros_like(v)
    theta = _simplex_threshold(u.ravel(), radius)
    return _soft_threshold(v, theta)


def project_simplex(v: np.ndarray, radius: float = 1.0) -> np.ndarray:
    """Euclidean projection of the whole array onto ``{x : x >= 0, sum(x) = radius}``.

    Inputs already on the simplex (within ``1e-12`` relative in the sum) come back unchanged.
    """
    if np.all(v >= 0) and abs(float(v.sum()) - radius) <= 1e-12 * max(radius, 1.0):
        return v.copy()
    if radius == 0:
        return np.zeros_like(v)
    theta = _simplex_threshold(v.ravel(), radius)
    out = v - v.dtype.type(theta)
    np.maximum(out, 0, out=out)
    return out
