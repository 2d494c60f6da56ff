"""proximal_gradient: textbook FISTA iterates, O(1/k^2) bound, step-size behaviour, restart."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verigrad import prox


def least_squares(n, p, seed, ridge=0.0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, p))
    b = rng.normal(size=n)

    def f(x):
        r = A @ x - b
        return 0.5 * r @ r + 0.5 * ridge * x @ x

    def grad_f(x):
        return A.T @ (A @ x - b) + ridge * x

    L = np.linalg.eigvalsh(A.T @ A)[-1] + ridge
    return f, grad_f, L


def reference_solution(f, grad_f, g, L, p):
    res = prox.proximal_gradient(
        f, grad_f, g, np.zeros(p), lipschitz=L, backtracking=False, tol=0.0, max_iter=20000
    )
    return res.x, res.history.min()


def textbook_fista(grad_f, g, x0, step, n_iter):
    """Beck & Teboulle 2009, FISTA with constant step, written out plainly."""
    x_prev = x0.copy()
    y = x0.copy()
    t = 1.0
    xs = []
    for _ in range(n_iter):
        x = g(y - step * grad_f(y), step)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        y = x + ((t - 1) / t_next) * (x - x_prev)
        x_prev, t = x, t_next
        xs.append(x)
    return xs


def test_fista_iterates_match_the_textbook_algorithm():
    f, grad_f, L = least_squares(20, 30, 0)
    g = prox.l1(0.5)
    x0 = np.random.default_rng(1).normal(size=30)
    res = prox.proximal_gradient(
        f, grad_f, g, x0, step=1 / L, restart=False, backtracking=False, tol=0.0, max_iter=60
    )
    xs = textbook_fista(grad_f, g, x0, 1 / L, 60)
    np.testing.assert_allclose(res.x, xs[-1], rtol=1e-10, atol=1e-12)
    expected = [f(x) + g.value(x) for x in xs]
    np.testing.assert_allclose(res.history[1:], expected, rtol=1e-10)
    assert res.n_iter == 60 and not res.converged


@pytest.mark.parametrize("ridge", [0.0, 1.0], ids=["plain-convex", "strongly-convex"])
def test_fista_rate_is_o_one_over_k_squared(ridge):
    # plain convex: 40 x 60 least squares (singular Hessian); strongly convex: + ridge
    f, grad_f, L = least_squares(40, 60, 2, ridge)
    g = prox.l1(0.3)
    x_star, f_star = reference_solution(f, grad_f, g, L, 60)
    x0 = np.full(60, 2.0)
    res = prox.proximal_gradient(
        f, grad_f, g, x0, lipschitz=L, restart=False, backtracking=False, tol=0.0, max_iter=400
    )
    k = np.arange(1, 401)
    excess = res.history[1:] - f_star
    bound = 2 * L * np.sum((x0 - x_star) ** 2)
    assert np.all((k + 1) ** 2 * excess <= bound)
    # ISTA only has the O(1/k) bound and is far behind after the same number of steps
    ista = prox.proximal_gradient(
        f, grad_f, g, x0, lipschitz=L, accelerated=False, backtracking=False, tol=0.0, max_iter=400
    )
    assert np.all(k * (ista.history[1:] - f_star) <= 0.5 * L * np.sum((x0 - x_star) ** 2) + 1e-9)
    assert excess[99] < 0.1 * (ista.history[100] - f_star)


def test_step_above_one_over_l_diverges_without_backtracking_and_not_with_it():
    f, grad_f, L = least_squares(30, 10, 3)
    g = prox.l1(0.1)
    x0 = np.ones(10)
    for accelerated in (False, True):
        bad = prox.proximal_gradient(
            f,
            grad_f,
            g,
            x0,
            step=2.5 / L,
            accelerated=accelerated,
            backtracking=False,
            tol=0.0,
            max_iter=300,
        )
        assert not bad.converged
        assert bad.message == "diverged" or bad.history[-1] > 1e10 * bad.history[0]
        good = prox.proximal_gradient(
            f,
            grad_f,
            g,
            x0,
            step=2.5 / L,
            accelerated=accelerated,
            backtracking=True,
            tol=1e-12,
            max_iter=5000,
        )
        _, f_star = reference_solution(f, grad_f, g, L, 10)
        assert good.history[-1] - f_star <= 1e-8 * abs(f_star)
        # the line search shrank the step, never below eta / L (Beck & Teboulle's guarantee)
        assert 0.5 / L <= good.step <= 1.25 / L + 1e-15
        # each gradient computed once per accepted step
        assert good.n_grad == good.n_iter
        if not accelerated:
            assert np.all(np.diff(good.history) <= 1e-12 * abs(f_star))


def test_default_step_uses_a_power_iteration_estimate():
    f, grad_f, L = least_squares(50, 20, 4)
    estimate = prox.estimate_lipschitz(grad_f, np.zeros(20), n_iter=100)
    assert abs(estimate - L) <= 1e-6 * L
    res = prox.proximal_gradient(
        f, grad_f, prox.l1(0.2), np.zeros(20), backtracking=False, tol=1e-12
    )
    assert res.converged
    assert 1.0 <= res.lipschitz / L <= 1.06
    _, f_star = reference_solution(f, grad_f, prox.l1(0.2), L, 20)
    assert res.history[-1] - f_star <= 1e-8 * abs(f_star)


def test_adaptive_restart_speeds_up_an_ill_conditioned_strongly_convex_problem():
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    H = (Q * np.logspace(-3, 0, 30)) @ Q.T
    c = rng.normal(size=30)

    def f(x):
        return 0.5 * x @ H @ x - c @ x

    def grad_f(x):
        return H @ x - c

    g = prox.l1(1e-3)
    _, f_star = reference_solution(f, grad_f, g, 1.0, 30)

    def iterations_to(restart):
        res = prox.proximal_gradient(
            f,
            grad_f,
            g,
            np.zeros(30),
            lipschitz=1.0,
            restart=restart,
            backtracking=False,
            tol=0.0,
            max_iter=5000,
        )
        hit = np.flatnonzero(res.history - f_star <= 1e-9 * abs(f_star))
        return (hit[0] if hit.size else math.inf), res.n_restarts

    plain, _ = iterations_to(False)
    function, n_function = iterations_to("function")
    gradient, n_gradient = iterations_to("gradient")
    assert n_function > 0 and n_gradient > 0
    assert function < 0.7 * plain and gradient < 0.7 * plain


def test_tolerance_and_callback_stop_the_run():
    f, grad_f, L = least_squares(30, 10, 6)
    res = prox.proximal_gradient(f, grad_f, prox.nonneg(), np.zeros(10), lipschitz=L, tol=1e-6)
    assert res.converged and res.message == "tolerance reached" and res.n_iter < 10000
    assert len(res.history) == res.n_iter + 1
    seen = []

    def callback(k, x, objective):
        seen.append((k, objective))
        return k == 7

    res = prox.proximal_gradient(
        f, grad_f, prox.nonneg(), np.zeros(10), lipschitz=L, tol=0.0, callback=callback
    )
    assert res.n_iter == 7 and res.message == "callback"
    assert [k for k, _ in seen] == list(range(1, 8))
    assert seen[-1][1] == res.history[-1]


def test_plain_callable_prox_and_input_not_modified():
    f, grad_f, L = least_squares(30, 10, 7)
    x0 = np.ones(10)
    res = prox.proximal_gradient(
        f, grad_f, lambda v, t: np.maximum(v, 0), x0, lipschitz=L, tol=1e-12
    )
    np.testing.assert_array_equal(x0, np.ones(10))
    expected = prox.proximal_gradient(f, grad_f, prox.nonneg(), x0, lipschitz=L, tol=1e-12)
    np.testing.assert_allclose(res.x, expected.x, atol=1e-6)
    assert res.x.dtype == np.float64
    assert (
        prox.proximal_gradient(
            f, grad_f, prox.nonneg(), x0.astype(np.float32), lipschitz=L, max_iter=3
        ).x.dtype
        == np.float32
    )


def test_solver_errors():
    f, grad_f, L = least_squares(5, 3, 8)
    x0 = np.zeros(3)
    with pytest.raises(ValueError, match="tol"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), x0, tol=-1)
    with pytest.raises(ValueError, match="max_iter"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), x0, max_iter=0)
    with pytest.raises(ValueError, match="step"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), x0, step=0.0)
    with pytest.raises(ValueError, match="lipschitz"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), x0, lipschitz=-1.0)
    with pytest.raises(TypeError, match="prox"):
        prox.proximal_gradient(f, grad_f, "l1", x0)
    with pytest.raises(TypeError, match="grad_f"):
        prox.proximal_gradient(f, None, prox.l1(1), x0)
    with pytest.raises(ValueError, match="x0"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), np.array([np.nan, 0, 0]))
    with pytest.raises(ValueError, match="restart"):
        prox.proximal_gradient(f, grad_f, prox.l1(1), x0, restart="sometimes")


@pytest.mark.parametrize("known_step", [True, False])
def test_callables_returning_the_wrong_shape_are_named(known_step):
    f, grad_f, L = least_squares(5, 4, 9)
    x0 = np.ones(4)
    kwargs = {"step": 1.0 / L} if known_step else {}  # False: estimate_lipschitz sees it first
    with pytest.raises(ValueError, match=r"grad_f: .*\(4,\), got \(3,\)"):
        prox.proximal_gradient(f, lambda x: grad_f(x)[:3], prox.l1(0.1), x0, **kwargs)
    with pytest.raises(ValueError, match=r"f: must return a scalar, .*shape \(4,\)"):
        prox.proximal_gradient(lambda x: x * x, grad_f, prox.l1(0.1), x0, **kwargs)
    with pytest.raises(TypeError, match="f: must return a real number, got NoneType"):
        prox.proximal_gradient(lambda x: None, grad_f, prox.l1(0.1), x0, **kwargs)
    with pytest.raises(ValueError, match=r"prox: .*\(4,\), got \(\)"):
        prox.proximal_gradient(f, grad_f, lambda v, t: float(v.sum()), x0, **kwargs)
    with pytest.raises(ValueError, match=r"grad_f: .*\(4,\), got \(3,\)"):
        prox.estimate_lipschitz(lambda x: np.ones(3), x0)


@pytest.mark.parametrize(
    "f, grad_f, param",
    [
        (lambda x: float("nan"), lambda x: 2 * x, "f"),
        (lambda x: float("inf"), lambda x: 2 * x, "f"),
        (lambda x: float(x @ x), lambda x: x * np.nan, "grad_f"),
    ],
)
def test_a_non_finite_start_is_refused_naming_the_callable(f, grad_f, param):
    """Before, a NaN objective at x0 ran and returned message='diverged' with a NaN history."""
    with pytest.raises(ValueError, match=f"^{param}: "):
        prox.proximal_gradient(f, grad_f, prox.l1(0.1), np.ones(2), lipschitz=2.0)
    with pytest.raises(ValueError, match=f"^{param}: "):
        prox.proximal_gradient(f, grad_f, prox.l1(0.1), np.ones(2))  # Lipschitz estimate first
