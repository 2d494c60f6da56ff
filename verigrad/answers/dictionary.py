"""Section 1(b): sparse coding vs a tied autoencoder, on 4x4 patches of the digits.

Sparse coding (Olshausen & Field 1996) learns a dictionary ``D`` (``K`` atoms, unit rows)
and codes ``Z`` minimising ``1/2 ||X - Z D||^2 + lam ||Z||_1``, alternating

* codes: ISTA, ``Z <- S_{lam t}(Z + t (X - Z D) D^T)`` with ``t = 1 / ||D D^T||_2`` and
  ``S`` the soft threshold (the proximal operator of ``lam t ||.||_1``);
* dictionary: least squares ``D = (Z^T Z + eps I)^-1 Z^T X``, rows renormalised to 1.

The encoder is an optimisation (codes are exactly sparse and are optimal for the dictionary);
the tied autoencoder ``h = relu(X W^T + c)``, ``Xhat = h W + d`` is a single feed-forward
pass trained by gradient descent on the squared error. The check for sparse coding is the
lasso optimality condition, ``|(X - Z D) D^T| <= lam`` with equality and matching sign where
``z != 0``; for the autoencoder, its gradient against finite differences.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..data import load_digits
from ..gradcheck import gradcheck
from ..optim import SGD
from ..prox import l1
from ..tensor import Tensor, no_grad
from .record import Answer

__all__ = [
    "answer_sparse_coding",
    "digit_patches",
    "ista_codes",
    "soft_threshold",
    "learn_dictionary",
    "train_tied_autoencoder",
]


def soft_threshold(v: np.ndarray, threshold: float) -> np.ndarray:
    """``sign(v) max(|v| - threshold, 0)``: the prox of ``threshold ||.||_1`` (verigrad.prox.l1)."""
    return np.asarray(l1(1.0)(v, threshold))


def digit_patches(n: int, size: int = 4, seed: int = 0) -> np.ndarray:
    """``n`` random ``size x size`` patches of the digits, as rows in [0, 1]."""
    X, _ = load_digits(np.float64)
    rng = np.random.default_rng(seed)
    img = rng.integers(len(X), size=n)
    r, c = rng.integers(8 - size + 1, size=(2, n))
    rows = r[:, None, None] + np.arange(size)[None, :, None]
    cols = c[:, None, None] + np.arange(size)[None, None, :]
    return X[img[:, None, None], 0, rows, cols].reshape(n, size * size)


def ista_codes(X, D, lam, Z=None, max_iter=500, tol=1e-10):
    """Lasso codes ``argmin_Z 1/2 ||X - Z D||^2 + lam ||Z||_1`` by ISTA (all rows at once)."""
    step = 1.0 / np.linalg.norm(D @ D.T, 2)
    Z = np.zeros((X.shape[0], D.shape[0])) if Z is None else Z.copy()
    XDt, DDt = X @ D.T, D @ D.T
    for _ in range(max_iter):
        new = soft_threshold(Z + step * (XDt - Z @ DDt), lam * step)
        change = np.max(np.abs(new - Z))
        Z = new
        if change < tol:
            break
    return Z


def learn_dictionary(X, n_atoms, lam, n_outer=10, seed=0):
    rng = np.random.default_rng(seed)
    D = X[rng.choice(len(X), n_atoms, replace=False)] + 0.01 * rng.normal(
        size=(n_atoms, X.shape[1])
    )
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = None
    for _ in range(n_outer):
        Z = ista_codes(X, D, lam, Z, max_iter=50)
        D = np.linalg.solve(Z.T @ Z + 1e-6 * np.eye(n_atoms), Z.T @ X)
        norms = np.linalg.norm(D, axis=1, keepdims=True)
        dead = norms[:, 0] < 1e-8
        D[dead] = X[rng.choice(len(X), int(dead.sum()))]
        D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D


def _tied_forward(X, W, c, d):
    h = F.relu(X @ W.T + c)
    return h, h @ W + d


def train_tied_autoencoder(X, n_hidden, steps=300, lr=0.5, seed=0):
    rng = np.random.default_rng(seed)
    W = Tensor(rng.normal(scale=0.3, size=(n_hidden, X.shape[1])), requires_grad=True)
    c = Tensor(np.zeros(n_hidden), requires_grad=True)
    d = Tensor(X.mean(axis=0), requires_grad=True)
    opt = SGD([W, c, d], lr=lr, momentum=0.9)
    Xt = Tensor(X)
    for _ in range(steps):
        opt.zero_grad()
        _, Xhat = _tied_forward(Xt, W, c, d)
        (((Xhat - Xt) ** 2).sum(axis=1).mean() * 0.5).backward()
        opt.step()
    return W, c, d


def answer_sparse_coding() -> Answer:
    n_atoms, lam = 32, 0.1
    train, test = digit_patches(1000, seed=0), digit_patches(300, seed=1)
    D = learn_dictionary(train, n_atoms, lam)
    Z = ista_codes(test, D, lam, max_iter=3000, tol=1e-10)
    sc_error = float(np.mean((test - Z @ D) ** 2))
    sc_sparsity = float(np.mean(Z == 0))
    # Lasso optimality (KKT) of every test code: an independent certificate of the ISTA output
    # (ISTA converges linearly at best, so it is held to 1% of lam).
    g = (test - Z @ D) @ D.T
    active = Z != 0
    kkt = max(
        float(np.max(np.abs(g[active] - lam * np.sign(Z[active])), initial=0.0)),
        float(np.max(np.abs(g[~active]) - lam, initial=0.0)),
    )

    W, c, d = train_tied_autoencoder(train, n_atoms)
    with no_grad():
        H, Xhat = _tied_forward(Tensor(test), W, c, d)
    ae_error = float(np.mean((test - Xhat.data) ** 2))
    ae_sparsity = float(np.mean(H.data == 0))
    baseline = float(np.mean((test - train.mean(axis=0)) ** 2))
    small = Tensor(test[:5])
    grad_ok = gradcheck(
        lambda w: ((_tied_forward(small, w, c.detach(), d.detach())[1] - small) ** 2).sum(),
        Tensor(W.data + 1e-3, requires_grad=True),
    )
    passed = (
        kkt < 1e-2 * lam and grad_ok and ae_error < 0.5 * baseline and sc_error < 0.5 * baseline
    )
    work = [
        f"data: 1000 training and 300 test 4x4 patches of the digits (16-D, values in [0, 1]); "
        f"{n_atoms} atoms/hidden units (2x overcomplete); lasso penalty lam = {lam}.",
        "sparse coding: alternate ISTA codes and least-squares dictionary (10 rounds); test codes "
        "by ISTA to convergence.",
        "tied autoencoder: h = relu(W x + c), xhat = W^T h + d, 300 steps of SGD (momentum 0.9) "
        "on the squared error.",
        f"{'':22s}{'zero codes':>12s}{'test MSE':>12s}",
        f"{'sparse coding (ISTA)':22s}{sc_sparsity:>12.1%}{sc_error:>12.5f}",
        f"{'tied autoencoder':22s}{ae_sparsity:>12.1%}{ae_error:>12.5f}",
        f"{'mean patch (baseline)':22s}{'':>12s}{baseline:>12.5f}",
        f"At {sc_sparsity:.0%} vs {ae_sparsity:.0%} zero codes, sparse coding reconstructs "
        f"{ae_error / sc_error:.1f}x better: its codes are solved for each input (an "
        "optimisation, certified below), while the autoencoder's encoder is one matrix product "
        "whose codes are only as good as training made them (fast, but approximate).",
        f"lasso optimality of the ISTA codes: max KKT violation {kkt:.1e}; autoencoder gradient "
        "matches finite differences (gradcheck).",
    ]
    return Answer(
        1,
        "b",
        "Sparse coding vs autoencoder dictionaries on digit patches",
        f"sparse coding: {sc_sparsity:.0%} zero codes, test MSE {sc_error:.4f}; tied autoencoder: "
        f"{ae_sparsity:.0%} zero codes, test MSE {ae_error:.4f} (mean-patch baseline {baseline:.4f})",
        f"ISTA codes satisfy the lasso optimality conditions (violation {kkt:.1e}); autoencoder "
        "gradient = finite differences; both beat the baseline",
        bool(passed),
        work,
        {
            "sparse_coding": {"zero_fraction": sc_sparsity, "test_mse": sc_error, "kkt": kkt},
            "autoencoder": {"zero_fraction": ae_sparsity, "test_mse": ae_error},
            "baseline_mse": baseline,
        },
    )
