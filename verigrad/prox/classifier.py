"""SoftmaxClassifier: l1/l2-penalised multinomial logistic regression, a scikit-learn classifier.

A thin shell over :func:`~verigrad.prox.multinomial.multinomial_fit` (objective, solvers and
stopping rule are documented there): the assignment's softmax regression (section 2) and
proximal gradient (section 9) meeting in one estimator.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import ParameterError, check_bool, check_int, check_number
from .._sklearn import BaseEstimator, ClassifierMixin, NotFittedError
from .design import check_design, check_target
from .multinomial import multinomial_fit

__all__ = ["SoftmaxClassifier"]


class SoftmaxClassifier(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with scikit-learn's objective

        C sum_i logloss_i + (1 - l1_ratio)/2 ||W||^2 + l1_ratio ||W||_1   (intercept unpenalised)

    Parameters
    ----------
    C : float > 0, inverse regularisation strength.
    l1_ratio : float in [0, 1]; 0 is the ridge (L-BFGS), anything above adds an l1 part
        (FISTA with restart and working-set polishing).
    fit_intercept : bool.
    tol : float > 0, KKT residual of the objective divided by ``C n``.
    max_iter : int >= 1, iterations per solver round.

    Attributes
    ----------
    classes_ : (K,) the sorted labels (any type ``numpy.unique`` sorts); coef_ : (K, p);
    intercept_ : (K,); n_iter_ : int; objective_ : float, the objective above;
    converged_ : bool; n_features_in_ : int.
    """

    def __init__(self, C=1.0, l1_ratio=0.0, fit_intercept=True, tol=1e-6, max_iter=1000):
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit to ``X`` (n, p), dense or sparse, and labels ``y`` (n,); returns ``self``."""
        C = check_number(self.C, "C", low=0.0, low_open=True)
        l1_ratio = check_number(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        tol = check_number(self.tol, "tol", low=0.0, low_open=True)
        max_iter = check_int(self.max_iter, "max_iter", low=1)
        X = check_design(X, self, reset=True)
        if not sp.issparse(X):
            X = X.astype(np.float64, copy=False)
        if not np.all(np.isfinite(X.data if sp.issparse(X) else X)):
            raise ParameterError("X", "contains NaN or infinite value(s)")
        y = check_target(y, X.shape[0], numeric=False)
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ParameterError("y", "contains NaN or infinite value(s)")
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ParameterError("y", "Unknown label type: continuous (expected class labels)")
        self.classes_, labels = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ParameterError(
                "y",
                "needs samples of at least 2 classes in the data, but the data contains only "
                f"one class: {self.classes_.tolist()[0]!r}",  # 0, not np.int64(0)
            )
        fit = multinomial_fit(
            X,
            labels,
            self.classes_.size,
            C,
            l1_ratio,
            fit_intercept=fit_intercept,
            tol=tol,
            max_iter=max_iter,
        )
        self.coef_ = fit.coef
        self.intercept_ = fit.intercept
        self.n_iter_ = fit.n_iter
        self.objective_ = fit.objective
        self.converged_ = fit.converged
        return self

    def _logits(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            name = type(self).__name__
            raise NotFittedError(
                f"{name}: call fit before predicting (this {name} instance is not fitted yet)"
            )
        X = check_design(X, self, reset=False)
        if not np.all(np.isfinite(X.data if sp.issparse(X) else X)):
            raise ParameterError("X", "contains NaN or infinite value(s)")
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def decision_function(self, X) -> np.ndarray:
        """The logits ``X W' + b`` ``(m, K)``; for two classes, as scikit-learn, the score of
        the second class ``z_1 - z_0`` ``(m,)``."""
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``softmax(X W' + b)`` ``(m, K)``, columns in ``classes_`` order."""
        z = self._logits(X)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``, computed stably."""
        z = self._logits(X)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict(self, X) -> np.ndarray:
        """The class of largest probability (ties: the first in ``classes_``)."""
        best = np.argmax(self._logits(X), axis=1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
