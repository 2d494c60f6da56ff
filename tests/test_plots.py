"""verigrad.plots: figures stay readable and bounded whatever the class count."""

import time

import numpy as np
import pytest

import verigrad.plots
from verigrad.plots import plot_confusion


def _png_size(path) -> tuple:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def _figures(monkeypatch):
    figures = []
    monkeypatch.setattr(verigrad.plots, "save_figure", lambda fig, path: figures.append(fig))
    return figures


def test_few_classes_have_counts_in_cells_and_named_ticks(monkeypatch):
    figures = _figures(monkeypatch)
    matrix = np.array([[5, 1, 0], [0, 7, 2], [1, 0, 9]])
    plot_confusion(matrix, "c.png", class_names=["a", "b", "c"])
    ax = figures[0].axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["5", "1", "7", "2", "1", "9"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


def test_many_classes_drop_cell_numbers_and_class_ticks(monkeypatch):
    figures = _figures(monkeypatch)
    n = 200
    plot_confusion(np.eye(n, dtype=np.int64) * 3, "c.png")
    fig = figures[0]
    ax = fig.axes[0]
    assert len(ax.texts) == 0 and len(ax.get_xticks()) <= 12 and len(ax.get_yticks()) <= 12
    assert max(fig.get_size_inches()) <= verigrad.plots.CONFUSION_MAX_INCHES


@pytest.mark.parametrize("n", [2000])
def test_thousands_of_classes_draw_quickly_at_a_bounded_size(tmp_path, n):
    rng = np.random.default_rng(0)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (rng.integers(0, n, 20_000), rng.integers(0, n, 20_000)), 1)
    start = time.perf_counter()
    plot_confusion(matrix, tmp_path / "c.png")
    assert time.perf_counter() - start < 20
    width, height = _png_size(tmp_path / "c.png")
    assert width <= 2000 and height <= 2000, (width, height)


def test_block_sums_keep_the_total_and_the_partial_last_block():
    matrix = np.arange(49).reshape(7, 7)
    sums = verigrad.plots._block_sums(matrix, 3)
    assert sums.shape == (3, 3) and sums.sum() == matrix.sum()
    assert sums[0, 0] == matrix[:3, :3].sum() and sums[2, 2] == matrix[6, 6]


def _embedding(n=66):
    return np.random.default_rng(0).normal(size=(n, 2))


@pytest.mark.parametrize(
    "labels", [np.arange(66) % 3, np.array(["a", "b", "c"] * 22), np.arange(66) % 3 + 0.5]
)
def test_few_distinct_labels_are_classes_with_a_legend(monkeypatch, labels):
    figures = _figures(monkeypatch)
    verigrad.plots.plot_embedding(_embedding(), "e.png", labels=labels, legend_title="kind")
    fig = figures[0]
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # no colorbar
    legend = ax.get_legend()
    assert legend is not None and legend.get_title().get_text() == "kind"
    assert [t.get_text() for t in legend.get_texts()] == [str(c) for c in np.unique(labels)]
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(colours) == 3


@pytest.mark.parametrize(
    "labels",
    [
        np.round(np.linspace(0.1, 2.5, 66), 1),  # a measurement: 25 distinct floats
        np.round(np.linspace(0.1, 2.5, 66), 1).astype(str),  # the same read as text
        np.arange(66) % 40,  # more class ids than a legend shows
    ],
)
def test_many_numeric_labels_are_coloured_by_value_with_a_colorbar(monkeypatch, labels):
    figures = _figures(monkeypatch)
    verigrad.plots.plot_embedding(_embedding(), "e.png", labels=labels, legend_title="d")
    fig = figures[0]
    ax, colorbar_ax = fig.axes
    assert ax.get_legend() is None and colorbar_ax.get_ylabel() == "d"
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_array(), labels.astype(float))
    assert points.get_cmap().name == "viridis"
    assert points.norm.vmin == labels.astype(float).min()
    assert points.norm.vmax == labels.astype(float).max()
