"""The optimizers' 2-D test functions and the trajectory runner behind ``verigrad optimize``."""

from __future__ import annotations

import numpy as np
import pytest

from verigrad import Tensor, gradcheck
from verigrad.optim.registry import OPTIMIZERS
from verigrad.optim.test_functions import FUNCTIONS, run_optimizer
from verigrad.optim.test_functions import TUNED_LR as DEFAULT_LR


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functions_have_value_zero_at_their_minima_and_autograd_gradients(name):
    function = FUNCTIONS[name]
    for x, y in function.minima:
        assert abs(function.formula(x, y)) < 1e-12
    point = Tensor(np.array(function.start, dtype=float) + 0.1, requires_grad=True)
    assert gradcheck(lambda p: function.formula(p[0], p[1]), point)


def test_sgd_path_on_the_quadratic_is_the_closed_form():
    """f = x^2/2 + 10 y^2: SGD multiplies x by (1 - lr) and y by (1 - 20 lr) each step."""
    lr, steps = 0.03, 50
    run = run_optimizer(FUNCTIONS["quadratic"], "sgd", lr, steps, (-4.0, 2.0))
    k = np.arange(steps + 1)
    expected = np.column_stack([-4.0 * (1 - lr) ** k, 2.0 * (1 - 20 * lr) ** k])
    np.testing.assert_allclose(run.path, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        run.losses, 0.5 * expected[:, 0] ** 2 + 10 * expected[:, 1] ** 2, rtol=1e-12
    )


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_default_learning_rates_make_progress(name):
    function = FUNCTIONS[name]
    for optimizer in OPTIMIZERS:
        run = run_optimizer(
            function, optimizer, DEFAULT_LR[name][optimizer], function.steps, function.start
        )
        assert not run.diverged, optimizer
        assert run.losses[-1] < 1e-3 * run.losses[0], (optimizer, run.losses[0], run.losses[-1])
