"""Scratch buffers kept between calls of the convolution and pooling kernels."""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["WORKSPACE"]


class Workspace:
    """Free scratch buffers kept between calls.

    A fresh large array costs a page fault per 4 KiB page on first touch (tens of ms for the
    im2col buffer of a mid-sized layer), so the columns, padded copies and padded gradients are
    taken from and given back to this small pool instead of being allocated per call. Buffers
    are raw bytes; a request takes the smallest free buffer that is large enough and not more
    than twice the request. Requests under :attr:`small` bytes are plain ``np.empty`` arrays
    (malloc reuses small blocks without new pages), which ``give`` ignores: the pool's
    bookkeeping would cost more than they do.
    """

    small = 1 << 16

    def __init__(self, max_bytes: int = 1 << 29, max_buffers: int = 16):
        self.max_bytes, self.max_buffers = max_bytes, max_buffers
        self._free: list = []
        self._lock = threading.Lock()

    def take(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = max(1, math.prod(shape) * dtype.itemsize)
        if nbytes < self.small:
            return np.empty(shape, dtype=dtype)
        with self._lock:
            fits = [b for b in self._free if nbytes <= b.nbytes <= 2 * nbytes]
            if fits:
                buf = min(fits, key=lambda b: b.nbytes)
                self._free = [b for b in self._free if b is not buf]
            else:
                buf = np.empty(nbytes, dtype=np.uint8)
        return buf[:nbytes].view(dtype).reshape(shape)

    def give(self, *arrays) -> None:
        with self._lock:
            for a in arrays:
                buf = a.base if a.base is not None else a
                if (
                    buf.dtype != np.uint8
                    or buf.ndim != 1
                    or buf.nbytes < self.small
                    or any(b is buf for b in self._free)
                ):
                    continue
                self._free.append(buf)
            self._free.sort(key=lambda b: -b.nbytes)
            while self._free and (
                len(self._free) > self.max_buffers
                or sum(b.nbytes for b in self._free) > self.max_bytes
            ):
                self._free.pop(0)

    def clear(self) -> None:
        with self._lock:
            self._free = []


WORKSPACE = Workspace()
