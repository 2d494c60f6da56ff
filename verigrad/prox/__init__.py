"""Proximal operators, proximal gradient descent (ISTA/FISTA) and Lasso-type estimators.

* :mod:`.operators`: ``op(v, t) = argmin_x g(x) + ||x - v||^2 / (2 t)`` with ``op.value(x) = g(x)``
  (l1, l2, group_l1, elastic_net, nonneg, box, nuclear, l1_ball, simplex, linf).
* :mod:`.solvers`: :func:`proximal_gradient` (ISTA, FISTA, backtracking, adaptive restart).
* :mod:`.lasso_solver`: the working-set solver with gap-safe screening behind the estimators.
* :mod:`.linear_fit`, :mod:`.group_lasso`: the pure fits :func:`enet_fit` and
  :func:`group_lasso_fit` (scikit-learn's objectives, duality-gap certificates).
* :mod:`.estimators`: :class:`Lasso`, :class:`ElasticNet`, :class:`GroupLasso`, thin shells
  over those functions; :mod:`.design` validates ``X`` (dense or ``scipy.sparse``).
* :mod:`.multinomial`, :mod:`.classifier`: :class:`SoftmaxClassifier`, l1/l2-penalised
  multinomial logistic regression (L-BFGS; FISTA with restart and working sets).
"""

from .classifier import SoftmaxClassifier
from .estimators import ElasticNet, GroupLasso, Lasso, enet_fit, group_lasso_fit
from .multinomial import multinomial_fit
from .operators import (
    ProxOperator,
    box,
    elastic_net,
    group_l1,
    l1,
    l1_ball,
    l2,
    linf,
    nonneg,
    nuclear,
    project_l1_ball,
    project_simplex,
    simplex,
    soft_threshold,
)
from .solvers import ConvergenceWarning, ProximalResult, estimate_lipschitz, proximal_gradient

__all__ = [
    "ProxOperator",
    "l1",
    "l2",
    "group_l1",
    "elastic_net",
    "nonneg",
    "box",
    "nuclear",
    "l1_ball",
    "simplex",
    "linf",
    "soft_threshold",
    "project_l1_ball",
    "project_simplex",
    "proximal_gradient",
    "estimate_lipschitz",
    "ProximalResult",
    "ConvergenceWarning",
    "Lasso",
    "ElasticNet",
    "GroupLasso",
    "enet_fit",
    "group_lasso_fit",
    "SoftmaxClassifier",
    "multinomial_fit",
]
