"""Reading a table of samples from a file: ``.npy``, ``.npz`` (``X``, optional ``y``) or ``.csv``.

One place turns every way such a file can be bad into one :class:`ParameterError` naming the
parameter that gave it (``input`` for the data file, ``labels`` for the labels) and the file:
a missing, empty, truncated or corrupt file; an ``.npy`` header that declares more data than
the file holds (checked before anything is allocated, so a 20-byte file claiming 10**12 rows
costs nothing); an array larger than this machine's memory; a non-numeric, complex or
object array; a CSV whose rows differ in length or hold a damaged cell; labels that are not
one per sample or not finite. Nothing is unpickled (``allow_pickle=False``).

CSV: numbers, optionally one header row. A first row is a header only if none of its cells
is a number; a first row that mixes numbers and text is a damaged data row and is refused,
never silently dropped.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from .._checks import MissingFileError, ParameterError
from ..io import load_npy, load_npz

__all__ = ["load_table", "read_labels_file"]


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _read_csv(path: str, label_column, param: str):
    try:
        with open(path, newline="") as fh:
            rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ParameterError(param, f"cannot read {path}: {_text(exc)}") from None
    if not rows:
        raise ParameterError(param, f"{path} has no rows")
    header, first = None, 1
    numeric_cells = [_numeric(cell) for cell in rows[0]]
    if not any(numeric_cells):
        header, rows, first = [cell.strip() for cell in rows[0]], rows[1:], 2
    width = len(rows[0]) if rows else 0
    for n, row in enumerate(rows, start=first):
        if len(row) != width:
            raise ParameterError(
                param, f"{path} has rows of different lengths (row {n}: {len(row)}, not {width})"
            )
    labels = None
    if label_column is not None:
        if header is not None and label_column in header:
            index = header.index(label_column)
        else:
            try:
                index = int(label_column)
            except ValueError:
                raise ParameterError(
                    "labels",
                    f"{label_column!r} is neither a file, a column index nor a column name "
                    f"of {path}",
                ) from None
            if not -width <= index < width:
                raise ParameterError("labels", f"column {index} out of range for {width} columns")
            index %= width
        labels = np.array([row[index].strip() for row in rows])
        if all(_numeric(v) for v in labels):
            values = labels.astype(float)
            labels = values.astype(int) if np.all(values == np.round(values)) else values
        rows = [row[:index] + row[index + 1 :] for row in rows]
    for n, row in enumerate(rows, start=first):
        for cell in row:
            if not _numeric(cell):
                raise ParameterError(
                    param, f"{path} has a non-numeric value {cell.strip()!r} in row {n}"
                )
    return np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64), labels


def read_labels_file(path: str, param: str = "labels") -> np.ndarray:
    """Labels from ``.npy`` or a text file with one label per line (ints where they all are)."""
    if path.endswith(".npy"):
        return load_npy(path, param).ravel()
    try:
        with open(path) as fh:
            values = [line.strip() for line in fh if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(param, f"cannot read {path}: {_text(exc)}") from None
    try:
        return np.array([int(v) for v in values])
    except ValueError:
        return np.array(values)


def load_table(path: str, labels=None, param: str = "input"):
    """``(X, y)``: samples ``X`` (N, D) float64 and labels (or None) from ``path``.

    ``labels`` is None, a file of labels, or (for ``.csv``) a column index or header name;
    an ``.npz`` may carry its own labels as ``y``. ``X`` with more than two dimensions is
    flattened per sample. Errors name ``param`` (the data file) or ``labels``.
    """
    if not os.path.exists(path):
        raise MissingFileError(param, f"{path}: no such file")
    if os.path.isdir(path):
        raise ParameterError(param, f"{path} is a directory, not a data file")
    extension = os.path.splitext(path)[1].lower()
    label_file = labels if labels is not None and os.path.isfile(labels) else None
    column = labels if labels is not None and label_file is None else None
    y = None
    if extension == ".csv":
        X, y = _read_csv(path, column, param)
    elif extension in (".npy", ".npz"):
        if column is not None:
            raise ParameterError(
                "labels",
                f"{column!r} is not a file (a column name or index works only with .csv input)",
            )
        if extension == ".npz":
            arrays = load_npz(path, param)
            if "X" not in arrays:
                found = ", ".join(sorted(arrays)) or "no arrays"
                raise ParameterError(param, f"{path} has no array 'X' (found {found})")
            X, y = arrays["X"], arrays.get("y")
            if y is not None and y.ndim != 1:
                raise ParameterError(
                    param, f"array 'y' of {path} must be 1-D (one label per sample), got {y.shape}"
                )
        else:
            X = load_npy(path, param)
        if X.ndim < 2:
            raise ParameterError(param, f"expected a 2-D array of samples, got shape {X.shape}")
        X = X.reshape(X.shape[0], int(np.prod(X.shape[1:])))  # explicit width for N = 0
        if X.dtype.kind not in "biuf":
            raise ParameterError(param, f"expected real numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    else:
        raise ParameterError(
            param,
            f"{path}: unsupported file type {extension or '(none)'!r}; use .npy, .npz or .csv",
        )
    if label_file is not None:
        y = read_labels_file(label_file)
    if y is not None and len(y) != len(X):
        source = "labels" if label_file is not None else param
        raise ParameterError(source, f"{len(y)} labels for {len(X)} samples")
    if y is not None and y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        # a NaN label matches no class (NaN != NaN), so its point would vanish from a plot
        bad = int(np.count_nonzero(~np.isfinite(y)))
        where = "" if labels is not None else f"array 'y' of {path} "
        raise ParameterError(
            "labels" if labels is not None else param,
            f"{where}contains {bad} NaN or infinite label(s); every point needs one",
        )
    return X, y
