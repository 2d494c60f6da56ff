"""Mini-batches and splits, with explicit seeded randomness."""

from __future__ import annotations

import numpy as np

from .._checks import ParameterError, check_int, check_number, check_rng

__all__ = ["DataLoader", "train_test_split"]


def _check_xy(X, y):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim != 1:
        raise ParameterError(
            "y", f"expected X with a leading sample axis and 1-D y, got {X.shape} and {y.shape}"
        )
    if len(X) != len(y):
        raise ParameterError("y", f"{len(y)} labels for {len(X)} samples")
    return X, y


def train_test_split(X, y, test_size: float = 0.2, rng=None, stratify: bool = False):
    """Shuffle and split into ``X_train, X_test, y_train, y_test``.

    ``test_size`` is a fraction in (0, 1) or a count; ``stratify=True`` keeps each class's share
    in both parts. ``rng`` is a seed or ``numpy.random.Generator``.
    """
    X, y = _check_xy(X, y)
    n = len(X)
    if isinstance(test_size, float):
        check_number(test_size, "test_size", 0.0, 1.0, low_open=True, high_open=True)
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = check_int(test_size, "test_size", 1, n - 1)
    if not 0 < n_test < n:
        raise ParameterError("test_size", f"leaves an empty split for {n} samples")
    rng = check_rng(rng)
    if stratify:
        test = []
        classes, counts = np.unique(y, return_counts=True)
        for c, count in zip(classes, counts, strict=True):
            members = rng.permutation(np.flatnonzero(y == c))
            test.append(members[: int(round(count * n_test / n))])
        test_idx = np.sort(np.concatenate(test))
        mask = np.ones(n, bool)
        mask[test_idx] = False
        train_idx = rng.permutation(np.flatnonzero(mask))
        test_idx = rng.permutation(test_idx)
    else:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` mini-batches.

    With ``shuffle=True`` each pass draws a fresh permutation from ``rng`` (a seed or a
    ``numpy.random.Generator``), so a seeded loader repeats exactly; its generator state is
    part of a training checkpoint.
    """

    def __init__(
        self, X, y, batch_size: int, shuffle: bool = True, rng=None, drop_last: bool = False
    ):
        self.X, self.y = _check_xy(X, y)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = check_rng(rng)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.X[idx], self.y[idx]
