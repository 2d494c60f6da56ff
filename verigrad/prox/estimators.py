"""Lasso, ElasticNet and GroupLasso: scikit-learn's estimators as thin shells over pure fits.

With scikit-learn installed they are scikit-learn estimators (:mod:`verigrad._sklearn`):
``get_params``/``set_params``, ``clone``, pipelines, ``check_estimator``. ``X`` may be dense
or ``scipy.sparse`` (never densified). The maths lives in :func:`~verigrad.prox.linear_fit.enet_fit` and
:func:`~verigrad.prox.group_lasso.group_lasso_fit` (objectives, duality-gap certificate and
stopping rule are documented there). As in scikit-learn, :class:`Lasso` is the
:class:`ElasticNet` with ``l1_ratio = 1``; one base class holds what the three share:
hyperparameters stored as given and validated at ``fit``, the fitted state (``coef_``,
``intercept_``, ``n_iter_``, ``dual_gap_``, ``dual_gap_tol_``, ``converged_``,
``n_features_in_``), ``predict`` and the warm start.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_finite
from .._sklearn import BaseEstimator, NotFittedError, RegressorMixin
from .design import check_design, check_target
from .group_lasso import group_lasso_fit
from .linear_fit import LinearFit, enet_fit

__all__ = ["Lasso", "ElasticNet", "GroupLasso", "LinearFit", "enet_fit", "group_lasso_fit"]


class _LinearRegressor(RegressorMixin, BaseEstimator):
    """Shared shell: ``fit`` validates ``X`` (dense or ``scipy.sparse``) and ``y``, calls the
    pure function named by ``_fit_function`` with the hyperparameters in ``_fit_params`` and
    keeps its result in ``*_`` attributes; ``predict`` is ``X @ coef_ + intercept_``;
    ``score`` is R^2 (scikit-learn's ``RegressorMixin``)."""

    #: the pure function behind ``fit`` and the hyperparameters it takes by keyword
    _fit_function = None
    _fit_params: tuple = ()

    def fit(self, X, y):
        """Fit to ``X`` (n, p), dense or sparse, and ``y`` (n,); returns ``self``."""
        warm_start = check_bool(self.warm_start, "warm_start")
        coef_init = getattr(self, "coef_", None) if warm_start else None
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = check_design(X, self, reset=True)
        y = check_target(y, X.shape[0])
        params = {name: getattr(self, name) for name in self._fit_params}
        fit = type(self)._fit_function(X, y, coef_init=coef_init, **params)
        self.coef_ = fit.coef.astype(dtype, copy=False)
        # a NumPy scalar of coef_'s dtype, as scikit-learn's (float32 data: np.float32)
        self.intercept_ = self.coef_.dtype.type(fit.intercept)
        self.n_iter_ = fit.n_iter
        self.dual_gap_ = fit.dual_gap
        self.dual_gap_tol_ = fit.dual_gap_tol
        self.converged_ = fit.converged
        return self

    def predict(self, X) -> np.ndarray:
        """``X @ coef_ + intercept_`` for ``X`` (dense or sparse) ``(m, n_features_in_)``."""
        if not hasattr(self, "coef_"):
            name = type(self).__name__
            raise NotFittedError(
                f"{name}: call fit before predict (this {name} instance is not fitted yet)"
            )
        X = check_design(X, self, reset=False)
        if sp.issparse(X):
            return np.asarray(X @ self.coef_).ravel().astype(self.coef_.dtype) + self.intercept_
        check_finite(X, "X")
        return X @ self.coef_ + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class ElasticNet(_LinearRegressor):
    """``1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio)/2 ||w||^2``.

    Parameters are scikit-learn's (``tol`` defaults to 1e-8 here): see :func:`enet_fit`.
    The working-set solver of :mod:`verigrad.prox.lasso_solver` (gap-safe screening, FISTA
    + support polishing on the working set) stopped by scikit-learn's duality-gap rule.
    Attributes after ``fit``: ``coef_`` (p,), ``intercept_``, ``n_iter_``, ``dual_gap_``,
    ``dual_gap_tol_``, ``converged_``, ``n_features_in_``.
    """

    def __init__(
        self,
        alpha=1.0,
        l1_ratio=0.5,
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        positive=False,
        warm_start=False,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
        self.warm_start = warm_start

    _fit_function = staticmethod(enet_fit)
    _fit_params = ("alpha", "l1_ratio", "fit_intercept", "positive", "tol", "max_iter")


class Lasso(ElasticNet):
    """``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1`` (``positive=True``: with ``w >= 0``).

    The :class:`ElasticNet` with ``l1_ratio = 1`` (as scikit-learn derives it); attributes
    as :class:`ElasticNet`'s.
    """

    def __init__(
        self,
        alpha=1.0,
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        positive=False,
        warm_start=False,
    ):
        super().__init__(
            alpha=alpha,
            l1_ratio=1.0,
            fit_intercept=fit_intercept,
            tol=tol,
            max_iter=max_iter,
            positive=positive,
            warm_start=warm_start,
        )


class GroupLasso(_LinearRegressor):
    """``1/(2n) ||y - Xw - b||^2 + alpha sum_g weight_g ||w_g||_2`` (see :func:`group_lasso_fit`).

    ``groups``: disjoint index lists covering all features (None: one per feature);
    ``weights``: ``"sqrt_size"`` (default, ``sqrt(|g|)``) or one positive weight per group.
    """

    def __init__(
        self,
        alpha=1.0,
        groups=None,
        weights="sqrt_size",
        fit_intercept=True,
        tol=1e-8,
        max_iter=10000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.groups = groups
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    _fit_function = staticmethod(group_lasso_fit)
    _fit_params = ("alpha", "groups", "weights", "fit_intercept", "tol", "max_iter")
