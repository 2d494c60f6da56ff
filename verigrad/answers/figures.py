"""The figures of the worked assignment (``verigrad answers --html``), each as PNG bytes.

Every function takes the numbers the answers computed (or recomputes them with the library,
never by a separate route) and returns a picture; :mod:`~verigrad.answers.html` embeds them
in the page as base64. Drawing uses matplotlib's object-oriented :class:`~matplotlib.figure.
Figure` (no pyplot state), so building the page leaves no figure open.

:data:`FIGURES` maps ``(section, part)`` to the figure functions of that question; each
function returns ``(caption, png_bytes)``.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = [
    "FIGURES",
    "figures_for",
    "convolution_window",
    "overlap_counts",
    "pooling_variants",
    "chain_rule_graph",
    "softmax_gradient_maps",
    "optimizer_trajectories",
    "crowding_tails",
    "soft_threshold_and_ista",
    "window_counts",
    "ista_iterates",
]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _png(fig, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _grid(ax, values, title, highlight=None, cmap="Blues", fmt="{:g}", vmin=None, vmax=None):
    """A matrix as coloured cells with its numbers written in; ``highlight`` = (row, col,
    height, width) outlines a block."""
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    diverging = cmap == "RdBu_r"
    for (i, j), v in np.ndenumerate(values):
        level = float(image.norm(v)) if np.ptp(values) or vmin is not None else 0.0
        strong = abs(level - 0.5) > 0.3 if diverging else level > 0.6  # white on dark cells
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                color="white" if strong else "black")  # fmt: skip
    if highlight is not None:
        r, c, h, w = highlight
        ax.add_patch(
            Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor="#d62728", linewidth=2.5)
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return image


# ---------------------------------------------------------------------------- section 5
def convolution_window(x=None, w=None, out=None, at=(0, 1)) -> tuple:
    """5(b): the kernel sliding over the input, the window of output ``at`` outlined."""
    from .convolution import INPUT, KERNEL, cross_correlate_loops

    x = INPUT if x is None else np.asarray(x)
    w = KERNEL if w is None else np.asarray(w)
    out = cross_correlate_loops(x, w) if out is None else np.asarray(out)
    i, j = at
    kh, kw = w.shape
    fig = _figure(9.0, 3.2)
    axes = fig.subplots(1, 3, width_ratios=[5, 3, 3])
    _grid(axes[0], x, f"input x (5×5), window of y[{i},{j}]", (i, j, kh, kw))
    _grid(axes[1], w, "kernel w (3×3)", cmap="Oranges")
    _grid(axes[2], out, "output y = x ⋆ w (3×3)", (i, j, 1, 1), cmap="Greens")
    products = " + ".join(f"{int(a)}·{int(b)}" for a, b in zip(
        w.ravel()[:3], x[i : i + kh, j : j + kw].ravel()[:3], strict=True))  # fmt: skip
    fig.suptitle(
        f"y[{i},{j}] = Σ w[u,v] x[{i}+u,{j}+v] = {products} + … = {out[i, j]:g}", fontsize=10
    )
    return (
        f"5(b): the 3×3 kernel slides over the 5×5 input (stride 1, no padding); each output "
        f"is the sum of the window times the kernel. Outlined: the window of y[{i},{j}] = "
        f"{out[i, j]:g}.",
        _png(fig),
    )


def window_counts(n: int = 5, k: int = 3) -> np.ndarray:
    """How many ``k×k`` windows (stride 1) of an ``n×n`` input cover each pixel."""
    ones = np.ones(n - k + 1)
    per_axis = np.convolve(ones, np.ones(k))
    return np.outer(per_axis, per_axis)


def overlap_counts(input_grad=None) -> tuple:
    """5(c): how many windows cover each pixel, beside the input gradient for g = 1."""
    from .convolution import EXPECTED_INPUT_GRAD

    grad = EXPECTED_INPUT_GRAD if input_grad is None else np.asarray(input_grad)
    counts = window_counts()
    fig = _figure(7.0, 3.3)
    axes = fig.subplots(1, 2)
    _grid(axes[0], counts, "windows covering each pixel", cmap="Purples")
    _grid(axes[1], grad, "dL/dx for dL/dy = 1 (sum of the\nkernel entries touching it)")
    return (
        "5(c): the centre pixel is in all 9 windows, a corner in 1; for an all-ones upstream "
        "gradient each pixel's gradient is the sum of the kernel entries that touch it.",
        _png(fig),
    )


# ---------------------------------------------------------------------------- section 4
def pooling_variants() -> tuple:
    """4: max, average, L2, stochastic (eval) and mixed pooling of the example (2×2, stride 2)."""
    from .. import functional as F
    from ..tensor import Tensor
    from .pooling import EXAMPLE

    x = Tensor(EXAMPLE[None, None])
    results = [
        ("max", F.max_pool2d(x, 2)),
        ("average", F.avg_pool2d(x, 2)),
        ("L2: (Σ x²)^½", F.lp_pool2d(x, 2, 2)),
        ("stochastic (eval)", F.stochastic_pool2d(x, 2, training=False)),
        ("mixed, α = 0.3", F.mixed_pool2d(x, 2, alpha=0.3)),
    ]
    fig = _figure(12.0, 2.9)
    axes = fig.subplots(1, 6, width_ratios=[4, 2, 2, 2, 2, 2])
    _grid(axes[0], EXAMPLE, "input (4×4), 2×2 windows", (0, 0, 2, 2))
    for ax, (name, out) in zip(axes[1:], results, strict=True):
        _grid(ax, out.data[0, 0], name, (0, 0, 1, 1), cmap="Greens", fmt="{:.3g}", vmin=0, vmax=6)
    return (
        "4: one 4×4 input pooled five ways with 2×2 windows and stride 2; the top-left window "
        "[1, 2; 5, 3] and its output are outlined.",
        _png(fig),
    )


# ---------------------------------------------------------------------------- section 3
def chain_rule_graph() -> tuple:
    """3: the computation graph of f(x, y) at (1, 0), values and gradients at every node."""
    from ..drawing import graph_data, render
    from ..tensor import Tensor
    from .chain_rule import f

    x, y = Tensor(1.0, requires_grad=True), Tensor(0.0, requires_grad=True)
    data = graph_data(f(x, y), names={"x": x, "y": y})
    return (
        "3: the graph autograd records for f(x, y) = (x² + σ(y)) / (3x + y − σ(x)) at (1, 0); "
        "each box shows its value and the gradient of f with respect to it (the leaves' are "
        "∂f/∂x and ∂f/∂y). A dashed box repeats an input used further right.",
        render(data, "png", dpi=90),
    )


# ---------------------------------------------------------------------------- section 2
def softmax_gradient_maps(autograd, sheet, true_class: int = 0) -> tuple:
    """2.1: the true gradient dl/dW beside the answer sheet's, and where they differ."""
    autograd, sheet = np.asarray(autograd, float), np.asarray(sheet, float)
    span = float(max(np.abs(autograd).max(), np.abs(sheet).max()))
    fig = _figure(11.0, 2.9)
    axes = fig.subplots(1, 3)
    kw = {"cmap": "RdBu_r", "fmt": "{:.3f}", "vmin": -span, "vmax": span}
    _grid(axes[0], autograd, "(ŷ − y) xᵀ = autograd", **kw)
    _grid(axes[1], sheet, "answer sheet: −x_j y_i (1 − ŷ_i)", **kw)
    image = _grid(axes[2], sheet - autograd, "sheet − truth", **kw)
    for ax in axes:
        ax.set_ylabel("class i")
        ax.set_yticks(range(autograd.shape[0]))
    fig.colorbar(image, ax=axes, shrink=0.8)
    return (
        f"2.1: dl/dW for the example (rows: classes, columns: inputs). The sheet agrees on the "
        f"true-class row {true_class} only; on every other row it says 0 where the truth is "
        "ŷ_i x_j.",
        _png(fig),
    )


# ---------------------------------------------------------------------------- section 6
def optimizer_trajectories(steps: int = 60) -> tuple:
    """6: gradient descent, momentum and Adam on the ill-conditioned quadratic x²/2 + 10y²."""
    from ..optim.test_functions import FUNCTIONS, TUNED_LR, run_optimizer

    function = FUNCTIONS["quadratic"]
    x0, x1, y0, y1 = function.box
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    z = function.formula(gx, gy)
    fig = _figure(9.5, 3.8)
    ax, ax_loss = fig.subplots(1, 2, width_ratios=[3, 2])
    ax.contour(gx, gy, z, levels=np.geomspace(0.05, z.max(), 14), colors="#adb5bd",
               linewidths=0.7)  # fmt: skip
    colours = {"sgd": "#1f77b4", "momentum": "#d62728", "adam": "#2ca02c"}
    for name, colour in colours.items():
        lr = TUNED_LR["quadratic"][name]
        run = run_optimizer(function, name, lr, steps, function.start)
        ax.plot(run.path[:, 0], run.path[:, 1], "o-", ms=2.5, lw=1, color=colour,
                label=f"{name} (lr {lr:g})")  # fmt: skip
        ax_loss.semilogy(np.maximum(run.losses, 1e-16), color=colour, label=name)
    ax.plot(*function.start, "ks", ms=6)
    ax.plot(0, 0, "k*", ms=10)
    ax.set_title(f"{function.text}: {steps} steps from {function.start}", fontsize=10)
    ax.legend(fontsize=8)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss per step", fontsize=10)
    return (
        "6: the optimizers of section 6 on an ill-conditioned quadratic: plain gradient descent "
        "zig-zags across the narrow valley, momentum (0.9) accumulates speed along it and "
        "overshoots, Adam rescales each coordinate.",
        _png(fig),
    )


# ---------------------------------------------------------------------------- section 8
def crowding_tails(high_d_distances=None, t_map=None) -> tuple:
    """8(b): the Gaussian and Student-t similarity kernels, and the distances they match."""
    d = np.linspace(0, 5, 400)
    gaussian, student = np.exp(-(d**2) / 2), 1 / (1 + d**2)
    fig = _figure(9.5, 3.5)
    ax, ax_log = fig.subplots(1, 2)
    for a in (ax, ax_log):
        a.plot(d, gaussian, label="Gaussian exp(−d²/2) (input space)", color="#1f77b4")
        a.plot(d, student, label="Student-t (1 + d²)⁻¹ (map)", color="#d62728")
        a.set_xlabel("distance d")
    ax_log.set_yscale("log")
    ax_log.set_ylim(1e-6, 1.5)
    ax.set_ylabel("similarity")
    ax.set_title("the t kernel has heavy tails", fontsize=10)
    ax_log.set_title("log scale: equal similarity, longer t distance", fontsize=10)
    if high_d_distances is not None and t_map is not None:
        for hd, td in zip(np.asarray(high_d_distances), np.asarray(t_map), strict=True):
            level = np.exp(-(hd**2) / 2)
            if level < 1e-6 or td > 5:
                continue
            ax_log.annotate("", (td, level), (hd, level),
                            arrowprops={"arrowstyle": "->", "color": "#495057"})  # fmt: skip
            ax_log.plot([hd, td], [level, level], "o", ms=3, color="#495057")
    ax.legend(fontsize=8)
    return (
        "8(b): the crowding problem. A moderate distance in the input space (Gaussian kernel) "
        "matches a much longer distance in the map under the heavy-tailed Student-t kernel "
        "(arrows: the distances of the answer), so dissimilar points can be placed far apart.",
        _png(fig),
    )


# ---------------------------------------------------------------------------- section 9
def ista_iterates(n_iter: int = 60) -> tuple:
    """The ISTA iterates ``x_k`` (one row per iteration) on the lasso of 9(B), and the step."""
    from .. import prox
    from .proximal import _lasso

    A, b, lam = _lasso()
    t = 1.0 / np.linalg.norm(A, 2) ** 2
    operator = prox.l1(lam)
    x = np.zeros(A.shape[1])
    path = [x]
    for _ in range(n_iter):
        x = operator(x - t * A.T @ (A @ x - b), t)
        path.append(x)
    return np.array(path), t


def soft_threshold_and_ista(x=None, t: float = 0.6) -> tuple:
    """9: the soft-thresholding function with the points of 9(A), and ISTA's coefficients."""
    from .. import prox

    v = np.linspace(-2.5, 2.5, 501)
    points = np.array([2.3, -0.4, 0.9, -1.7, 0.1, -0.65]) if x is None else np.asarray(x)
    operator = prox.l1(1.0)
    fig = _figure(10.0, 3.7)
    ax, ax_path = fig.subplots(1, 2)
    ax.plot(v, v, ":", color="#adb5bd", label="identity")
    ax.plot(v, operator(v, t), color="#d62728", label=f"S_t(v), t = {t:g}")
    ax.plot(points, operator(points, t), "ko", ms=4, label="the x of 9(A)")
    ax.axvspan(-t, t, color="#f8d7da", alpha=0.5, label="set to 0: |v| ≤ t")
    ax.set_xlabel("v")
    ax.set_title("prox of t‖·‖₁: soft thresholding", fontsize=10)
    ax.legend(fontsize=8)
    path, _ = ista_iterates()
    for k in range(path.shape[1]):
        ax_path.plot(path[:, k], lw=1.2)
    ax_path.axhline(0, color="black", lw=0.5)
    ax_path.set_xlabel("ISTA iteration k")
    ax_path.set_ylabel("coefficient x_k[i]")
    ax_path.set_title("ISTA on the lasso of 9(B): coefficients per iteration", fontsize=10)
    return (
        "9: soft thresholding shrinks every value by t and sets those within t of 0 to 0; "
        "ISTA alternates a gradient step on ½‖Ax − b‖² with it, and the coefficients of the "
        "zero entries of the truth are driven exactly to 0.",
        _png(fig),
    )


def figures_for(answer) -> list:
    """``[(caption, png bytes), ...]`` for one :class:`~verigrad.answers.record.Answer`."""
    makers = FIGURES.get((answer.section, answer.part), ())
    return [maker(answer) for maker in makers]


#: (section, part) -> functions of the Answer giving (caption, png)
FIGURES = {
    (2, "2.1"): (lambda a: softmax_gradient_maps(a.values["autograd"], a.values["sheet"]),),
    (3, "3"): (lambda a: chain_rule_graph(),),
    (4, "a"): (lambda a: pooling_variants(),),
    (5, "b"): (lambda a: convolution_window(out=a.values["output"]),),
    (5, "c"): (lambda a: overlap_counts(a.values["input_grad"]),),
    (6, "b"): (lambda a: optimizer_trajectories(),),
    (8, "b"): (lambda a: crowding_tails(a.values.get("high_d_distances"), a.values.get("t_map")),),
    (9, "B"): (lambda a: soft_threshold_and_ista(),),
}
