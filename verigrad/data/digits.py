"""The embedded digits set (UCI optical recognition of handwritten digits; see DIGITS_SOURCE.md)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_digits"]

_PATH = os.path.join(os.path.dirname(__file__), "digits.npz")


def load_digits(dtype=np.float32):
    """The 1,797 8x8 digit images bundled with verigrad.

    Returns
    -------
    X : ndarray (1797, 1, 8, 8) of ``dtype``, pixel values in [0, 1] (the 0..16 counts / 16)
    y : ndarray (1797,) int64, labels 0..9
    """
    with np.load(_PATH) as f:
        X = (
            f["X"].astype(dtype) / dtype(16)
            if np.dtype(dtype).kind == "f"
            else f["X"].astype(dtype)
        )
        y = f["y"].astype(np.int64)
    return X.reshape(-1, 1, 8, 8), y
