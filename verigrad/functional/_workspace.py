"""Buffers kept between calls of the convolution and pooling kernels (the workspace policy).

Why: a fresh large array costs a page fault per 4 KiB page on first touch (about 1.4 us a page
here), and glibc hands large freed blocks back to the OS, so a kernel that allocates its
im2col matrix, padded input and outputs per call pays for every page on every call. Here every
large array of the conv and pooling kernels (scratch, outputs, saved values, gradients) is
taken from :data:`WORKSPACE` and reused by later calls of the same shape.

The rule that makes reuse safe: **a buffer is handed out again only when nothing outside the
workspace refers to it.** Each buffer is a raw ``uint8`` array owned by the workspace; every
array handed out is a view of it, and NumPy views (and views of views, ``as_strided``
results, ``torch.from_numpy`` tensors, memoryviews) keep a reference to that owner. So
``sys.getrefcount(owner)`` above the workspace's own references means someone still holds a
view: the output a user keeps, a value a graph saved for its backward pass, a gradient on its
way to a parent. Such a buffer is skipped and, if no free one is left, a new one is made.
Nothing needs to be "given back": a buffer is free again when its last view dies, so a result
can never be overwritten under its holder, whatever the holder does with it.

Buffers are keyed by ``(tag, nbytes)``. A tag names a buffer whose contents matter between
calls: the padded input of a convolution keeps a *permanently zero border* (zeroed once when
made; calls write only the interior), so its tag is never shared with a kernel that writes
everywhere. Untagged requests share buffers by size.

Requests under :attr:`Workspace.small` bytes are plain ``np.empty`` arrays (malloc reuses small
blocks without new pages). At most :attr:`Workspace.max_per_key` buffers are kept per key
(a training loop holds about two of each: the graph being built and the previous step's) and
at most :attr:`Workspace.max_bytes` in all; past that the least recently used free buffers
are dropped.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["WORKSPACE", "Workspace"]

#: ``sys.getrefcount(owners[i])`` of an owner nobody else refers to: the list slot and the
#: call's argument
_FREE_REFCOUNT = 2


class Workspace:
    """Reusable buffers; see the module docstring for the policy.

    ``take(shape, dtype, tag=None, zero=False, fill=None)`` returns an array of that shape
    (uninitialised, or filled with ``fill``, 0 when ``zero``); a *tagged* buffer is filled only
    when it is first made, so whatever a caller never writes (a padding border) keeps its fill.
    """

    small = 1 << 16
    max_per_key = 6

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._owners: OrderedDict = OrderedDict()  # key -> [uint8 owner arrays], LRU order
        self._bytes = 0
        self._lock = threading.Lock()
        self.made = 0  # buffers made (a test's and the benchmark's view of reuse)

    def take(self, shape, dtype, tag=None, zero: bool = False, fill=None) -> np.ndarray:
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape) if not isinstance(shape, int) else (shape,)
        nbytes = max(1, math.prod(shape) * dtype.itemsize)
        if zero:
            fill = 0
        if nbytes < self.small:
            return np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype)
        key = (tag, nbytes)
        with self._lock:
            owners = self._owners.get(key)
            owner = None
            if owners is not None:
                self._owners.move_to_end(key)
                for i in range(len(owners)):
                    if sys.getrefcount(owners[i]) == _FREE_REFCOUNT:
                        owner = owners[i]
                        break
            fresh = owner is None
            if fresh:
                owner = np.empty(nbytes, dtype=np.uint8)
                self.made += 1
                if owners is None:
                    owners = self._owners[key] = []
                if len(owners) < self.max_per_key:
                    owners.append(owner)
                    self._bytes += nbytes
                    self._trim()
        out = owner.view(dtype).reshape(shape)
        if fill is not None and (fresh or tag is None):
            out.fill(fill)
        return out

    def give(self, *arrays) -> None:
        """Kept for callers written for explicit release: a no-op (buffers free themselves)."""

    def _trim(self) -> None:
        """Drop free buffers, least recently used keys first, until under ``max_bytes``."""
        if self._bytes <= self.max_bytes:
            return
        for key in list(self._owners):
            owners = self._owners[key]
            keep = []
            for i in range(len(owners)):
                if self._bytes > self.max_bytes and sys.getrefcount(owners[i]) == _FREE_REFCOUNT:
                    self._bytes -= owners[i].nbytes
                else:
                    keep.append(owners[i])
            if keep:
                self._owners[key] = keep
            else:
                del self._owners[key]
            if self._bytes <= self.max_bytes:
                return

    def clear(self) -> None:
        """Forget every buffer (arrays still held elsewhere stay valid)."""
        with self._lock:
            self._owners.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes


WORKSPACE = Workspace()
