"""Placing new points into a fitted t-SNE map without moving it (``TSNE.transform``).

openTSNE's approach (Policar, Strazar & Zupan 2019, "openTSNE: a modular Python library for
t-SNE dimensionality reduction and embedding", section "Adding new data points"):

1. affinities of each new point to its ``3 * perplexity`` nearest training points, a
   conditional distribution calibrated to a small perplexity (5, openTSNE's default for
   ``transform``: new points should attach to their closest neighbours);
2. each new point starts at the affinity-weighted mean of its neighbours' positions;
3. gradient descent on the per-point KL objective
   (:func:`~verigrad.manifold.gradients.kl_gradient_partial`) with the training embedding
   fixed: momentum 0.8 and delta-bar-delta gains as in ``fit``, each point's gradient clipped
   to norm ``max_grad_norm`` (openTSNE clips to 0.25; so do we) so that no point is thrown
   across the map in the first steps; attraction exaggerated by 1.5 (openTSNE's default),
   which keeps points inside their clusters.

Points do not interact (each has its own normalisation ``Z_i``), so the result for a point
does not depend on which other points are transformed with it.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .affinities import affinities_to
from .gradients import kl_gradient_partial

__all__ = ["embed_new_points", "TRANSFORM_PERPLEXITY"]

TRANSFORM_PERPLEXITY = 5.0


def _one_blas_thread():
    """BLAS limited to one thread while points are placed (a no-op without threadpoolctl):
    the products here are thin (``(m, 2) x (2, N)``), and on a busy 2-core machine two
    OpenBLAS threads waiting for each other made each gradient 3.5x slower (37 ms against
    10.6 ms for 360 x 1437 pairs)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def embed_new_points(
    X_train,
    embedding,
    X_new,
    perplexity: float = TRANSFORM_PERPLEXITY,
    n_iter: int = 250,
    learning_rate: float = 1.0,
    momentum: float = 0.8,
    exaggeration: float = 1.5,
    max_grad_norm: float = 0.25,
    min_gain: float = 0.01,
):
    """Positions ``(m, d)`` of ``X_new`` ``(m, D)`` in the map ``embedding`` ``(N, d)`` of
    ``X_train`` ``(N, D)`` (all float64, validated). Returns ``(Y, kl)`` with ``kl`` the
    summed per-point KL at the end. Inputs are not modified."""
    indices, P = affinities_to(X_train, X_new, min(perplexity, X_train.shape[0] - 1))
    Y = np.einsum("mk,mkd->md", P, embedding[indices])
    with _one_blas_thread():
        return _descend(
            P,
            indices,
            Y,
            embedding,
            n_iter,
            learning_rate,
            momentum,
            exaggeration,
            max_grad_norm,
            min_gain,
        )


def _descend(
    P, indices, Y, embedding, n_iter, learning_rate, momentum, exaggeration, max_grad_norm, min_gain
):
    """Momentum gradient descent with gains and per-point clipping; returns ``(Y, kl)``."""
    gains = np.ones_like(Y)
    update = np.zeros_like(Y)
    kl = np.nan
    for _ in range(n_iter):
        kl, grad = kl_gradient_partial(P, indices, Y, embedding, exaggeration)
        norms = np.sqrt(np.einsum("md,md->m", grad, grad))
        too_long = norms > max_grad_norm
        grad[too_long] *= (max_grad_norm / norms[too_long])[:, None]
        flipped = (update * grad) < 0.0
        gains = np.where(flipped, gains + 0.2, gains * 0.8)
        np.maximum(gains, min_gain, out=gains)
        update = momentum * update - learning_rate * gains * grad
        Y = Y + update
    return Y, kl
