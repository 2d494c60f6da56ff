"""Figures a person looks at: training curves, confusion matrices, embeddings.

All functions draw with matplotlib's non-interactive Agg backend and write a PNG; they take
plain arrays, so any part of verigrad (train, tsne, optimize, answers) can use them.
"""

from __future__ import annotations

import os

import numpy as np

from ._checks import ParameterError

__all__ = [
    "plot_curves",
    "plot_confusion",
    "plot_embedding",
    "plot_layer_sparsity",
    "new_figure",
    "save_figure",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def new_figure(ncols: int = 1, nrows: int = 1, size=(6.0, 4.5)):
    plt = _pyplot()
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False
    )
    return fig, axes


def save_figure(fig, path, dpi: int = 110) -> str:
    """Save ``fig`` to ``path`` (PNG) atomically and close it."""
    from .io import _atomic_write

    path = os.fspath(path)
    _atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight"))
    _pyplot().close(fig)
    return path


def plot_curves(epochs, series: dict, path, title: str = "") -> str:
    """Line plots per epoch. ``series`` maps a panel title to ``{label: values}``."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = new_figure(ncols=len(series), size=(5.2, 4.0))
    for ax, (panel, lines) in zip(axes[0], series.items(), strict=True):
        # whole epochs only: a short run would otherwise get ticks at 0.96 or 1.5
        if len(epochs) <= 10:
            ax.set_xticks(list(epochs))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for label, values in lines.items():
            values = np.asarray(values, dtype=float)
            ax.plot(epochs[: len(values)], values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(panel)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


#: up to this many classes the confusion figure writes each count in its cell and names each
#: class on the axes; beyond, cells are too small to read (the figure's size is capped)
CONFUSION_ANNOTATED_MAX = 30

#: the confusion figure's largest side in inches (at 110 dpi, about 1,300 pixels)
CONFUSION_MAX_INCHES = 12.0

#: a confusion matrix with more classes than this is drawn in blocks of classes summed: the
#: figure has fewer pixels than cells anyway, and imshow would copy the whole matrix as floats
CONFUSION_MAX_CELLS = 500


def plot_confusion(matrix, path, class_names=None, title: str = "Confusion matrix") -> str:
    """A confusion matrix (rows: true class, columns: predicted), counts written in the cells.

    Up to :data:`CONFUSION_ANNOTATED_MAX` classes every cell shows its count and every class
    its name; beyond, the axes carry a few class indices and the counts are the colour only.
    The figure is at most :data:`CONFUSION_MAX_INCHES` a side whatever the class count, and
    above :data:`CONFUSION_MAX_CELLS` classes each drawn cell sums a ``k x k`` block of classes
    (said in the title), so time and memory stay bounded up to ``data.MAX_CLASSES``.
    """
    from matplotlib.ticker import MaxNLocator

    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    side = min(CONFUSION_MAX_INCHES, 0.5 * n + 2.0)
    fig, axes = new_figure(size=(min(CONFUSION_MAX_INCHES, 0.55 * n + 2.5), side))
    ax = axes[0, 0]
    block = -(-n // CONFUSION_MAX_CELLS)  # ceil: classes per drawn cell
    shown = _block_sums(matrix, block) if block > 1 else matrix
    extent = None if block == 1 else (-0.5, n - 0.5, n - 0.5, -0.5)
    image = ax.imshow(shown, cmap="Blues", extent=extent, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if n <= CONFUSION_ANNOTATED_MAX:
        names = [str(c) for c in (class_names if class_names is not None else range(n))]
        ax.set_xticks(range(n), names)
        ax.set_yticks(range(n), names)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlabel("predicted" + ("" if n <= CONFUSION_ANNOTATED_MAX else " (class index)"))
    ax.set_ylabel("true" + ("" if n <= CONFUSION_ANNOTATED_MAX else " (class index)"))
    if block > 1:
        title = f"{title}\n({n} classes; each cell sums {block} x {block} classes)"
    ax.set_title(title)
    if n <= CONFUSION_ANNOTATED_MAX:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i, j in zip(*np.nonzero(matrix), strict=True):
            ax.text(
                j,
                i,
                f"{matrix[i, j]:g}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if matrix[i, j] > threshold else "black",
            )
    return save_figure(fig, path)


def _block_sums(matrix: np.ndarray, block: int) -> np.ndarray:
    """``matrix`` (n, n) summed over ``block x block`` tiles (the last ones partial), without
    a copy of the whole matrix."""
    starts = np.arange(0, matrix.shape[0], block)
    rows = np.add.reduceat(matrix, starts, axis=0)
    return np.add.reduceat(rows, starts, axis=1)


#: at most this many distinct labels get a colour each and a legend; numeric labels with more
#: (a measurement, not a class) are coloured by value with a colorbar instead
LEGEND_MAX = 20


def _numeric(labels: np.ndarray):
    """``labels`` as float64 if they are all numbers (numbers read as text too), else None."""
    if labels.dtype.kind in "biuf":
        return labels.astype(np.float64)
    if labels.dtype.kind in "US":
        try:
            return labels.astype(np.float64)
        except ValueError:
            return None
    return None


def plot_embedding(Y, path, labels=None, title: str = "", legend_title: str = "class") -> str:
    """A 2-D (or 1-D, drawn against a jitter) scatter of an embedding, coloured by ``labels``.

    Up to :data:`LEGEND_MAX` distinct labels are classes: a colour each (tab10/tab20) and a
    legend titled ``legend_title``. More distinct *numeric* labels (a continuous column, or
    many class ids) are coloured by value with a continuous colormap and a colorbar labelled
    ``legend_title``; more distinct non-numeric labels get repeating colours and no legend.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[1] not in (1, 2):
        raise ParameterError("Y", f"expected an embedding of shape (N, 1) or (N, 2), got {Y.shape}")
    if Y.shape[1] == 1:
        rng = np.random.default_rng(0)
        Y = np.column_stack([Y[:, 0], rng.uniform(-1, 1, len(Y))])
    fig, axes = new_figure(size=(6.5, 6.0))
    ax = axes[0, 0]
    size = max(2.0, min(20.0, 4000.0 / max(len(Y), 1)))
    labels = None if labels is None else np.asarray(labels)
    classes = None if labels is None else np.unique(labels)
    values = None if labels is None else _numeric(labels)
    if labels is None:
        ax.scatter(Y[:, 0], Y[:, 1], s=size, alpha=0.7, linewidths=0)
    elif len(classes) > LEGEND_MAX and values is not None:
        points = ax.scatter(
            Y[:, 0], Y[:, 1], c=values, cmap="viridis", s=size, alpha=0.8, linewidths=0
        )
        fig.colorbar(points, ax=ax, fraction=0.046, pad=0.04, label=legend_title)
    else:
        cmap = _pyplot().get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, c in enumerate(classes):
            members = labels == c
            ax.scatter(
                Y[members, 0],
                Y[members, 1],
                s=size,
                alpha=0.8,
                linewidths=0,
                color=cmap(i % cmap.N),
                label=str(c),
            )
        if len(classes) <= LEGEND_MAX:
            ax.legend(
                title=legend_title,
                markerscale=max(1.0, 12 / size),
                fontsize=8,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return save_figure(fig, path)


def plot_layer_sparsity(layers, path, title: str = "Sparsity per layer") -> str:
    """Bars per layer: the percentage of zero weights and, for layers with filters or hidden
    neurons, of removable ones. ``layers``: records with ``layer``, ``kind``, ``weights``,
    ``zero_weights`` and ``zero_units`` (None where the layer has no prunable units), as
    :func:`verigrad.training.compact.layer_sparsity` returns."""
    layers = list(layers)
    if not layers:
        raise ParameterError("layers", "expected at least one layer record")
    fig, axes = new_figure(size=(max(4.5, 1.3 * len(layers) + 2.0), 4.0))
    ax = axes[0, 0]
    x = np.arange(len(layers))
    width = 0.38
    weights = [100 * r["zero_weights"] for r in layers]
    units = [100 * r["zero_units"] if r.get("zero_units") is not None else 0.0 for r in layers]
    bars = ax.bar(x - width / 2, weights, width, label="zero weights", color="#4c72b0")
    unit_bars = ax.bar(x + width / 2, units, width, label="zero filters / neurons", color="#dd8452")
    for rect, value in zip(bars, weights, strict=True):
        ax.annotate(
            f"{value:.0f}%",
            (rect.get_x() + rect.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    for rect, record in zip(unit_bars, layers, strict=True):
        if record.get("zero_units") is None:
            ax.annotate(
                "n/a",
                (rect.get_x() + rect.get_width() / 2, 0),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#777",
            )
        else:
            ax.annotate(
                f"{100 * record['zero_units']:.0f}%",
                (rect.get_x() + rect.get_width() / 2, 100 * record["zero_units"]),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(
        x, [f"{r['kind']} {r['layer']}\n{r['weights']:,} weights" for r in layers], fontsize=8
    )
    ax.set_ylim(0, 112)
    ax.set_ylabel("% zero")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)
