"""``verigrad optimize``: watch the optimizers of :mod:`verigrad.optim` on the 2-D test functions
of :mod:`verigrad.optim.test_functions`.

Each optimizer starts from the same point; gradients come from verigrad's autograd on the
function written with Tensor operations. The figure shows the contours (log-spaced levels)
with every trajectory and the minima, next to the loss per step on a log scale; the table
gives the learning rate, the final loss, the distance to the nearest minimum and the first
step at which the loss is below ``--tol`` (every function here has minimum value 0).
"""

from __future__ import annotations

import math

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

__all__ = ["add_arguments", "run"]


# ---------------------------------------------------------------------- command line
def add_arguments(p):
    from ..optim.registry import OPTIMIZERS
    from ..optim.test_functions import FUNCTIONS

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

    from .._checks import ParameterError, check_finite, check_int, check_number
    from ..optim.registry import OPTIMIZERS
    from ..optim.test_functions import FUNCTIONS

    if args.function not in FUNCTIONS:
        raise ParameterError(
            "function", f"unknown function {args.function!r}; choose from {', '.join(FUNCTIONS)}"
        )
    function = FUNCTIONS[args.function]
    names = [n.strip().lower() for n in str(args.optimizers).split(",")]
    if not any(names):
        raise ParameterError("optimizers", "give at least one optimizer")
    if not all(names):
        raise ParameterError("optimizers", f"an empty name in {args.optimizers!r}")
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        raise ParameterError(
            "optimizers",
            f"unknown optimizer(s) {', '.join(unknown)}; choose from {','.join(OPTIMIZERS)}",
        )
    if len(set(names)) != len(names):
        raise ParameterError("optimizers", f"an optimizer is listed twice in {args.optimizers!r}")
    steps = function.steps if args.steps is None else check_int(args.steps, "steps", 1, 1_000_000)
    if args.lr is not None:
        check_finite(check_number(args.lr, "lr", 0.0, low_open=True), "lr")
    tol = check_finite(check_number(args.tol, "tol", 0.0, low_open=True), "tol")
    start = function.start
    if args.start is not None:
        parts = str(args.start).replace(" ", "").split(",")
        try:
            start = tuple(float(v) for v in parts)
        except ValueError:
            raise ParameterError(
                "start", f"expected X,Y (two numbers), got {args.start!r}"
            ) from None
        if len(start) != 2 or not all(math.isfinite(v) for v in start):
            raise ParameterError("start", f"expected X,Y (two finite numbers), got {args.start!r}")
    with np.errstate(all="ignore"):
        start_loss = float(function.formula(*(np.float64(v) for v in start)))
    if not math.isfinite(start_loss):
        raise ParameterError(
            "start",
            f"f({start[0]:g}, {start[1]:g}) is not finite (it overflows); choose a "
            f"start nearer the minimum",
        )
    out = f"optimize-{function.name}.png" if args.out is None else args.out
    if not str(out).strip():
        raise ParameterError("out", "give a file name, got an empty one")
    if not str(out).lower().endswith(".png"):
        raise ParameterError("out", f"the figure is a PNG; give a FILE.png, got {out!r}")
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
                f"{function.distance_to_minimum(r.path[-1]):.3e}",
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
    from ..optim.test_functions import TUNED_LR, run_optimizer

    function, names, steps, tol, start, out = _parse(args)
    runs = [
        run_optimizer(
            function,
            name,
            args.lr if args.lr is not None else TUNED_LR[function.name][name],
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
