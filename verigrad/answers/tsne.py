"""Section 8: the t-SNE gradient and the crowding problem (van der Maaten & Hinton 2008).

With ``w_ij = (1 + |y_i - y_j|^2)^-1``, ``q_ij = w_ij / sum_{k != l} w_kl`` and the cost
``C = KL(P || Q) = sum_ij p_ij log(p_ij / q_ij)``::

    dC/dy_i = 4 sum_j (p_ij - q_ij) (y_i - y_j) (1 + |y_i - y_j|^2)^-1

Crowding: in ``D`` dimensions a ball's volume grows as ``r^D``, so almost all of a 10-D ball
lies near its surface and every point has many neighbours at similar, moderate distances;
a 2-D map has no room for that. Matching similarities with a heavy-tailed Student-t in the map
lets moderate distances stretch: a high-D Gaussian similarity ``exp(-d^2 / 2)`` is matched by
``(1 + y^2)^-1`` at ``y = sqrt(exp(d^2 / 2) - 1)`` instead of ``y = d`` for a Gaussian map.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.spatial.distance import pdist

from .record import Answer, fmt

__all__ = ["answers", "tsne_gradient_formula", "ball_points"]


def tsne_gradient_formula(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The question's formula in plain NumPy (dense, ``O(N^2)``)."""
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + np.sum(diff**2, axis=-1))
    np.fill_diagonal(w, 0.0)
    Q = w / w.sum()
    return 4.0 * np.einsum("ij,ijk->ik", (P - Q) * w, diff)


def ball_points(n: int, dim: int, rng) -> np.ndarray:
    """``n`` points uniform in the unit ball of ``R^dim``."""
    g = rng.normal(size=(n, dim))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return g * rng.uniform(size=(n, 1)) ** (1.0 / dim)


def _gradient_answer(manifold) -> Answer:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    P = np.asarray(manifold.joint_probabilities(X, 4.0, method="exact"))
    Y = rng.normal(size=(12, 2))
    kl, grad = manifold.kl_gradient_exact(P, Y)
    formula = tsne_gradient_formula(P, Y)
    eps = 1e-6
    fd = np.zeros_like(Y)
    for index in np.ndindex(*Y.shape):
        up, down = Y.copy(), Y.copy()
        up[index] += eps
        down[index] -= eps
        fd[index] = (manifold.kl_divergence(P, up) - manifold.kl_divergence(P, down)) / (2 * eps)
    err_formula = float(np.max(np.abs(grad - formula)))
    err_fd = float(np.max(np.abs(grad - fd)))
    scale = float(np.max(np.abs(grad)))
    work = [
        "C = sum p log p - sum p log w_ij + log Z with Z = sum w: dC/dy_i collects, for each j, "
        "-2 p_ij d log w_ij + 2 q_ij d log w_ij, and d log w_ij / dy_i = -2 w_ij (y_i - y_j).",
        f"example: 12 points in 5-D, perplexity 4 (verigrad.manifold.joint_probabilities), "
        f"random 2-D Y; KL = {kl:.6f}",
        f"gradient rows 0-2 (library kl_gradient_exact) = {fmt(grad[:3])}",
        f"central differences of kl_divergence (eps 1e-6), rows 0-2 = {fmt(fd[:3])}",
    ]
    return Answer(
        8,
        "a",
        "dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + |y_i - y_j|^2)^-1",
        "the gradient of KL(P||Q) with Student-t q is 4 sum_j (p_ij - q_ij)(y_i - y_j) w_ij",
        f"library gradient vs the formula (plain NumPy): max |diff| {err_formula:.1e}; vs central "
        f"finite differences of the KL: {err_fd:.1e} (gradient scale {scale:.2g})",
        bool(err_formula < 1e-12 * max(scale, 1) and err_fd < 1e-6 * max(scale, 1)),
        work,
        {"kl": kl, "max_abs_diff_formula": err_formula, "max_abs_diff_fd": err_fd},
    )


def _crowding_answer() -> Answer:
    rng = np.random.default_rng(0)
    n = 300
    # (1) volume: the fraction of a D-ball outside radius 0.8 is 1 - 0.8^D
    ball10, disc = ball_points(20000, 10, rng), ball_points(20000, 2, rng)
    shell = {
        d: float(np.mean(np.linalg.norm(pts, axis=1) > 0.8)) for d, pts in ((10, ball10), (2, disc))
    }
    shell_exact = {d: 1 - 0.8**d for d in (10, 2)}

    # (2) typical distance over nearest-neighbour distance, 300 points: 10-D ball vs 2-D disc
    def ratio(points):
        d = pdist(points)
        full = np.full((n, n), np.inf)
        iu = np.triu_indices(n, 1)
        full[iu] = d
        full.T[iu] = d
        return float(d.mean() / full.min(axis=1).mean())

    r10, r2 = ratio(ball_points(n, 10, rng)), ratio(ball_points(n, 2, rng))
    # (3) the map distance y that reproduces a high-D similarity exp(-d^2/2)
    ds = np.array([0.5, 1.0, 2.0, 3.0])
    t_map = np.array(
        [
            brentq(lambda y, d=d: 1 / (1 + y * y) - np.exp(-d * d / 2), 0, 1e3, xtol=1e-14)
            for d in ds
        ]
    )
    t_closed = np.sqrt(np.expm1(ds**2 / 2))
    err_map = float(np.max(np.abs(t_map - t_closed) / t_closed))
    shell_err = max(abs(shell[d] - shell_exact[d]) for d in shell)
    work = [
        f"volume: fraction of a uniform ball beyond radius 0.8: 10-D {shell[10]:.3f} "
        f"(1 - 0.8^10 = {shell_exact[10]:.3f}), 2-D {shell[2]:.3f} (1 - 0.8^2 = "
        f"{shell_exact[2]:.3f}): in 10-D nearly every point is 'far out'.",
        f"{n} points: mean pairwise distance / mean nearest-neighbour distance = {r10:.2f} in "
        f"the 10-D ball but {r2:.2f} in a 2-D disc: a 2-D map cannot keep neighbours at their "
        "high-D distance and everyone else only ~2x farther: distances must be distorted.",
        "Gaussian map: similarity exp(-y^2/2) = exp(-d^2/2) forces y = d, so the moderate "
        "distances crowd the centre; Student-t map: (1 + y^2)^-1 = exp(-d^2/2) gives",
        f"  d = {fmt(ds)} -> y = {fmt(t_map)} (root finding) = sqrt(exp(d^2/2) - 1) "
        f"{fmt(t_closed)}: near neighbours are drawn closer and moderately distant points "
        "(d > 1.6) pushed apart, making room.",
    ]
    passed = (
        shell_err < 0.02
        and r2 > 3 * r10
        and err_map < 1e-10
        and np.all(t_map[2:] > ds[2:])
        and np.all(t_map[:2] < ds[:2])
    )
    return Answer(
        8,
        "b",
        "The crowding problem, numerically",
        f"10-D: {shell[10]:.0%} of the volume lies beyond radius 0.8 (2-D: {shell[2]:.0%}); "
        f"distance/neighbour-distance ratio {r10:.1f} (10-D) vs {r2:.1f} (2-D); the Student-t "
        "map stretches moderate distances (y = sqrt(e^{d^2/2} - 1) > d beyond d = 1.6, < d below) where a "
        "Gaussian map keeps y = d",
        f"Monte Carlo shell fractions vs 1 - 0.8^D: max |diff| {shell_err:.3f}; map distances by "
        f"root finding vs the closed form: rel. diff {err_map:.1e}",
        bool(passed),
        work,
        {
            "shell_fraction": shell,
            "shell_exact": shell_exact,
            "distance_ratio_10d": r10,
            "distance_ratio_2d": r2,
            "t_map": t_map,
            "high_d_distances": ds,
        },
    )


def answers() -> list:
    from .. import manifold

    return [_gradient_answer(manifold), _crowding_answer()]
