"""The NumPy L-BFGS: reaches the minimiser scipy finds, on convex and non-convex problems."""

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der

from verigrad.optim.lbfgs import lbfgs


def _rosen(x):
    return rosen(x), rosen_der(x)


def test_rosenbrock_reaches_the_minimum():
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    before = x0.copy()
    result = lbfgs(_rosen, x0, gtol=1e-9, max_iter=2000)
    assert result.converged and np.abs(result.x - 1).max() < 1e-6
    np.testing.assert_array_equal(x0, before)  # pure: x0 untouched
    assert all(a >= b for a, b in zip(result.history, result.history[1:], strict=False))


def test_strongly_convex_quadratic_matches_solve_and_scipy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 30))
    H = A @ A.T + 0.5 * np.eye(30)
    c = rng.standard_normal(30)

    def fun(x):
        return 0.5 * x @ H @ x - c @ x, H @ x - c

    result = lbfgs(fun, np.zeros(30), gtol=1e-10, max_iter=5000)
    # strong convexity: ||x - x*|| <= ||grad|| / lambda_min, and the gradient is tiny
    error = np.linalg.norm(result.x - np.linalg.solve(H, c))
    assert error <= np.linalg.norm(result.grad) / np.linalg.eigvalsh(H)[0] + 1e-12
    assert error < 1e-6
    ref = minimize(
        fun, np.zeros(30), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15}
    )
    assert result.f <= ref.fun + 1e-10


def test_max_iter_and_errors():
    result = lbfgs(_rosen, np.array([-1.2, 1.0]), max_iter=3)
    assert not result.converged and result.n_iter == 3 and result.message == "max_iter reached"
    with pytest.raises(FloatingPointError, match="not finite"):
        lbfgs(lambda x: (np.nan, x), np.ones(2))
    with pytest.raises(ValueError, match="m: must be"):
        lbfgs(_rosen, np.ones(2), m=0)
