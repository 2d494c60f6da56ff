"""The shrinkage and projection kernels on plain arrays, against brute-force minimisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from verigrad.prox.shrinkage import (
    project_l1_ball,
    project_simplex,
    soft_threshold,
    weighted_group_shrink,
)


def test_soft_threshold_is_the_l1_prox_entrywise_and_with_per_entry_thresholds():
    v = np.array([-3.0, -0.5, 0.0, 0.2, 2.5])
    shrunk = soft_threshold(v, 1.0)
    np.testing.assert_array_equal(shrunk, [-2.0, 0.0, 0.0, 0.0, 1.5])
    assert not np.any(np.signbit(shrunk[1:4]))  # +0, not -0 (printed "-0.")
    np.testing.assert_array_equal(
        soft_threshold(v, np.array([0.0, 1.0, 1.0, 0.1, 3.0])), [-3.0, 0.0, 0.0, 0.1, 0.0]
    )
    assert soft_threshold(v.astype(np.float32), 1.0).dtype == np.float32
    np.testing.assert_array_equal(v, [-3.0, -0.5, 0.0, 0.2, 2.5])  # input untouched


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -0.5])
def test_soft_threshold_refuses_bad_thresholds(bad):
    with pytest.raises(ValueError, match=r"^threshold: ") as info:
        soft_threshold(np.ones(3), bad)
    assert info.value.param == "threshold"
    with pytest.raises(ValueError, match=r"^threshold: every threshold must be finite and >= 0"):
        soft_threshold(np.ones(3), np.array([0.1, bad, 0.2]))
    with pytest.raises(ValueError, match=r"^threshold: shape \(2,\) does not broadcast"):
        soft_threshold(np.ones(3), np.ones(2))


@pytest.mark.parametrize("seed", range(4))
def test_weighted_group_shrink_minimises_its_objective(seed):
    """Each row: argmin lam ||x||_2 + sum_i (x_i - v_i)^2 / (2 t_i), against L-BFGS-B on the
    same objective; rows below the threshold are exactly zero."""
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(4, 5)) * 2
    T = rng.uniform(0.1, 2.0, size=(4, 5))
    lam = np.array([0.1, 0.5, 1.0, 50.0])
    out = weighted_group_shrink(V, T, lam)
    assert np.all(out[3] == 0.0)  # ||v / t|| far below 50
    for k in range(3):

        def objective(x, k=k):
            return lam[k] * np.linalg.norm(x) + np.sum((x - V[k]) ** 2 / (2 * T[k]))

        best = minimize(
            objective,
            V[k],
            method="Nelder-Mead",
            options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40_000},
        )
        assert objective(out[k]) <= best.fun + 1e-9
        np.testing.assert_allclose(out[k], best.x, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_projections_are_the_nearest_feasible_points(seed):
    """The l1-ball and simplex projections against SLSQP on ``min ||x - v||^2`` over the set."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=7) * 3
    ball = project_l1_ball(v, 2.0)
    assert np.abs(ball).sum() == pytest.approx(2.0)
    split = minimize(  # x = p - q, p, q >= 0, sum(p + q) <= 2
        lambda z: np.sum((z[:7] - z[7:] - v) ** 2),
        np.zeros(14),
        bounds=[(0, None)] * 14,
        constraints=[{"type": "ineq", "fun": lambda z: 2.0 - z.sum()}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(ball, split.x[:7] - split.x[7:], atol=1e-5)
    simplex = project_simplex(v, 1.5)
    assert np.all(simplex >= 0) and simplex.sum() == pytest.approx(1.5)
    best = minimize(
        lambda x: np.sum((x - v) ** 2),
        np.full(7, 1.5 / 7),
        bounds=[(0, None)] * 7,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.5}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(simplex, best.x, atol=1e-5)
    inside = v / np.abs(v).sum()  # already in the ball of radius 2: unchanged
    np.testing.assert_array_equal(project_l1_ball(inside, 2.0), inside)
