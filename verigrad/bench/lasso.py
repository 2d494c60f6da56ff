"""Lasso: time to reach scikit-learn's final objective, against scikit-learn's coordinate descent.

Problems (issue 7): dense Gaussian ``X`` with ``n=500, p=2000`` and ``n=5000, p=500``, ``y`` from
20 true features plus noise, ``alpha = 0.1 alpha_max`` with ``alpha_max = ||Xc' yc||_inf / n``
(centred data). The reference is ``sklearn.linear_model.Lasso(alpha, tol=1e-10).fit(X, y)``
(whole ``fit``, validation and centring included). Rows:

* ``working set``: ``verigrad.prox.Lasso(alpha, tol=1e-10).fit(X, y)``, the same duality-gap
  rule as scikit-learn's; ``obj_rel`` = (ours - sklearn's) / sklearn's objective must be
  ``<= 1e-9`` (it is checked and reported).
* ``FISTA`` / ``ISTA``: :func:`verigrad.prox.proximal_gradient` alone (centring, the
  power-iteration Lipschitz estimate and backtracking included), stopped by a callback as soon
  as the objective is within ``1e-9`` relative of scikit-learn's; ``reached`` says whether it
  got there within ``max_iter``.

Our side runs with BLAS limited to one thread (``threadpoolctl``, as the estimators do: the work
is memory-bound level-2 BLAS and extra threads only add synchronisation); scikit-learn runs as
configured.

The sparse design (issue 16) is the ``lasso_sparse`` benchmark (:mod:`.lasso_sparse`).

Target: working set <= 1.0x scikit-learn on both problems.
"""

from __future__ import annotations

import numpy as np

from .harness import compare

__all__ = ["run", "make_problem"]

RELATIVE = 1e-9
TOL = 1e-10


def make_problem(n, p, seed=0, n_informative=20, noise=0.5):
    """``X`` (n, p) Gaussian, ``y = X w + noise`` with ``n_informative`` non-zeros, and alpha."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:n_informative] = rng.standard_normal(n_informative)
    y = X @ w + noise * rng.standard_normal(n)
    yc = y - y.mean()
    alpha_max = float(np.abs(X.T @ yc - X.mean(0) * yc.sum()).max()) / n
    return X, y, 0.1 * alpha_max


def _objective(X, y, coef, intercept, alpha):
    r = y - X @ coef - intercept
    return 0.5 * float(r @ r) / len(y) + alpha * float(np.abs(coef).sum())


def _first_order(X, y, alpha, target, accelerated, max_iter):
    """Centre, then ISTA/FISTA until the objective reaches ``target``; returns (reached, iters)."""
    from ..prox import l1, proximal_gradient
    from ..prox.lasso_solver import single_threaded_blas

    n = X.shape[0]
    Xc = X - X.mean(0)
    yc = y - y.mean()

    def f(w):
        r = Xc @ w - yc
        return 0.5 * float(r @ r) / n

    def grad_f(w):
        return Xc.T @ (Xc @ w - yc) / n

    with single_threaded_blas():  # as the estimators run (see lasso_solver.single_threaded_blas)
        result = proximal_gradient(
            f,
            grad_f,
            l1(alpha),
            np.zeros(X.shape[1]),
            accelerated=accelerated,
            tol=0.0,
            max_iter=max_iter,
            callback=lambda k, w, objective: objective <= target,
        )
    return result.message == "callback", result.n_iter


def _case(n, p, quick):
    from sklearn.linear_model import Lasso as SkLasso

    from ..prox import Lasso

    X, y, alpha = make_problem(n, p)
    case = f"n={n} p={p} alpha=0.1max"
    reference = SkLasso(alpha=alpha, tol=TOL)
    ours = Lasso(alpha=alpha, tol=TOL)
    reference.fit(X, y)
    ours.fit(X, y)
    f_ref = _objective(X, y, reference.coef_, reference.intercept_, alpha)
    f_ours = _objective(X, y, ours.coef_, ours.intercept_, alpha)
    target = f_ref * (1 + RELATIVE)
    extra = {
        "obj_rel": (f_ours - f_ref) / f_ref,
        "reached": f_ours <= target,
        "n_iter": ours.n_iter_,  # subproblems solved; passes over X: n_iter + 1
        "sk_epochs": int(reference.n_iter_),
        "nnz": int(np.count_nonzero(ours.coef_)),
    }
    rows = [
        compare(
            "lasso",
            f"{case} working set",
            lambda: ours.fit(X, y),
            lambda: reference.fit(X, y),
            "sklearn Lasso (cd)",
            repeats=2 if quick else 7,
            target=1.0,
            extra=extra,
        )
    ]
    for name, accelerated, limit in (("FISTA", True, 3000), ("ISTA", False, 20000)):
        info = {}

        def first_order(accelerated=accelerated, max_iter=2000 if quick else limit, info=info):
            info["reached"], info["iterations"] = _first_order(
                X, y, alpha, target, accelerated, max_iter
            )

        row = compare(
            "lasso",
            f"{case} {name} alone",
            first_order,
            lambda: reference.fit(X, y),
            "sklearn Lasso (cd)",
            repeats=1,
            warmup=0,
        )
        row.extra.update(info)
        rows.append(row)
    return rows


def run(quick: bool = False) -> list:
    sizes = [(100, 400), (1000, 100)] if quick else [(500, 2000), (5000, 500)]
    rows = []
    for n, p in sizes:
        rows.extend(_case(n, p, quick))
    return rows
