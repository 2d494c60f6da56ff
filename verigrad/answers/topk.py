"""Section 7: top-k error.

A prediction counts as correct at ``k`` when the true class is among the ``k`` classes with
the highest scores; the top-k error is the fraction of samples where it is not:

    top-k error = 1/N sum_n [ y_n not in top_k(s_n) ],
    top_k(s) = the k indices of the largest entries of s.

Top-1 error is the usual misclassification rate; ImageNet (1000 classes, many near-synonyms)
also reports top-5. The error never increases with ``k`` and is 0 at ``k = C``.
"""

from __future__ import annotations

import numpy as np

from .record import Answer, fmt

__all__ = ["answers", "top_k_error_by_sorting", "EXAMPLE_SCORES", "EXAMPLE_LABELS"]

#: 6 samples x 8 classes (distinct scores, so no ties to break)
EXAMPLE_SCORES = np.array(
    [
        [0.02, 0.60, 0.05, 0.08, 0.10, 0.06, 0.04, 0.05],
        [0.30, 0.05, 0.25, 0.10, 0.08, 0.12, 0.06, 0.04],
        [0.05, 0.10, 0.15, 0.20, 0.04, 0.02, 0.30, 0.14],
        [0.40, 0.03, 0.02, 0.05, 0.20, 0.15, 0.10, 0.05],
        [0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.06, 0.04],
        [0.11, 0.09, 0.30, 0.13, 0.07, 0.05, 0.15, 0.10],
    ]
)
EXAMPLE_LABELS = np.array([1, 2, 3, 2, 7, 1])


def top_k_error_by_sorting(scores, labels, k) -> float:
    """Brute force: sort each row, look for the label among the first ``k``."""
    misses = 0
    for row, label in zip(scores, labels, strict=True):
        ranked = sorted(range(len(row)), key=lambda c, row=row: -row[c])
        misses += label not in ranked[:k]
    return misses / len(labels)


def _short(errors: dict) -> str:
    return "{" + ", ".join(f"top-{k}: {v:.4f}" for k, v in errors.items()) + "}"


def answers() -> list:
    from ..metrics import TopKError, top_k_error

    s, y = EXAMPLE_SCORES, EXAMPLE_LABELS
    ks = (1, 5)
    lib = {k: float(top_k_error(s, y, k=k)) for k in ks}
    streaming = TopKError(ks=ks)
    streaming.update(s[:4], y[:4])
    streaming.update(s[4:], y[4:])
    stream = {int(k): float(v) for k, v in streaming.compute().items()}
    brute = {k: top_k_error_by_sorting(s, y, k) for k in ks}
    all_k = [float(top_k_error(s, y, k=k)) for k in range(1, s.shape[1])]
    ranks = [int(np.sum(row > row[label])) + 1 for row, label in zip(s, y, strict=True)]
    work = [
        f"scores (6 samples x 8 classes) = {fmt(s, 2)}",
        f"true labels = {fmt(y)}",
        f"rank of the true class in each row: {ranks} (1 = highest score)",
        "top-1 hit iff rank = 1; top-5 hit iff rank <= 5",
        f"top-k error for k = 1..7: {[round(e, 4) for e in all_k]} (non-increasing in k)",
    ]
    passed = lib == brute == stream and all(a >= b for a, b in zip(all_k, all_k[1:], strict=False))
    return [
        Answer(
            7,
            "7",
            "Top-k error: definition and an example with top-1 and top-5 error",
            f"top-1 error = {lib[1]:.4f} ({int(round(lib[1] * 6))}/6), top-5 error = {lib[5]:.4f} "
            f"({int(round(lib[5] * 6))}/6): the fraction of samples whose true class is not among "
            "the k highest scores",
            f"verigrad.metrics.top_k_error {_short(lib)} = streaming TopKError over two batches "
            f"{_short(stream)} = brute force by sorting {_short(brute)}",
            bool(passed),
            work,
            {"top1_error": lib[1], "top5_error": lib[5], "ranks": ranks},
        )
    ]
