"""verigrad bench sparse: the pruning masks, the comparison rows and the figure (no training)."""

import numpy as np
import pytest

from verigrad.bench import BENCHMARKS, REFERENCES
from verigrad.bench.sparse import interpolate_prox, magnitude_masks, plot_tradeoff, rows_from


def test_registered_without_a_reference_library():
    assert BENCHMARKS["sparse"][0] == "sparse" and REFERENCES["sparse"] == ()


def test_magnitude_masks_prune_the_global_smallest():
    a = np.array([[0.1, -5.0], [0.3, 2.0]])
    b = np.array([-0.2, 4.0, 0.05])
    keep_a, keep_b = magnitude_masks([a, b], 3 / 7)
    assert keep_a.tolist() == [[False, True], [True, True]]
    assert keep_b.tolist() == [False, True, False]
    assert all(m.all() for m in magnitude_masks([a, b], 0.0))


RECORDS = [
    {"method": "dense", "seed": 0, "accuracy": 0.98, "sparsity": 0.0},
    {"method": "dense", "seed": 1, "accuracy": 0.96, "sparsity": 0.0},
    {"method": "prune", "seed": 0, "target": 0.8, "accuracy": 0.95, "sparsity": 0.8},
    {"method": "prune", "seed": 1, "target": 0.8, "accuracy": 0.93, "sparsity": 0.8},
    {"method": "prune", "seed": 0, "target": 0.9, "accuracy": 0.90, "sparsity": 0.9},
    {"method": "prox", "seed": 0, "lam": 1e-3, "accuracy": 0.97, "sparsity": 0.6},
    {"method": "prox", "seed": 1, "lam": 1e-3, "accuracy": 0.95, "sparsity": 0.7},
    {"method": "prox", "seed": 0, "lam": 3e-3, "accuracy": 0.93, "sparsity": 0.85},
    {"method": "prox", "seed": 1, "lam": 3e-3, "accuracy": 0.91, "sparsity": 0.95},
    {"method": "prox", "seed": 1, "lam": 1e-2, "collapsed": "the model collapsed to zero"},
]


def test_rows_compare_interpolated_prox_with_pruning():
    # mean curve: (0.65, 0.96) and (0.90, 0.92): at 0.8, 0.96 - 0.04 * 0.15 / 0.25 = 0.936
    assert interpolate_prox(RECORDS, 0.8) == pytest.approx(0.936)
    assert interpolate_prox(RECORDS, 0.95) is None
    rows = rows_from(RECORDS)
    assert [r.case for r in rows] == ["80% zero weights", "90% zero weights"]
    assert rows[0].ours_s == pytest.approx(6.4) and rows[0].reference_s == pytest.approx(6.0)
    assert rows[0].met is False and rows[0].extra["dense_acc"] == pytest.approx(0.97)
    assert rows[1].ours_s == pytest.approx(8.0) and rows[1].met is True


def test_figure_is_a_png(tmp_path):
    path = plot_tradeoff(RECORDS, tmp_path / "sparse.png")
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
