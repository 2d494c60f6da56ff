"""Softmax regression on digits to convergence vs scikit-learn's LogisticRegression.

Both minimise the same objective, ``sum_n CE + (1/2C) ||W||^2`` with ``C = 1`` (bias not
penalised), by L-BFGS to the same gradient tolerance, on the same stratified split; the row
reports both test accuracies beside the times (target: accuracy >= 0.95, time <= 1.0x).
"""

from __future__ import annotations

import numpy as np

from .harness import compare

__all__ = ["run"]


def run(quick: bool = False) -> list:
    from sklearn.linear_model import LogisticRegression

    from ..data import load_digits, train_test_split
    from ..nn import SoftmaxRegression

    X, y = load_digits(np.float64)
    X = X.reshape(len(X), -1)
    Xtr, Xte, ytr, yte = train_test_split(X, y, rng=np.random.default_rng([0, 1]), stratify=True)
    tol = 1e-6
    state = {}

    def ours():
        state["ours"] = SoftmaxRegression(64, 10, dtype=np.float64).fit(
            Xtr, ytr, l2=1.0, tol=tol, max_iter=10_000
        )

    def reference():
        state["ref"] = LogisticRegression(C=1.0, tol=tol, max_iter=10_000).fit(Xtr, ytr)

    row = compare(
        "softmax",
        "digits 1438x64, 10 classes, C=1, L-BFGS",
        ours,
        reference,
        "sklearn LogisticRegression",
        repeats=3 if quick else 7,
        target=1.0,
    )
    model, ref = state["ours"], state["ref"]
    row.extra = {
        "acc": float(np.mean(model.predict(Xte) == yte)),
        "ref_acc": float(ref.score(Xte, yte)),
        "iters": model.n_iter_,
        "ref_iters": int(ref.n_iter_[0]),
        "max|dW|": float(np.abs(model.weight.data - ref.coef_).max()),
    }
    return [row]
