"""Section 9: proximal gradient descent for ``min_x g(x) + h(x)`` (g smooth, h with a prox).

``prox_{h,t}(x) = argmin_u h(u) + ||u - x||^2 / (2t)``.

(A) For ``h = ||.||_1`` the problem separates per coordinate; ``u_i`` minimises
    ``t |u| + (u - x_i)^2 / 2`` whose optimality ``0 in t d|u| + u - x_i`` gives the soft
    threshold ``u_i = sign(x_i) max(|x_i| - t, 0)``.
(B) Lasso ``g(x) = 1/2 ||A x - b||^2``, ``h = lam ||x||_1``: the step
    ``x+ = prox_{h,t}(x - t A^T (A x - b)) = S_{lam t}(x - t A^T (A x - b))`` is ISTA.
(C) ``u`` minimises ``h(u) + ||u - x||^2 / (2t)`` iff ``0 in dh(u) + (u - x)/t``, i.e.
    ``(x - u)/t in dh(u)``.
(D) With ``x_{k+1} = prox_{h,t}(x_k - t grad g(x_k))`` and the gradient mapping
    ``G_t(x_k) = (x_k - x_{k+1}) / t``, (C) applied at ``x_k - t grad g(x_k)`` gives
    ``G_t(x_k) - grad g(x_k) in dh(x_{k+1})``.

Each statement is checked numerically against the library (:mod:`verigrad.prox`).
"""

from __future__ import annotations

import numpy as np

from .record import Answer, fmt, max_abs_diff

__all__ = ["answers", "subgradient_gap"]


def subgradient_gap(kind: str, s: np.ndarray, u: np.ndarray, lam: float) -> float:
    """Distance of ``s`` from the subdifferential of ``h`` at ``u`` (0 when ``s`` is in it).

    ``kind``: ``"l1"`` (``lam ||u||_1``), ``"l2"`` (``lam ||u||_2``) or ``"nonneg"``
    (indicator of ``u >= 0``; lam unused).
    """
    if kind == "l1":
        active = u != 0
        on = np.abs(s[active] - lam * np.sign(u[active]))
        off = np.maximum(np.abs(s[~active]) - lam, 0)
        return float(max(on.max(initial=0.0), off.max(initial=0.0)))
    if kind == "l2":
        norm = np.linalg.norm(u)
        if norm == 0:
            return float(max(np.linalg.norm(s) - lam, 0.0))
        return float(np.linalg.norm(s - lam * u / norm))
    # normal cone of the non-negative orthant: s <= 0, and s = 0 where u > 0
    if np.any(u < 0):
        return np.inf
    return float(max(np.abs(s[u > 0]).max(initial=0.0), np.maximum(s[u == 0], 0).max(initial=0.0)))


def _answer_a(prox) -> Answer:
    x = np.array([2.3, -0.4, 0.9, -1.7, 0.1, -0.65])
    t = 0.6
    u = prox.l1(1.0)(x, t)
    # Brute force: the objective separates; minimise each coordinate on a 1e-4 grid.
    grid = np.arange(-6.0, 6.0 + 1e-9, 1e-4)
    objective = t * np.abs(grid)[None, :] + (grid[None, :] - x[:, None]) ** 2 / 2
    brute = grid[np.argmin(objective, axis=1)]
    err = max_abs_diff(u, brute)
    closed = np.sign(x) * np.maximum(np.abs(x) - t, 0)
    work = [
        "t|u| + (u - x_i)^2/2: for u > 0 the minimiser is x_i - t (needs x_i > t), for u < 0 it "
        "is x_i + t (needs x_i < -t), otherwise u = 0: u = sign(x) max(|x| - t, 0).",
        f"x = {fmt(x)}, t = {t}",
        f"verigrad.prox.l1(1)(x, t) = {fmt(u)}",
        f"grid search (step 1e-4) = {fmt(brute)}",
    ]
    return Answer(
        9,
        "A",
        "prox of t ||.||_1 is soft thresholding",
        "prox_{t||.||_1}(x)_i = sign(x_i) max(|x_i| - t, 0)",
        f"library vs brute-force grid minimisation: max |diff| {err:.1e} (grid 1e-4); "
        f"vs the closed form {max_abs_diff(u, closed):.1e}",
        bool(err <= 1e-4 and max_abs_diff(u, closed) < 1e-15),
        work,
        {"x": x, "t": t, "prox": u, "brute_force": brute},
    )


def _lasso(seed=1):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(20, 8))
    b = A @ np.array([1.5, 0, 0, -2.0, 0, 0.7, 0, 0]) + 0.1 * rng.normal(size=20)
    return A, b, 2.0


def _answer_b(prox) -> Answer:
    A, b, lam = _lasso()
    t = 1.0 / np.linalg.norm(A, 2) ** 2
    x0 = np.random.default_rng(2).normal(size=A.shape[1])

    def f(x):
        return 0.5 * float(np.sum((A @ x - b) ** 2))

    def grad_f(x):
        return A.T @ (A @ x - b)

    one = prox.proximal_gradient(
        f,
        grad_f,
        prox.l1(lam),
        x0,
        step=t,
        accelerated=False,
        backtracking=False,
        tol=0,
        max_iter=1,
    ).x
    v = x0 - t * A.T @ (A @ x0 - b)
    ista = np.sign(v) * np.maximum(np.abs(v) - lam * t, 0)
    err = max_abs_diff(one, ista)
    # Run FISTA to the lasso solution and certify it with the optimality condition.
    solution = prox.proximal_gradient(
        f, grad_f, prox.l1(lam), x0, step=t, backtracking=False, tol=0, max_iter=3000
    ).x
    kkt = subgradient_gap("l1", -grad_f(solution), solution, lam)
    work = [
        f"A: 20x8 Gaussian, b = A x_true + noise, lam = {lam}, t = 1/||A||_2^2 = {t:.4g}",
        "prox_{h,t}(v) with h = lam||.||_1 is S_{lam t}(v), so x+ = S_{lam t}(x - t A^T(Ax - b)): "
        "the ISTA update (a gradient step on the smooth part, then shrinkage).",
        f"one proximal-gradient step (library) = {fmt(one)}",
        f"ISTA formula by hand                 = {fmt(ista)}",
        f"FISTA to convergence: x* = {fmt(solution)}; -grad g(x*) in lam d||x*||_1 to {kkt:.1e}",
    ]
    return Answer(
        9,
        "B",
        "For the lasso the proximal gradient step is the ISTA update",
        "x_{k+1} = S_{lam t}(x_k - t A^T (A x_k - b))",
        f"verigrad.prox.proximal_gradient (ISTA, 1 step) vs the hand formula: max |diff| "
        f"{err:.1e}; the limit satisfies the lasso optimality condition to {kkt:.1e}",
        bool(err < 1e-12 and kkt < 1e-8),
        work,
        {"step": one, "ista": ista, "solution": solution, "kkt": kkt},
    )


def _answer_c(prox) -> Answer:
    rng = np.random.default_rng(3)
    lam, t = 0.7, 0.5
    gaps, work = {}, []
    for kind, op in (("l1", prox.l1(lam)), ("l2", prox.l2(lam)), ("nonneg", prox.nonneg())):
        worst = 0.0
        for scale in (0.2, 1.0, 3.0):  # small inputs hit the zero / kink cases
            x = rng.normal(scale=scale, size=7)
            u = op(x, t)
            worst = max(worst, subgradient_gap(kind, (x - u) / t, u, lam))
        gaps[kind] = worst
        work.append(
            f"h = {'lam ||.||_1' if kind == 'l1' else 'lam ||.||_2' if kind == 'l2' else 'indicator(u >= 0)'}: "
            f"distance of (x - u)/t from dh(u), worst over 3 random x: {worst:.1e}"
        )
    x = np.array([1.2, -0.1, 0.3, -2.0])
    u = prox.l1(lam)(x, t)
    work.insert(
        0,
        f"e.g. h = {lam}||.||_1, t = {t}, x = {fmt(x)}: u = {fmt(u)}, (x - u)/t = "
        f"{fmt((x - u) / t)}: = lam sign(u_i) where u_i != 0, in [-lam, lam] where "
        "u_i = 0",
    )
    worst = max(gaps.values())
    return Answer(
        9,
        "C",
        "u = prox_{h,t}(x) implies (x - u)/t in dh(u)",
        "0 in dh(u) + (u - x)/t (optimality of the prox problem), so (x - u)/t in dh(u)",
        f"membership checked for l1, l2 and the non-negativity indicator: worst "
        f"distance {worst:.1e}",
        bool(worst < 1e-12),
        work,
        {"gaps": gaps},
    )


def _answer_d(prox) -> Answer:
    A, b, lam = _lasso(4)
    t = 1.0 / np.linalg.norm(A, 2) ** 2
    x = np.zeros(A.shape[1])
    op = prox.l1(lam)
    worst, work = 0.0, []
    for k in range(6):
        grad = A.T @ (A @ x - b)
        x_next = op(x - t * grad, t)
        G = (x - x_next) / t
        gap = subgradient_gap("l1", G - grad, x_next, lam)
        worst = max(worst, gap)
        if k < 3:
            work.append(
                f"k={k}: G(x_k) = {fmt(G, 3)}, G - grad g = {fmt(G - grad, 3)}, "
                f"x_(k+1) = {fmt(x_next, 3)}: distance from dh(x_(k+1)) {gap:.1e}"
            )
        x = x_next
    work.insert(
        0,
        "G_t(x) = (x - x+)/t; since x+ = prox_{h,t}(x - t grad g(x)), (C) gives "
        "((x - t grad g) - x+)/t = G - grad g in dh(x+).",
    )
    return Answer(
        9,
        "D",
        "The gradient mapping: G(x_k) - grad g(x_k) in dh(x_{k+1})",
        "G_t(x_k) - grad g(x_k) in dh(x_{k+1}) (so G_t = grad g + a subgradient: "
        "G_t(x) = 0 iff x is optimal)",
        f"checked on 6 ISTA iterations of a lasso: worst distance {worst:.1e}",
        bool(worst < 1e-10),
        work,
        {"worst_gap": worst},
    )


def answers() -> list:
    from .. import prox

    return [_answer_a(prox), _answer_b(prox), _answer_c(prox), _answer_d(prox)]
