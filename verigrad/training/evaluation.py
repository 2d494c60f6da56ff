"""A trained model on a data set: batched inference and its loss and top-k errors."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..metrics import top_k_error
from ..tensor import Tensor, no_grad

__all__ = ["forward_in_batches", "evaluate_model"]


def forward_in_batches(model, X: np.ndarray, batch_size: int = 512, part=None) -> np.ndarray:
    """The outputs of ``model`` on ``X``, ``batch_size`` samples at a time, in eval mode and
    without building a graph (the model's mode is restored afterwards).

    ``part``, a module made of some of ``model``'s layers (``model[:-1]``, say), is run
    instead of the whole model, still with ``model`` in eval mode.

    Returns
    -------
    ndarray ``(N, D)`` float64: each sample's output flattened.
    """
    run = model if part is None else part
    was_training = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                batch = run(Tensor(X[start : start + batch_size])).data
                out.append(batch.reshape(len(batch), -1))
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float64)


def evaluate_model(model, X: np.ndarray, y: np.ndarray, batch_size: int = 512) -> dict:
    """Loss, errors, predictions and scores of ``model`` on ``(X, y)`` (eval mode).

    Returns
    -------
    dict with ``loss`` (mean cross-entropy), ``top1_error``, ``top3_error`` (0 when there are
    at most 3 classes), ``accuracy`` (``1 - top1_error``), ``predictions`` ``(N,)`` (argmax)
    and ``scores`` ``(N, C)`` float64 (the logits).
    """
    scores = forward_in_batches(model, X, batch_size)
    n_classes = scores.shape[1]
    loss = float(F.cross_entropy(scores, y).item())
    result = {
        "loss": loss,
        "top1_error": float(top_k_error(scores, y, k=1)),
        "top3_error": float(top_k_error(scores, y, k=min(3, n_classes))) if n_classes > 3 else 0.0,
        "predictions": scores.argmax(axis=1),
        "scores": scores,
    }
    result["accuracy"] = 1.0 - result["top1_error"]
    return result
