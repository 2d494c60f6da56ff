"""The design matrix: validation (dense or ``scipy.sparse``) and implicitly centred products.

The estimators accept ``X`` as a dense array or a ``scipy.sparse`` matrix/array of any format
(converted once to CSC float64, the layout column slices and ``X' r`` like). Centring never
densifies ``X``: with column means ``m``,

    Xc w   = X w - (m . w) 1              (centred_matvec)
    Xc' r  = X' r - m sum(r)              (centred_rmatvec)
    ||Xc_j||^2 = sum_{i in nnz(j)} (x_ij - m_j)^2 + (n - nnz_j) m_j^2    (sparse, exact)

and only small column blocks ``Xc[:, W]`` (a working set) are ever made dense.

Validation follows scikit-learn's words where its estimator checks look for them (see
:mod:`verigrad._sklearn`) and otherwise names the parameter (``X: ...``, ``y: ...``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .. import _sklearn
from .._checks import ParameterError, ParameterTypeError, as_float_array, check_finite

__all__ = [
    "check_design",
    "check_target",
    "column_sums",
    "centred_matvec",
    "centred_rmatvec",
    "centred_columns",
    "centred_sq_norms",
]


def check_design(X, estimator=None, *, reset=True, accept_sparse=True):
    """``X`` as float64/float32 dense 2-D or CSC float64 sparse, finite and non-empty.

    With ``estimator``: ``reset`` records ``n_features_in_`` (and a DataFrame's
    ``feature_names_in_``, through scikit-learn when installed); otherwise the number of
    features must match the fitted one.
    """
    original = X
    if sp.issparse(X):
        if not accept_sparse:
            as_float_array(X, "X")  # refuses sparse input, with a dense suggestion
        X = sp.csc_matrix(X, dtype=np.float64)
        if not np.all(np.isfinite(X.data)):
            check_finite(X.data, "X")
    else:
        X = _sklearn.numeric_array(X, "X", ParameterError, ParameterTypeError)
        if X.ndim == 1:
            raise ParameterError(
                "X", f"expected a 2-D array, got shape {X.shape}; {_sklearn.RESHAPE_HINT}"
            )
        X = as_float_array(X, "X", ndim=2)
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise ParameterError("X", _sklearn.too_few_message(X.shape, what))
    if estimator is not None:
        if not reset:
            expected = getattr(estimator, "n_features_in_", X.shape[1])
            if X.shape[1] != expected:
                text = _sklearn.n_features_message(X.shape[1], estimator, expected)
                raise ParameterError(
                    "X", f"expected {expected} features, got {X.shape[1]} ({text})"
                )
        _sklearn.record_features(estimator, original, reset)
    return X


def check_target(y, n_samples: int, numeric: bool = True) -> np.ndarray:
    """``y`` as a 1-D array of ``n_samples`` entries (float64 and finite when ``numeric``).

    A column vector ``(n, 1)`` is raveled with a ``DataConversionWarning``, as scikit-learn
    does; ``None`` is refused in scikit-learn's words.
    """
    if y is None:
        raise ParameterError("y", f"this estimator {_sklearn.Y_REQUIRED}")
    if numeric:
        y = _sklearn.numeric_array(y, "y", ParameterError, ParameterTypeError)
        y = as_float_array(y, "y", ndim=(1, 2))
    else:
        y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled",
            _sklearn.DataConversionWarning,
            stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ParameterError("y", f"expected a 1-D array, got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ParameterError(
            "y",
            f"expected {n_samples} entries, one per sample of X "
            f"(X, y: X has {n_samples} samples but y has {y.shape[0]})",
        )
    if numeric:
        y = check_finite(y.astype(np.float64, copy=False), "y")
    return y


def column_sums(X) -> np.ndarray:
    """``1' X`` ``(p,)`` (one gemv for dense ``X``)."""
    if sp.issparse(X):
        return np.asarray(X.sum(axis=0)).ravel()
    return np.ones(X.shape[0]) @ X


def centred_matvec(X, x_mean, w) -> np.ndarray:
    """``(X - 1 x_mean') w`` without forming the centred matrix (``x_mean`` None: ``X w``)."""
    out = np.asarray(X @ w, dtype=np.float64).ravel()
    if x_mean is not None:
        out -= float(x_mean @ w)
    return out


def centred_rmatvec(X, x_mean, r) -> np.ndarray:
    """``(X - 1 x_mean')' r`` without forming the centred matrix."""
    out = np.asarray(X.T @ r, dtype=np.float64).ravel()
    if x_mean is not None:
        out -= x_mean * float(r.sum())
    return out


def centred_columns(X, x_mean, cols) -> np.ndarray:
    """The dense block ``Xc[:, cols]`` ``(n, len(cols))`` (a copy; ``X`` is untouched)."""
    block = X[:, cols].toarray() if sp.issparse(X) else X[:, cols]
    if x_mean is not None:
        block -= x_mean[cols]
    return block


def centred_sq_norms(X, x_mean) -> np.ndarray:
    """``||X_j - x_mean_j||^2`` per column of a sparse CSC ``X``, exactly (module docstring)."""
    X = sp.csc_matrix(X)
    nnz = np.diff(X.indptr)
    column = np.repeat(np.arange(X.shape[1]), nnz)
    if x_mean is None:
        return np.bincount(column, weights=X.data * X.data, minlength=X.shape[1])
    shifted = X.data - x_mean[column]
    out = np.bincount(column, weights=shifted * shifted, minlength=X.shape[1])
    out += (X.shape[0] - nnz) * x_mean * x_mean
    return out
