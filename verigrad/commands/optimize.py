"""``verigrad optimize``: watch the optimizers of :mod:`verigrad.optim` on 2-D test functions.

Each optimizer starts from the same point; gradients come from verigrad's autograd on the
function written with Tensor operations. The figure shows the contours (log-spaced levels)
with every trajectory and the minima, next to the loss per step on a log scale; the table
gives the learning rate, the final loss, the distance to the nearest minimum and the first
step at which the loss is below ``--tol`` (every function here has minimum value 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HELP = "optimizer playground: trajectories of SGD, momentum, Adam, ... on 2-D test functions"
DESCRIPTION = """Run optimizers on a 2-D test function, draw their trajectories over its contours
and the loss per step, and print a table (final loss, distance to the minimum, steps to --tol).

  verigrad optimize                                   # rosenbrock, every optimizer
  verigrad optimize --function beale --optimizers sgd,adam --steps 500
  verigrad optimize --function himmelblau --start=-1,-1 --lr 0.01 --out h.png

Default learning rates are tuned per function and optimizer so that each converges; --lr
overrides them all. Momentum is 0.9 for momentum/nesterov, AdamW's weight decay 1e-4. Two
behaviours worth seeing in the loss panel: RMSprop at a constant rate keeps oscillating near
a minimum (its step does not shrink with the gradient), and AdamW's decoupled decay moves its
fixed point slightly off the minimum."""

__all__ = ["FUNCTIONS", "OPTIMIZERS", "TestFunction", "run_optimizer", "add_arguments", "run"]


@dataclass(frozen=True)
class TestFunction:
    """A 2-D test function ``f(x, y)`` with minimum value 0.

    ``formula`` works on NumPy arrays (for the contour grid) and on verigrad Tensors (for
    autograd) alike; ``minima`` lists every global minimiser; ``box`` is the plotted
    ``(xmin, xmax, ymin, ymax)``.
    """

    name: str
    formula: object
    minima: tuple
    start: tuple
    box: tuple
    text: str
    steps: int = 1000


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _quadratic(x, y):
    return 0.5 * x**2 + 10 * y**2


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


FUNCTIONS = {
    f.name: f
    for f in [
        TestFunction(
            "rosenbrock",
            _rosenbrock,
            ((1.0, 1.0),),
            (-1.2, 1.0),
            (-2.0, 2.0, -1.0, 3.0),
            "(1-x)^2 + 100 (y-x^2)^2",
            steps=3000,
        ),
        TestFunction(
            "beale",
            _beale,
            ((3.0, 0.5),),
            (1.0, 1.5),
            (-1.0, 4.5, -1.5, 2.0),
            "(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
        ),
        TestFunction(
            "quadratic",
            _quadratic,
            ((0.0, 0.0),),
            (-4.0, 2.0),
            (-5.0, 5.0, -3.0, 3.0),
            "x^2/2 + 10 y^2 (condition number 20)",
        ),
        TestFunction(
            "himmelblau",
            _himmelblau,
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
            _booth,
            ((1.0, 3.0),),
            (5.0, -5.0),
            (-7.0, 7.0, -6.0, 6.0),
            "(x+2y-7)^2 + (2x+y-5)^2",
        ),
        TestFunction(
            "matyas",
            _matyas,
            ((0.0, 0.0),),
            (-8.0, 6.0),
            (-10.0, 10.0, -10.0, 10.0),
            "0.26 (x^2+y^2) - 0.48 xy",
        ),
    ]
}

#: AdamW's decoupled decay here: small, so its (shifted) minimum stays near the function's
ADAMW_WEIGHT_DECAY = 1e-4

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")

#: default learning rates (function -> optimizer -> lr), tuned so each run converges
DEFAULT_LR = {
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


def _make_optimizer(name: str, params, lr: float):
    from ..optim import SGD, Adagrad, Adam, AdamW, RMSprop

    if name == "sgd":
        return SGD(params, lr=lr)
    if name == "momentum":
        return SGD(params, lr=lr, momentum=0.9)
    if name == "nesterov":
        return SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adagrad":
        return Adagrad(params, lr=lr)
    if name == "rmsprop":
        return RMSprop(params, lr=lr)
    if name == "adam":
        return Adam(params, lr=lr)
    return AdamW(params, lr=lr, weight_decay=ADAMW_WEIGHT_DECAY)


@dataclass
class Run:
    """One optimizer's run: ``path`` ``(n + 1, 2)``, ``losses`` ``(n + 1,)`` (start included)."""

    optimizer: str
    lr: float
    path: object
    losses: object
    diverged: bool

    def steps_to(self, tol: float):
        import numpy as np

        hits = np.flatnonzero(self.losses <= tol)
        return int(hits[0]) if hits.size else None


def run_optimizer(function: TestFunction, optimizer: str, lr: float, steps: int, start) -> Run:
    """Minimise ``function`` from ``start`` for ``steps`` steps; stops early if it diverges."""
    import numpy as np

    from ..tensor import Tensor

    point = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = _make_optimizer(optimizer, [point], lr)
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
    return Run(optimizer, lr, np.array(path), np.array(losses), diverged)


def _distance(function: TestFunction, point) -> float:
    return min(math.dist(point, m) for m in function.minima)


# ---------------------------------------------------------------------- command line
def add_arguments(p):
    p.add_argument(
        "--function",
        default="rosenbrock",
        metavar="NAME",
        help=f"one of {', '.join(FUNCTIONS)} (default: %(default)s)",
    )
    p.add_argument(
        "--optimizers",
        default=",".join(OPTIMIZERS),
        metavar="LIST",
        help="comma-separated subset of " + ",".join(OPTIMIZERS) + " (default: all)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per optimizer (default: 3000 for rosenbrock, else 1000)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate for every optimizer (default: tuned per function and optimizer)",
    )
    p.add_argument(
        "--start",
        default=None,
        metavar="X,Y",
        help="starting point (default: per function); write --start=-1,2 when X is negative",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="loss below which a run counts as converged (default: %(default)g)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE.png",
        help="figure to write (default: optimize-<function>.png)",
    )


def _parse(args):
    import numpy as np

    from .._checks import check_int, check_number

    if args.function not in FUNCTIONS:
        raise ValueError(
            f"--function: unknown function {args.function!r}; choose from {', '.join(FUNCTIONS)}"
        )
    function = FUNCTIONS[args.function]
    names = [n.strip().lower() for n in str(args.optimizers).split(",") if n.strip()]
    if not names:
        raise ValueError("--optimizers: give at least one optimizer")
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        raise ValueError(
            f"--optimizers: unknown optimizer(s) {', '.join(unknown)}; choose from {','.join(OPTIMIZERS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"--optimizers: an optimizer is listed twice in {args.optimizers!r}")
    steps = function.steps if args.steps is None else check_int(args.steps, "--steps", 1, 1_000_000)
    if args.lr is not None:
        check_number(args.lr, "--lr", 0.0, low_open=True)
        if not math.isfinite(args.lr):
            raise ValueError(f"--lr: must be finite, got {args.lr}")
    tol = check_number(args.tol, "--tol", 0.0, low_open=True)
    start = function.start
    if args.start is not None:
        parts = str(args.start).replace(" ", "").split(",")
        try:
            start = tuple(float(v) for v in parts)
        except ValueError:
            raise ValueError(f"--start: expected X,Y (two numbers), got {args.start!r}") from None
        if len(start) != 2 or not all(math.isfinite(v) for v in start):
            raise ValueError(f"--start: expected X,Y (two finite numbers), got {args.start!r}")
    with np.errstate(all="ignore"):
        start_loss = float(function.formula(*(np.float64(v) for v in start)))
    if not math.isfinite(start_loss):
        raise ValueError(
            f"--start: f({start[0]:g}, {start[1]:g}) is not finite (it overflows); choose a "
            f"start nearer the minimum"
        )
    out = args.out or f"optimize-{function.name}.png"
    if not str(out).lower().endswith(".png"):
        raise ValueError(f"--out: the figure is a PNG; give a FILE.png, got {out!r}")
    return function, names, steps, tol, start, out


def _table(function, runs, tol) -> str:
    head = ["optimizer", "lr", "final loss", "distance to minimum", f"steps to loss <= {tol:g}"]
    rows = []
    for r in runs:
        if r.diverged:
            rows.append([r.optimizer, f"{r.lr:g}", "diverged", "-", "-"])
            continue
        hit = r.steps_to(tol)
        rows.append(
            [
                r.optimizer,
                f"{r.lr:g}",
                f"{r.losses[-1]:.3e}",
                f"{_distance(function, r.path[-1]):.3e}",
                "-" if hit is None else str(hit),
            ]
        )
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def _view(function, runs, start):
    """The plotted box: the function's own, widened to show the start and the trajectories
    (by at most the box's size on each side, so a wild first step does not shrink the rest)."""
    import numpy as np

    x0, x1, y0, y1 = function.box
    w, h = x1 - x0, y1 - y0
    points = np.vstack([np.array([start])] + [r.path for r in runs if not r.diverged])
    (px0, py0), (px1, py1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.03 * w, 0.03 * h
    return (
        max(min(x0, px0 - pad_x), x0 - w),
        min(max(x1, px1 + pad_x), x1 + w),
        max(min(y0, py0 - pad_y), y0 - h),
        min(max(y1, py1 + pad_y), y1 + h),
    )


def _plot(function, runs, start, steps, tol, out):
    import numpy as np
    from matplotlib.colors import LogNorm

    from ..plots import new_figure, save_figure

    fig, axes = new_figure(ncols=2, size=(6.4, 5.4))
    ax, ax_loss = axes[0]
    x0, x1, y0, y1 = _view(function, runs, start)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 400), np.linspace(y0, y1, 400))
    z = function.formula(gx, gy)
    low = max(float(z.min()), 1e-3 * float(np.median(z)), 1e-6)
    levels = np.logspace(np.log10(low), np.log10(float(z.max())), 25)
    ax.contourf(
        gx,
        gy,
        np.maximum(z, low),
        levels=levels,
        norm=LogNorm(),
        cmap="Greys",
        alpha=0.3,
        extend="both",
    )
    ax.contour(
        gx, gy, np.maximum(z, low), levels=levels[::2], norm=LogNorm(), colors="0.5", linewidths=0.5
    )
    colors = [f"C{i}" for i in range(10)]
    for color, r in zip(colors, runs, strict=False):
        ax.plot(r.path[:, 0], r.path[:, 1], "-", color=color, lw=1.5, alpha=0.9)
        ax.plot(
            r.path[-1, 0], r.path[-1, 1], "o", color=color, ms=6, mec="black", mew=0.6, zorder=6
        )
    mins = np.array(function.minima)
    ax.plot(
        mins[:, 0],
        mins[:, 1],
        "*",
        color="gold",
        ms=18,
        mec="black",
        mew=0.8,
        zorder=5,
        ls="none",
        label="minimum",
    )
    ax.plot(*start, "s", color="white", ms=8, mec="black", zorder=5, ls="none", label="start")
    ax.plot([], [], "o", color="0.6", mec="black", mew=0.6, ls="none", label="end point")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{function.name}: f = {function.text}\n(log-spaced contours)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)

    floor = tol * 1e-8
    for color, r in zip(colors, runs, strict=False):
        label = f"{r.optimizer}  lr={r.lr:g}" + ("  (diverged)" if r.diverged else "")
        ax_loss.semilogy(
            np.arange(len(r.losses)), np.maximum(r.losses, floor), color=color, lw=1.5, label=label
        )
    ax_loss.axhline(tol, color="0.3", ls="--", lw=1, label=f"tol = {tol:g}")
    ax_loss.set_ylim(bottom=floor)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss f(x, y)   (clipped at tol x 1e-8)")
    ax_loss.set_title(f"loss per step, {steps} steps", fontsize=10)
    ax_loss.grid(alpha=0.3, which="major")
    ax_loss.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    return save_figure(fig, out)


def run(args) -> int:
    function, names, steps, tol, start, out = _parse(args)
    runs = [
        run_optimizer(
            function,
            name,
            args.lr if args.lr is not None else DEFAULT_LR[function.name][name],
            steps,
            start,
        )
        for name in names
    ]
    print(
        f"{function.name}: f(x, y) = {function.text}, start ({start[0]:g}, {start[1]:g}), {steps} steps"
    )
    print(_table(function, runs, tol))
    path = _plot(function, runs, start, steps, tol, out)
    print(f"wrote {path}")
    return 0
