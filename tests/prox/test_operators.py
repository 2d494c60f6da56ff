"""Proximal operators: brute-force minimisation, Moreau identity, projections, purity, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from tests.helpers import arrays, shapes
from verigrad import prox


def prox_objective(op, v, t):
    return lambda x: op.value(x.reshape(v.shape)) + np.sum((x.reshape(v.shape) - v) ** 2) / (2 * t)


def split_sign_minimise(v, t, l1, l2=0.0):
    """min l1 ||x||_1 + l2/2 ||x||^2 + ||x - v||^2/(2t) with x = p - q, p, q >= 0 (L-BFGS-B)."""
    m = v.size

    def fun(z):
        p, q = z[:m], z[m:]
        x = p - q
        value = l1 * z.sum() + 0.5 * l2 * x @ x + (x - v) @ (x - v) / (2 * t)
        gx = l2 * x + (x - v) / t
        return value, np.concatenate([l1 + gx, l1 - gx])

    res = minimize(
        fun,
        np.zeros(2 * m),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * m),
        options=dict(ftol=1e-15, gtol=1e-12, maxiter=10000),
    )
    return res.x[:m] - res.x[m:]


def norm_epigraph_minimise(v, t, lam, groups):
    """min lam sum_g s_g + ||x - v||^2/(2t) s.t. s_g^2 >= ||x_g||^2, s >= 0 (SLSQP, smooth)."""
    m, k = v.size, len(groups)
    cons = [
        dict(type="ineq", fun=lambda z, g=g, i=i: z[m + i] ** 2 - z[:m][g] @ z[:m][g])
        for i, g in enumerate(groups)
    ]
    z0 = np.concatenate([v, [np.linalg.norm(v[g]) + 1 for g in groups]])
    res = minimize(
        lambda z: lam * z[m:].sum() + (z[:m] - v) @ (z[:m] - v) / (2 * t),
        z0,
        method="SLSQP",
        constraints=cons,
        bounds=[(None, None)] * m + [(0, None)] * k,
        options=dict(ftol=1e-15, maxiter=1000),
    )
    return res.x[:m]


def linf_minimise(v, t, lam):
    m = v.size
    cons = [
        dict(type="ineq", fun=lambda z: z[m] - z[:m]),
        dict(type="ineq", fun=lambda z: z[m] + z[:m]),
    ]
    z0 = np.concatenate([v, [np.abs(v).max()]])
    res = minimize(
        lambda z: lam * z[m] + (z[:m] - v) @ (z[:m] - v) / (2 * t),
        z0,
        method="SLSQP",
        constraints=cons,
        options=dict(ftol=1e-15, maxiter=1000),
    )
    return res.x[:m]


def constrained_projection(v, bounds=None, constraints=()):
    res = minimize(
        lambda x: 0.5 * (x - v) @ (x - v),
        np.zeros_like(v),
        jac=lambda x: x - v,
        method="SLSQP",
        bounds=bounds,
        constraints=constraints,
        options=dict(ftol=1e-15, maxiter=1000),
    )
    return res.x


def l1_ball_projection_split(v, radius):
    """Projection onto the l1 ball via x = p - q, p, q >= 0, sum(p + q) <= radius."""
    m = v.size
    cons = [dict(type="ineq", fun=lambda z: radius - z.sum(), jac=lambda z: -np.ones(2 * m))]
    res = minimize(
        lambda z: 0.5 * np.sum((z[:m] - z[m:] - v) ** 2),
        np.zeros(2 * m),
        jac=lambda z: np.concatenate([z[:m] - z[m:] - v, -(z[:m] - z[m:] - v)]),
        method="SLSQP",
        bounds=[(0, None)] * (2 * m),
        constraints=cons,
        options=dict(ftol=1e-15, maxiter=1000),
    )
    return res.x[:m] - res.x[m:]


RNG_SEEDS = range(4)


def _check_against(op, v, t, reference, atol=1e-6):
    ours = op(v, t)
    h = prox_objective(op, v, t)
    # ours is at least as good as the numerical minimiser, and the two agree
    assert h(ours.ravel()) <= h(reference.ravel()) + 1e-9
    np.testing.assert_allclose(ours, reference.reshape(v.shape), atol=atol)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_l1_and_elastic_net_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    v, t, lam, l2 = (
        rng.normal(size=6) * 2,
        rng.uniform(0.2, 2),
        rng.uniform(0.1, 1.5),
        rng.uniform(0, 2),
    )
    _check_against(prox.l1(lam), v, t, split_sign_minimise(v, t, lam))
    _check_against(prox.elastic_net(lam, l2), v, t, split_sign_minimise(v, t, lam, l2))


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_l2_and_group_l1_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    v, t, lam = rng.normal(size=6), rng.uniform(0.2, 2), rng.uniform(0.1, 1.5)
    _check_against(prox.l2(lam), v, t, norm_epigraph_minimise(v, t, lam, [np.arange(6)]), atol=1e-5)
    groups = [[0, 3], [1, 2, 5], [4]]
    weights = np.sqrt([2.0, 3.0, 1.0])
    op = prox.group_l1(lam, groups, weights)
    # weighted groups: each group's epigraph variable enters the objective with its weight
    m = v.size
    cons = [
        dict(type="ineq", fun=lambda z, g=g, i=i: z[m + i] ** 2 - z[:m][g] @ z[:m][g])
        for i, g in enumerate(groups)
    ]
    z0 = np.concatenate([v, np.ones(3) * 3])
    res = minimize(
        lambda z: lam * weights @ z[m:] + (z[:m] - v) @ (z[:m] - v) / (2 * t),
        z0,
        method="SLSQP",
        constraints=cons,
        bounds=[(None, None)] * m + [(0, None)] * 3,
        options=dict(ftol=1e-15, maxiter=1000),
    )
    ref = res.x[:m]
    _check_against(op, v, t, ref, atol=1e-5)


def test_group_l1_shrinks_rows_of_a_matrix_and_leaves_ungrouped_rows():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 3))
    out = prox.group_l1(0.5, [[0, 1], [3]])(W, 0.8)
    block = W[[0, 1]]
    expected = block * max(0.0, 1 - 0.4 / np.linalg.norm(block))
    np.testing.assert_allclose(out[[0, 1]], expected, rtol=1e-13)
    np.testing.assert_array_equal(out[2], W[2])
    np.testing.assert_allclose(out[3], W[3] * max(0.0, 1 - 0.4 / np.linalg.norm(W[3])), rtol=1e-13)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_linf_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    v, t, lam = rng.normal(size=5), rng.uniform(0.2, 2), rng.uniform(0.1, 3)
    _check_against(prox.linf(lam), v, t, linf_minimise(v, t, lam), atol=1e-5)


def factored_nuclear_minimise(V, t, lam, rng):
    """min over X = A B^T of lam (||A||^2 + ||B||^2)/2 + ||A B^T - V||^2/(2t) (smooth, L-BFGS).

    The factored form equals lam ||X||_* at its minimum over factorisations (Srebro et al.
    2005); with full-rank factors every local minimum is global, so a few starts suffice.
    """
    m, k = V.shape
    r = min(m, k)

    def fun(z):
        A, B = z[: m * r].reshape(m, r), z[m * r :].reshape(k, r)
        E = (A @ B.T - V) / t
        value = 0.5 * lam * (z @ z) + 0.5 * t * np.sum(E * E)
        return value, np.concatenate([(lam * A + E @ B).ravel(), (lam * B + E.T @ A).ravel()])

    best = None
    for _ in range(4):
        res = minimize(
            fun,
            rng.normal(size=(m + k) * r),
            jac=True,
            method="L-BFGS-B",
            options=dict(ftol=1e-15, gtol=1e-11, maxiter=20000),
        )
        if best is None or res.fun < best.fun:
            best = res
    A, B = best.x[: m * r].reshape(m, r), best.x[m * r :].reshape(k, r)
    return A @ B.T


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_nuclear_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    V, t = rng.normal(size=(2, 3)), rng.uniform(0.3, 1.5)
    s = np.linalg.svd(V, compute_uv=False)
    # one case keeps both singular values, the next kills the smaller one
    lam = (0.5 * s[1] if seed % 2 else 0.5 * (s[0] + s[1])) / t
    _check_against(prox.nuclear(lam), V, t, factored_nuclear_minimise(V, t, lam, rng), atol=1e-5)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_constraint_projections_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=5) * 2
    t = rng.uniform(0.1, 3)  # projections ignore t
    _check_against(prox.nonneg(), v, t, constrained_projection(v, bounds=[(0, None)] * 5))
    lo, hi = -0.5, np.array([0.1, 0.5, 1.0, 2.0, 3.0])
    _check_against(
        prox.box(lo, hi),
        v,
        t,
        constrained_projection(v, bounds=list(zip([lo] * 5, hi, strict=True))),
    )
    _check_against(prox.l1_ball(1.3), v, t, l1_ball_projection_split(v, 1.3))
    simplex_cons = [dict(type="eq", fun=lambda x: x.sum() - 2.0)]
    _check_against(
        prox.simplex(2.0),
        v,
        t,
        constrained_projection(v, bounds=[(0, None)] * 5, constraints=simplex_cons),
    )


def test_moreau_identity():
    """prox_{tg}(v) + t prox_{g*/t}(v/t) = v for g and its conjugate's indicator projection."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        v, t, lam = rng.normal(size=7) * 2, rng.uniform(0.1, 3), rng.uniform(0.1, 2)
        # lam ||.||_1 and the linf ball of radius lam
        np.testing.assert_allclose(
            prox.l1(lam)(v, t) + t * prox.box(-lam, lam)(v / t, 1 / t), v, atol=1e-13
        )
        # lam ||.||_inf and the l1 ball of radius lam (the identity linf is built on)
        np.testing.assert_allclose(
            prox.linf(lam)(v, t) + t * prox.l1_ball(lam)(v / t, 1 / t), v, atol=1e-13
        )
        # lam ||.||_2 and the l2 ball of radius lam
        u = v / t
        ball = u * min(1.0, lam / np.linalg.norm(u))
        np.testing.assert_allclose(prox.l2(lam)(v, t) + t * ball, v, atol=1e-13)
        # nonneg and the non-positive orthant
        np.testing.assert_allclose(prox.nonneg()(v, t) + t * np.minimum(v / t, 0), v, atol=1e-13)
        # lam ||.||_* and the spectral-norm ball of radius lam
        V = rng.normal(size=(3, 4))
        U, s, Vt = np.linalg.svd(V / t, full_matrices=False)
        spectral = (U * np.minimum(s, lam)) @ Vt
        np.testing.assert_allclose(prox.nuclear(lam)(V, t) + t * spectral, V, atol=1e-12)


@pytest.mark.parametrize(
    "op",
    [
        prox.nonneg(),
        prox.box(-0.3, 0.7),
        prox.l1_ball(1.5),
        prox.simplex(1.0),
        prox.simplex(2.5),
        prox.l1_ball(0.0),
    ],
)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_projections_idempotent_and_keep_inside_points(op, data):
    v = data.draw(arrays(data.draw(shapes(max_dims=2, max_side=6))))
    once = op(v, 1.0)
    assert op.value(once) == 0.0
    np.testing.assert_allclose(op(once, 0.3), once, atol=1e-14)


def test_inside_points_are_returned_unchanged():
    rng = np.random.default_rng(0)
    v = rng.normal(size=10)
    inside = v / np.abs(v).sum() * 0.7
    np.testing.assert_array_equal(prox.l1_ball(0.7 + 1e-9)(inside, 1.0), inside)
    np.testing.assert_array_equal(prox.l1_ball(1.0)(inside, 1.0), inside)
    on_simplex = np.abs(v) / np.abs(v).sum()
    np.testing.assert_array_equal(prox.simplex()(on_simplex, 1.0), on_simplex)
    np.testing.assert_array_equal(prox.box(-5, 5)(v, 1.0), v)
    np.testing.assert_array_equal(prox.nonneg()(np.abs(v), 1.0), np.abs(v))
    # Duchi's sort also handles points exactly on the sphere and ties
    tie = np.array([1.0, -1.0, 1.0, -1.0])
    np.testing.assert_allclose(prox.l1_ball(2.0)(tie, 1.0), tie / 2, atol=1e-15)


ALL_OPERATORS = [
    prox.l1(0.3),
    prox.l2(0.3),
    prox.group_l1(0.3, [[0, 1], [2]]),
    prox.elastic_net(0.3, 0.5),
    prox.nonneg(),
    prox.box(-0.5, 0.5),
    prox.nuclear(0.3),
    prox.l1_ball(1.0),
    prox.simplex(1.0),
    prox.linf(0.3),
]


@pytest.mark.parametrize("op", ALL_OPERATORS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_operators_are_pure_and_keep_dtype(op, dtype):
    v = np.random.default_rng(1).normal(size=(3, 4)).astype(dtype)
    before = v.copy()
    out = op(v, 0.7)
    np.testing.assert_array_equal(v, before)
    assert out.shape == v.shape and out.dtype == dtype
    assert not np.shares_memory(out, v)
    assert np.isfinite(op.value(out))


def test_integer_input_gives_float64():
    out = prox.l1(0.5)(np.array([1, -2, 3]), 1.0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.5, -1.5, 2.5])


def test_values():
    x = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert prox.l1(2.0).value(x) == 12.0
    assert prox.linf(2.0).value(x) == 6.0
    assert np.isclose(prox.l2(2.0).value(x), 2 * np.sqrt(14))
    assert np.isclose(prox.elastic_net(1.0, 2.0).value(x), 6 + 14)
    assert np.isclose(prox.nuclear(1.0).value(x), np.linalg.svd(x, compute_uv=False).sum())
    assert prox.nonneg().value(x) == np.inf and prox.nonneg().value(np.abs(x)) == 0
    assert prox.box(-2, 3).value(x) == 0 and prox.box(-1, 3).value(x) == np.inf
    assert prox.l1_ball(6).value(x) == 0 and prox.l1_ball(5.9).value(x) == np.inf
    assert prox.simplex(2).value(np.array([0.5, 1.5])) == 0 and prox.simplex(2).value(x) == np.inf
    assert np.isclose(prox.group_l1(1.0, [[0], [1]], [2.0, 1.0]).value(x), 2 * np.sqrt(5) + 3)


def test_operator_errors():
    with pytest.raises(ValueError, match="lam"):
        prox.l1(-1.0)
    with pytest.raises(ValueError, match="radius"):
        prox.l1_ball(-0.1)
    with pytest.raises(ValueError, match="t"):
        prox.l1(1.0)(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="t"):
        prox.l1(1.0)(np.ones(3), -2.0)
    with pytest.raises(ValueError, match="lo, hi"):
        prox.box(1.0, 0.0)
    with pytest.raises(ValueError, match="nuclear"):
        prox.nuclear(1.0)(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="groups: groups overlap"):
        prox.group_l1(1.0, [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="groups: group 1 is empty"):
        prox.group_l1(1.0, [[0], []])
    with pytest.raises(ValueError, match="v: groups index up to 5"):
        prox.group_l1(1.0, [[0, 5]])(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="weights"):
        prox.group_l1(1.0, [[0], [1]], weights=[1.0])
    with pytest.raises(TypeError, match="v"):
        prox.l1(1.0)(np.array(["a"]), 1.0)


# ---------------------------------------------------------------------- diagonal metric (ProxGen)
def weighted_objective(op, v, t):
    return lambda x: op.value(x.reshape(v.shape)) + np.sum((x.reshape(v.shape) - v) ** 2 / (2 * t))


def weighted_l1_minimise(v, t, lam):
    """min lam ||x||_1 + sum (x_i - v_i)^2 / (2 t_i) with x = p - q, p, q >= 0 (L-BFGS-B)."""
    m = v.size

    def fun(z):
        x = z[:m] - z[m:]
        gx = (x - v) / t
        return lam * z.sum() + np.sum((x - v) ** 2 / (2 * t)), np.concatenate([lam + gx, lam - gx])

    res = minimize(
        fun,
        np.zeros(2 * m),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * m),
        options=dict(ftol=1e-15, gtol=1e-12, maxiter=10000),
    )
    return res.x[:m] - res.x[m:]


def weighted_group_minimise(v, t, lam, groups, weights):
    """min lam sum_g w_g ||x_g|| + sum (x - v)^2/(2t), group by group (the objective is
    separable): the best of x_g = 0 and Nelder-Mead from v_g and from a point near 0."""
    x = v.copy()
    for g, w in zip(groups, weights, strict=True):
        g = np.asarray(g)

        def h(z, g=g, w=w):
            return lam * w * np.linalg.norm(z) + np.sum((z - v[g]) ** 2 / (2 * t[g]))

        candidates = [np.zeros(g.size)]
        for start in (v[g], 1e-3 * v[g]):
            res = minimize(
                h,
                start,
                method="Nelder-Mead",
                options=dict(xatol=1e-13, fatol=1e-15, maxiter=200000, maxfev=200000),
            )
            candidates.append(res.x)
        x[g] = min(candidates, key=h)
    return x


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_weighted_l1_and_elastic_net_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=7) * 2
    t = np.exp(rng.uniform(-3, 1, size=7))  # a random diagonal metric, steps over 50x
    lam = rng.uniform(0.1, 1.5)
    op = prox.l1(lam)
    ours = op(v, t)
    reference = weighted_l1_minimise(v, t, lam)
    h = weighted_objective(op, v, t)
    assert h(ours) <= h(reference) + 1e-10
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    np.testing.assert_array_equal(ours, prox.soft_threshold(v, lam * t))
    l2 = rng.uniform(0, 2)
    np.testing.assert_allclose(
        prox.elastic_net(lam, l2)(v, t), prox.soft_threshold(v, lam * t) / (1 + t * l2), rtol=1e-15
    )


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_weighted_group_l1_and_l2_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=8)
    t = np.exp(rng.uniform(-2, 1, size=8))
    lam = rng.uniform(0.2, 1.5)
    groups = [[0, 3], [1, 2, 5], [4], [6, 7]]
    weights = np.sqrt([2.0, 3.0, 1.0, 2.0])
    op = prox.group_l1(lam, groups, weights)
    ours = op(v, t)
    reference = weighted_group_minimise(v, t, lam, groups, weights)
    h = weighted_objective(op, v, t)
    assert h(ours) <= h(reference) + 1e-9
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    # a group is zero exactly when ||v_g / t_g|| <= lam w_g
    for g, w in zip(groups, weights, strict=True):
        assert (np.linalg.norm(v[g] / t[g]) <= lam * w) == np.all(ours[g] == 0)
    whole = prox.l2(lam)
    reference = weighted_group_minimise(v, t, lam, [np.arange(8)], np.ones(1))
    np.testing.assert_allclose(whole(v, t), reference, atol=1e-6)


def test_weighted_group_l1_over_filters_matches_the_loop_and_constant_t():
    """Row groups of a conv weight (the vectorised path) = one group at a time; a constant
    array t = the scalar t."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(6, 2, 3, 3))
    T = np.exp(rng.uniform(-1, 1, size=W.shape))
    op = prox.group_l1(5.0, [[i] for i in range(6)])
    rows = op(W, T)
    for i in range(6):
        alone = prox.group_l1(5.0, [[0]])(W[i : i + 1], T[i : i + 1])
        np.testing.assert_allclose(rows[i : i + 1], alone, rtol=1e-13)
    np.testing.assert_allclose(op(W, np.full(W.shape, 0.4)), op(W, 0.4), rtol=1e-12)
    assert 0 < np.count_nonzero(np.all(rows.reshape(6, -1) == 0, axis=1)) < 6
    f32 = op(W.astype(np.float32), T.astype(np.float32))
    assert f32.dtype == np.float32


@pytest.mark.parametrize("op", [prox.nonneg(), prox.box(-0.5, 0.5)], ids=["nonneg", "box"])
def test_projections_ignore_the_metric(op):
    v = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_array_equal(op(v, np.full(v.shape, 0.3) + np.arange(4)), op(v, 1.0))


@pytest.mark.parametrize(
    "op",
    [prox.nuclear(0.3), prox.l1_ball(1.0), prox.simplex(1.0), prox.linf(0.3)],
    ids=repr,
)
def test_operators_without_a_weighted_form_refuse_an_array_step(op):
    v = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"^t: .* has no closed-form prox in a diagonal metric"):
        op(v, np.full((3, 3), 0.5))
    assert op.weighted is False
    op(v, np.float64(0.5))  # a 0-d array is a scalar step


def test_array_step_errors():
    v = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^t: a per-element step must have the shape of v"):
        prox.l1(1.0)(v, np.ones(3))
    for bad in (np.nan, np.inf, 0.0, -1.0):
        t = np.ones((2, 3))
        t[1, 2] = bad
        with pytest.raises(ValueError, match=r"^t: every per-element step must be finite and > 0"):
            prox.l1(1.0)(v, t)
    with pytest.raises(ValueError, match=r"^t: must be a finite number, got inf"):
        prox.l1(1.0)(v, np.inf)


@pytest.mark.parametrize("factory", [prox.l1, prox.l2, lambda lam: prox.elastic_net(lam, 0.0)])
def test_infinite_penalties_are_refused(factory):
    with pytest.raises(ValueError, match=r"must be a finite number, got inf"):
        factory(np.inf)
