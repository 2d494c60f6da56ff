"""Lasso on a sparse design: ``verigrad.prox.Lasso`` against scikit-learn's sparse coordinate
descent (issue 16).

Problem: a CSC ``X`` of 3000 x 8000 with 0.5% uniform non-zeros, ``y`` from 20 features plus
noise, ``alpha = 0.1 alpha_max``; both sides fit the sparse matrix with the intercept (centring
implicit, ``X`` never densified) at ``tol=1e-10``. ``obj_rel`` = (ours - sklearn's) / sklearn's
objective, ``reached`` when it is ``<= 1e-6``.

Target: <= 1.0x scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .harness import compare
from .lasso import TOL, _objective

__all__ = ["run", "make_sparse_problem"]


def make_sparse_problem(n, p, density=0.005, seed=0, n_informative=20, noise=0.5):
    """A CSC ``X`` (n, p) with ``density`` uniform non-zeros, ``y``, and ``alpha``."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, p, density=density, format="csc", random_state=rng)
    w = np.zeros(p)
    w[:n_informative] = 5 * rng.standard_normal(n_informative)
    y = X @ w + noise * rng.standard_normal(n)
    yc = y - y.mean()
    alpha_max = float(np.abs(X.T @ yc).max()) / n  # X' yc = Xc' yc since sum(yc) = 0
    return X, y, 0.1 * alpha_max


def _sparse_case(n, p, quick):
    from sklearn.linear_model import Lasso as SkLasso

    from ..prox import Lasso

    X, y, alpha = make_sparse_problem(n, p)
    reference = SkLasso(alpha=alpha, tol=TOL, max_iter=100000)
    ours = Lasso(alpha=alpha, tol=TOL)
    row = compare(
        "lasso",
        f"sparse n={n} p={p} density=0.5% alpha=0.1max",
        lambda: ours.fit(X, y),
        lambda: reference.fit(X, y),
        "sklearn Lasso (sparse cd)",
        repeats=2 if quick else 5,
        target=1.0,
    )
    f_ref = _objective(X, y, reference.coef_, reference.intercept_, alpha)
    f_ours = _objective(X, y, ours.coef_, ours.intercept_, alpha)
    row.extra.update(
        {
            "obj_rel": (f_ours - f_ref) / f_ref,
            "reached": f_ours <= f_ref * (1 + 1e-6),
            "n_iter": ours.n_iter_,
            "sk_epochs": int(reference.n_iter_),
            "nnz": int(np.count_nonzero(ours.coef_)),
        }
    )
    return [row]


def run(quick: bool = False) -> list:
    return _sparse_case(*((600, 1600) if quick else (3000, 8000)), quick)
