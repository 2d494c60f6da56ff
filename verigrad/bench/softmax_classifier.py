"""SoftmaxClassifier (l1) against scikit-learn's saga on the standardised digits.

Problem (issue 16): the 1,797 digits (64 features) standardised, ``C = 0.1``, ``l1_ratio = 1``,
the objective ``C sum_i logloss_i + ||W||_1``. The reference is
``LogisticRegression(C=0.1, l1_ratio=1, solver="saga", tol=1e-6)`` (whole ``fit``); ours is
``verigrad.prox.SoftmaxClassifier(C=0.1, l1_ratio=1)`` (FISTA with restart + working-set
polishing, KKT stop at ``tol=1e-6``). ``obj_rel`` = (ours - saga's) / saga's objective must
be ``<= 1e-6`` (reported beside the ratio as ``reached``); ``nnz`` counts non-zero weights.

Target: at most 0.5x saga's time.
"""

from __future__ import annotations

import warnings

import numpy as np

from .harness import compare

__all__ = ["run", "make_problem"]

C = 0.1
L1_RATIO = 1.0


def make_problem(n=None):
    """Standardised digits ``(X, y)`` (the first ``n`` samples when given)."""
    from ..data import load_digits

    images, y = load_digits()
    X = images.reshape(len(images), -1).astype(np.float64)[:n]
    y = y[:n]
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return X, y


def run(quick: bool = False) -> list:
    from sklearn.linear_model import LogisticRegression

    from ..prox import SoftmaxClassifier
    from ..prox.multinomial import multinomial_objective

    X, y = make_problem(500 if quick else None)
    ours = SoftmaxClassifier(C=C, l1_ratio=L1_RATIO, tol=1e-6)
    reference = LogisticRegression(C=C, l1_ratio=L1_RATIO, solver="saga", tol=1e-6, max_iter=10000)

    def fit_reference():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # saga's own ConvergenceWarning/FutureWarnings
            reference.fit(X, y)

    row = compare(
        "softmax_classifier",
        f"digits n={len(y)} C={C} l1_ratio={L1_RATIO}",
        lambda: ours.fit(X, y),
        fit_reference,
        "sklearn LogisticRegression (saga)",
        repeats=1 if quick else 3,
        warmup=0,
        target=0.5,
    )
    f_ours = multinomial_objective(X, y, ours.coef_, ours.intercept_, C, L1_RATIO)
    f_ref = multinomial_objective(X, y, reference.coef_, reference.intercept_, C, L1_RATIO)
    row.extra.update(
        {
            "obj_rel": (f_ours - f_ref) / f_ref,
            "reached": f_ours <= f_ref * (1 + 1e-6),
            "nnz": int(np.count_nonzero(ours.coef_)),
            "sk_epochs": int(np.max(reference.n_iter_)),
        }
    )
    return [row]
