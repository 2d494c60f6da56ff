"""2-D test functions for optimizers (as ``scipy.optimize.rosen``), and a runner that records a
trajectory on one of them.

Each function is written with operators only, so it takes NumPy arrays (a contour grid) and
verigrad Tensors (autograd) alike; each has minimum value 0. :data:`TUNED_LR` holds, per
function and optimizer of :data:`~verigrad.optim.registry.OPTIMIZERS`, a learning rate with
which the optimizer converges from the function's ``start`` in its ``steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor
from .registry import make_optimizer

__all__ = [
    "TestFunction",
    "FUNCTIONS",
    "TUNED_LR",
    "ADAMW_WEIGHT_DECAY",
    "Trajectory",
    "run_optimizer",
    "rosenbrock",
    "beale",
    "quadratic",
    "himmelblau",
    "booth",
    "matyas",
]


@dataclass(frozen=True)
class TestFunction:
    """A 2-D test function ``f(x, y)`` with minimum value 0.

    ``formula`` works on NumPy arrays (for the contour grid) and on verigrad Tensors (for
    autograd) alike; ``minima`` lists every global minimiser; ``box`` is the plotted
    ``(xmin, xmax, ymin, ymax)``; ``steps`` is how many steps a run takes by default.
    """

    __test__ = False  # not a pytest test class, whatever its name

    name: str
    formula: object
    minima: tuple
    start: tuple
    box: tuple
    text: str
    steps: int = 1000

    def distance_to_minimum(self, point) -> float:
        """Euclidean distance from ``point`` ``(x, y)`` to the nearest global minimiser."""
        return min(math.dist(point, m) for m in self.minima)


def rosenbrock(x, y):
    """``(1 - x)^2 + 100 (y - x^2)^2``; minimum at (1, 1)."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def beale(x, y):
    """``(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2``; minimum at (3, 0.5)."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def quadratic(x, y):
    """``x^2 / 2 + 10 y^2`` (condition number 20); minimum at (0, 0)."""
    return 0.5 * x**2 + 10 * y**2


def himmelblau(x, y):
    """``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``; four minima, one at (3, 2)."""
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def booth(x, y):
    """``(x + 2y - 7)^2 + (2x + y - 5)^2``; minimum at (1, 3)."""
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def matyas(x, y):
    """``0.26 (x^2 + y^2) - 0.48 xy``; minimum at (0, 0)."""
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


FUNCTIONS = {
    f.name: f
    for f in [
        TestFunction(
            "rosenbrock",
            rosenbrock,
            ((1.0, 1.0),),
            (-1.2, 1.0),
            (-2.0, 2.0, -1.0, 3.0),
            "(1-x)^2 + 100 (y-x^2)^2",
            steps=3000,
        ),
        TestFunction(
            "beale",
            beale,
            ((3.0, 0.5),),
            (1.0, 1.5),
            (-1.0, 4.5, -1.5, 2.0),
            "(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
        ),
        TestFunction(
            "quadratic",
            quadratic,
            ((0.0, 0.0),),
            (-4.0, 2.0),
            (-5.0, 5.0, -3.0, 3.0),
            "x^2/2 + 10 y^2 (condition number 20)",
        ),
        TestFunction(
            "himmelblau",
            himmelblau,
            (
                (3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.283185991286170),
                (3.584428340330492, -1.848126526964404),
            ),
            (-0.5, -4.0),
            (-5.5, 5.5, -5.5, 5.5),
            "(x^2+y-11)^2 + (x+y^2-7)^2",
        ),
        TestFunction(
            "booth",
            booth,
            ((1.0, 3.0),),
            (5.0, -5.0),
            (-7.0, 7.0, -6.0, 6.0),
            "(x+2y-7)^2 + (2x+y-5)^2",
        ),
        TestFunction(
            "matyas",
            matyas,
            ((0.0, 0.0),),
            (-8.0, 6.0),
            (-10.0, 10.0, -10.0, 10.0),
            "0.26 (x^2+y^2) - 0.48 xy",
        ),
    ]
}

#: AdamW's decoupled decay on these functions: small, so its (shifted) minimum stays near the
#: function's (AdamW's default 1e-2 would move it visibly)
ADAMW_WEIGHT_DECAY = 1e-4

#: learning rates (function -> optimizer -> lr), tuned so each run converges
TUNED_LR = {
    "rosenbrock": dict(
        sgd=2e-3, momentum=2e-3, nesterov=1e-3, adagrad=1.0, rmsprop=2e-3, adam=0.05, adamw=0.05
    ),
    "beale": dict(
        sgd=0.03, momentum=3e-3, nesterov=3e-3, adagrad=1.0, rmsprop=0.01, adam=0.3, adamw=0.3
    ),
    "quadratic": dict(
        sgd=0.08, momentum=0.01, nesterov=0.03, adagrad=1.0, rmsprop=0.03, adam=0.2, adamw=0.2
    ),
    "himmelblau": dict(
        sgd=5e-3, momentum=1e-3, nesterov=3e-3, adagrad=0.5, rmsprop=0.02, adam=0.2, adamw=0.2
    ),
    "booth": dict(
        sgd=0.05, momentum=0.01, nesterov=0.02, adagrad=1.0, rmsprop=0.03, adam=0.3, adamw=0.5
    ),
    "matyas": dict(
        sgd=1.0, momentum=0.5, nesterov=0.5, adagrad=2.0, rmsprop=0.05, adam=0.5, adamw=0.5
    ),
}


@dataclass
class Trajectory:
    """One optimizer's run: ``path`` ``(n + 1, 2)``, ``losses`` ``(n + 1,)`` (start included;
    after a divergence the last loss is ``inf``)."""

    optimizer: str
    lr: float
    path: np.ndarray
    losses: np.ndarray
    diverged: bool

    def steps_to(self, tol: float) -> int | None:
        """The first step at which the loss is ``<= tol``; None if it never is."""
        hits = np.flatnonzero(self.losses <= tol)
        return int(hits[0]) if hits.size else None


def run_optimizer(
    function: TestFunction, optimizer: str, lr: float, steps: int, start
) -> Trajectory:
    """Minimise ``function`` from ``start`` with the optimizer called ``optimizer`` for ``steps``
    steps (momentum 0.9 for momentum/nesterov, AdamW's decay :data:`ADAMW_WEIGHT_DECAY`).

    A run counts as diverged, and stops, once the point is not finite or leaves the box
    ``|x|, |y| <= 1e6``.
    """
    point = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    decay = ADAMW_WEIGHT_DECAY if optimizer == "adamw" else None
    opt = make_optimizer(optimizer, [point], lr, weight_decay=decay)
    path, losses, diverged = [point.data.copy()], [], False
    for _ in range(steps):
        point.grad = None
        loss = function.formula(point[0], point[1])
        loss.backward()
        losses.append(loss.item())
        opt.step()
        if not np.all(np.isfinite(point.data)) or np.max(np.abs(point.data)) > 1e6:
            diverged = True
            break
        path.append(point.data.copy())
    final = function.formula(*path[-1]) if not diverged else math.inf
    losses.append(float(final))
    return Trajectory(optimizer, lr, np.array(path), np.array(losses), diverged)
