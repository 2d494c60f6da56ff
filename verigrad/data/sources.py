"""Named data sources: ``digits``, ``mnist:DIR`` and ``FILE.npz``, whole or split for training.

A source is a string, so a run can record it and load the same samples again:

- ``digits``: the 1,797 embedded 8x8 digits (:func:`~verigrad.data.load_digits`);
- ``mnist:DIR``: the four MNIST IDX files in ``DIR`` (plain or ``.gz``), with their own test set;
- ``FILE.npz``: arrays ``X`` (``(N, D)`` with ``D`` a square, ``(N, H, W)`` or ``(N, C, H, W)``)
  and ``y`` (non-negative int labels, ``(N,)``).

Errors name the parameter ``data`` (:class:`~verigrad._checks.ParameterError`).
"""

from __future__ import annotations

import os

import numpy as np

from .._checks import MissingFileError, ParameterError
from ..io import load_npz
from .digits import load_digits
from .idx import load_mnist
from .loader import train_test_split

__all__ = ["load_dataset", "load_samples", "canonical_data", "MAX_CLASSES"]

#: the largest class count a source may have (labels are class indices below it): a label of
#: 10**9 would size a model's output layer, its gradients and a confusion matrix from it
MAX_CLASSES = 10_000


def _as_images(X: np.ndarray, name: str) -> np.ndarray:
    """``X`` as NCHW images: ``(N, D)`` with a square ``D`` -> ``(N, 1, s, s)`` (another ``D``
    stays ``(N, D)``), ``(N, H, W)`` -> ``(N, 1, H, W)``; ``(N, C, H, W)`` unchanged."""
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side == X.shape[1]:
            return X.reshape(len(X), 1, side, side)
        return X
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 4:
        return X
    raise ParameterError(
        name, f"expected X of shape (N, D), (N, H, W) or (N, C, H, W), got {X.shape}"
    )


def canonical_data(spec):
    """``spec`` with its file (``FILE.npz``) or directory (``mnist:DIR``) made an absolute real
    path; other specs (``digits``) unchanged. A run records its data this way, so it can be
    resumed or evaluated from any working directory, and two spellings of one file compare
    equal (``./d.npz``, ``d.npz``, an absolute path or a symlink)."""
    if not isinstance(spec, str):
        return spec
    if spec.startswith("mnist:") and len(spec) > len("mnist:"):
        return "mnist:" + os.path.realpath(spec[len("mnist:") :])
    if spec.endswith(".npz"):
        return os.path.realpath(spec)
    return spec


def _mnist_directory(spec: str) -> str:
    directory = spec[len("mnist:") :]
    if not directory:
        raise ParameterError("data", "give the directory as mnist:DIR")
    return directory


def load_samples(spec: str, dtype=np.float32):
    """Every sample of a source (MNIST: its train and test files together).

    Returns
    -------
    X : ndarray ``(N, C, H, W)`` (or ``(N, D)`` for a non-square ``D``) of ``dtype``
    y : ndarray ``(N,)`` int64
    """
    if spec == "digits":
        return load_digits(dtype=dtype)
    if spec.startswith("mnist:"):
        (Xtr, ytr), (Xte, yte) = load_mnist(_mnist_directory(spec), dtype=dtype, param="data")
        return np.concatenate([Xtr, Xte]), _check_labels(np.concatenate([ytr, yte]), spec)
    if not spec.endswith(".npz"):
        raise ParameterError("data", f"expected 'digits', 'mnist:DIR' or a FILE.npz, got {spec!r}")
    if not os.path.isfile(spec):
        raise MissingFileError("data", f"{spec}: no such file")
    arrays = load_npz(spec, "data")
    if "X" not in arrays or "y" not in arrays:
        raise ParameterError(
            "data", f"{spec} must hold arrays 'X' and 'y', it has {sorted(arrays)}"
        )
    X = arrays["X"]
    if X.dtype.kind not in "biuf":
        raise ParameterError("data", f"{spec}: X must hold real numbers, got dtype {X.dtype}")
    X = _as_images(X, "data").astype(dtype)
    y = np.asarray(arrays["y"])
    if len(X) == 0:
        raise ParameterError("data", f"{spec} holds no samples (X has shape {X.shape})")
    if X[0].size == 0:  # a model would be built with 0 inputs
        raise ParameterError("data", f"{spec}: X has no features (shape {X.shape})")
    if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(X) or y.min() < 0:
        raise ParameterError(
            "data", f"{spec}: y must be non-negative int labels, one per sample of X"
        )
    if not np.all(np.isfinite(X)):
        raise ParameterError("data", f"{spec}: X contains NaN or infinite values")
    return X, _check_labels(y.astype(np.int64), spec)


def _check_labels(y: np.ndarray, spec: str) -> np.ndarray:
    """Labels are class indices below :data:`MAX_CLASSES` (checked before anything is sized
    from ``y.max() + 1``)."""
    if len(y) and y.max() >= MAX_CLASSES:
        raise ParameterError(
            "data",
            f"{spec}: holds label {int(y.max())}; labels must be class indices below "
            f"{MAX_CLASSES:,}",
        )
    return y


def _check_class_ids(y: np.ndarray, spec: str) -> None:
    """Refuse labels that are not class indices 0..K-1 in any sane sense: more than half of the
    ids ``0..y.max()`` never occur. A model has ``y.max() + 1`` outputs, so ten classes with
    one relabelled 1000 would silently train 1001 (and draw a 1001 x 1001 confusion matrix);
    a class or two absent from a subset (nine of the ten digits) stays accepted."""
    ids = np.unique(y)
    n_ids = int(ids[-1]) + 1
    if 2 * len(ids) < n_ids:
        raise ParameterError(
            "data",
            f"{spec}: y holds {len(ids)} distinct labels but the largest is {int(ids[-1])}, "
            f"so {n_ids - len(ids)} of the {n_ids} class ids 0..{int(ids[-1])} never occur; "
            f"labels must be class indices 0..K-1: remap them, e.g. "
            f"y = np.unique(y, return_inverse=True)[1]",
        )


def load_dataset(spec: str, seed: int = 0, test_size: float = 0.2, dtype=np.float32):
    """A source split for training: ``(X_train, y_train, X_test, y_test, n_classes)``.

    Digits and ``.npz`` data are split (stratified, from the stream ``[seed, 1]``, so the same
    seed gives the same split on resume); MNIST comes with its own test set. ``n_classes`` is
    the largest label + 1; labels of which more than half the ids below it never occur are
    refused (they are not class indices).
    """
    if spec.startswith("mnist:"):
        (Xtr, ytr), (Xte, yte) = load_mnist(_mnist_directory(spec), dtype=dtype, param="data")
        _check_labels(np.concatenate([ytr, yte]), spec)
        if len(ytr) == 0 or len(yte) == 0:
            raise ParameterError("data", f"{spec}: the train and test files must hold samples")
        _check_class_ids(np.concatenate([ytr, yte]), spec)
        n_classes = int(max(ytr.max(), yte.max())) + 1
        return Xtr, ytr, Xte, yte, n_classes
    X, y = load_samples(spec, dtype)
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise ParameterError(
            "data", f"{spec}: training needs at least 2 classes, y holds {n_classes}"
        )
    _check_class_ids(y, spec)
    rng = np.random.default_rng([seed, 1])  # the split has its own stream: same split on resume
    try:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, rng=rng, stratify=True)
    except ParameterError as exc:
        if exc.param != "test_size":
            raise
        Xte = X[:0]  # too few samples for a split: reported below about the data
    if len(Xte) == 0:
        # each class gives round(count * test_size) samples to the test part, so a class of
        # ceil(0.5 / test_size) samples is the least that puts one there
        need = int(np.ceil(0.5 / test_size))
        raise ParameterError(
            "data",
            f"{spec}: {len(y)} samples are too few for the train/test split (test size "
            f"{test_size:g}, stratified): give at least {need} samples of one class",
        )
    return Xtr, ytr, Xte, yte, int(y.max()) + 1
