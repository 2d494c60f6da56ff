"""scikit-learn, optional: the estimator base classes and the words its checks expect.

At the bottom of the stack (imports nothing of verigrad). With scikit-learn installed the
bases are scikit-learn's own (``BaseEstimator``, ``RegressorMixin``, ``ClassifierMixin``,
``TransformerMixin``), so verigrad's estimators are full scikit-learn estimators: ``clone``,
pipelines, grid searches, ``__sklearn_tags__``, ``check_estimator``. Without it, minimal
equivalents keep them working: ``get_params``/``set_params`` from the ``__init__`` signature,
``score`` (R^2 or accuracy), ``fit_transform``, and scikit-learn's repr of changed
parameters. This is the compatibility-layer approach of LightGBM and XGBoost.

Also here: :class:`NotFittedError` (scikit-learn's, and a ``RuntimeError`` as verigrad's
estimators raised before), :func:`record_features` (``n_features_in_`` and
``feature_names_in_`` as scikit-learn keeps them) and the messages scikit-learn's estimator
checks look for, as text for the callers' own error types (:func:`numeric_array` takes them
as arguments).
"""

from __future__ import annotations

import inspect

import numpy as np

__all__ = [
    "HAS_SKLEARN",
    "BaseEstimator",
    "RegressorMixin",
    "ClassifierMixin",
    "TransformerMixin",
    "NotFittedError",
    "DataConversionWarning",
    "record_features",
    "numeric_array",
    "n_features_message",
    "too_few_message",
    "RESHAPE_HINT",
    "Y_REQUIRED",
]

RESHAPE_HINT = (
    "Reshape your data either using array.reshape(-1, 1) if your data has a single feature "
    "or array.reshape(1, -1) if it contains a single sample"
)
#: scikit-learn's words for ``fit(X, None)`` on an estimator that needs ``y``
Y_REQUIRED = "requires y to be passed, but the target y is None"


def n_features_message(got: int, estimator, expected: int) -> str:
    """scikit-learn's words for a feature-count mismatch after ``fit``."""
    name = type(estimator).__name__
    return f"X has {got} features, but {name} is expecting {expected} features as input"


def too_few_message(shape, what: str) -> str:
    """scikit-learn's words for an array with no samples (``what="sample"``) or features."""
    return f"0 {what}(s) (shape={tuple(shape)}) while a minimum of 1 is required."


def numeric_array(x, name, value_error=ValueError, type_error=TypeError) -> np.ndarray:
    """``x`` as a real ndarray (an object array of numbers becomes float64); complex or
    non-numeric data raise ``type_error(name, reason)`` / ``value_error(name, reason)`` in
    scikit-learn's words ("Complex data not supported", NumPy's "float() argument must be a
    string or a real number")."""
    a = (
        x.data
        if hasattr(x, "requires_grad") and isinstance(getattr(x, "data", None), np.ndarray)
        else x
    )
    try:
        a = np.asarray(a)
        if a.dtype.kind == "O":
            a = a.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise type_error(name, f"expected numbers ({exc})") from None
    if a.dtype.kind == "c":
        raise value_error(name, f"Complex data not supported, got dtype {a.dtype}")
    return a


try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.exceptions import DataConversionWarning
    from sklearn.exceptions import NotFittedError as _SklearnNotFitted
    from sklearn.utils.validation import validate_data as _validate_data

    HAS_SKLEARN = True

    class NotFittedError(_SklearnNotFitted, RuntimeError):
        """``predict``/``transform`` before ``fit`` (scikit-learn's ``NotFittedError``)."""

    def record_features(estimator, X, reset: bool) -> None:
        """Set (``reset``) or check ``n_features_in_`` and ``feature_names_in_`` from ``X``
        (before its conversion to an array, so a DataFrame's column names count)."""
        _validate_data(estimator, X, reset=reset, skip_check_array=True)

except ImportError:
    HAS_SKLEARN = False

    class NotFittedError(ValueError, AttributeError, RuntimeError):
        """``predict``/``transform`` before ``fit``."""

    class DataConversionWarning(UserWarning):
        """Input converted as scikit-learn would (a column-vector ``y`` raveled)."""

    def record_features(estimator, X, reset: bool) -> None:
        """Set ``n_features_in_`` from ``X`` when ``reset`` (the caller checks it otherwise)."""
        if reset:
            estimator.n_features_in_ = int(np.shape(X)[1])

    class BaseEstimator:
        """``get_params``/``set_params`` from the ``__init__`` signature, as scikit-learn's."""

        @classmethod
        def _get_param_names(cls):
            if cls.__init__ is object.__init__:
                return []
            signature = inspect.signature(cls.__init__)
            return sorted(
                p.name
                for p in signature.parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD
            )

        def get_params(self, deep=True):
            """The hyperparameters as a dict (``deep`` is accepted for compatibility)."""
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            """Set hyperparameters by name; returns ``self``."""
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(
                        f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                        f"Valid parameters are: {valid!r}."
                    )
                setattr(self, name, value)
            return self

        def __repr__(self):
            defaults = {
                p.name: p.default
                for p in inspect.signature(type(self).__init__).parameters.values()
            }
            changed = []
            for name, value in self.get_params().items():
                default = defaults.get(name, inspect.Parameter.empty)
                same = default is value or (
                    not isinstance(value, np.ndarray) and _equal(default, value)
                )
                if not same:
                    changed.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    def _equal(a, b) -> bool:
        try:
            return bool(a == b) and type(a) is type(b)
        except (TypeError, ValueError):
            return False

    class RegressorMixin:
        """``score``: the coefficient of determination R^2 of ``predict(X)``."""

        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None):
            y = np.asarray(y, dtype=np.float64)
            prediction = np.asarray(self.predict(X), dtype=np.float64)
            weight = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight)
            mean = np.average(y, weights=weight)
            residual = float(weight @ (y - prediction) ** 2)
            total = float(weight @ (y - mean) ** 2)
            if total == 0:
                return 1.0 if residual == 0 else 0.0
            return 1.0 - residual / total

    class ClassifierMixin:
        """``score``: the accuracy of ``predict(X)``."""

        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None):
            correct = np.asarray(self.predict(X)) == np.asarray(y)
            return float(np.average(correct, weights=sample_weight))

    class TransformerMixin:
        """``fit_transform``: ``fit(X, y)`` then ``transform(X)``."""

        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)
