"""Window offsets as contiguous shifts: the padded input split into stride-phase planes.

A pooling window's offset ``(u, v)`` reads padded row ``s i + u d`` for output row ``i``.
Writing ``u d = s q + a`` (``a`` the phase, ``q`` the shift), that row is row ``i + q`` of
the *plane* of padded rows congruent to ``a`` mod ``s``. So once the padded input is cut into
its (at most ``sh sw``) phase planes, every offset is a plain shift inside one plane. Laying
each plane out flat with a "wide" row length ``Wq = Wo + max q`` makes that shift a single
flat offset ``q_u Wq + q_v``: a reduction over the window becomes ``kh kw`` operations on
contiguous 1-D arrays of ``N C Hq Wq`` elements (``Hq = Ho + max q``), which NumPy runs at
full SIMD speed, instead of operations on 4-D strided views with 14-element inner loops.
Entries of the wide layout past ``Ho``/``Wo`` are scratch (they may read the next image) and
are cropped away; the backward pass gives them a zero gradient.

The planes and other per-call scratch come from the shared :data:`WORKSPACE` (fresh large
arrays cost a page fault per page, which on these machines was most of a pooling call) and
go back with :meth:`PhasePlanes.release`.
"""

from __future__ import annotations

import numpy as np

from ._workspace import WORKSPACE

__all__ = ["PhasePlanes"]


def _axis(size, kernel, stride, padding, dilation, out):
    """Per-axis layout: offsets' (phase, shift), plane length, and the phases' input slices."""
    offsets = [divmod(u * dilation, stride)[::-1] for u in range(kernel)]  # (phase, shift)
    length = out + max(q for _, q in offsets)
    slices, covered = {}, np.zeros(size, dtype=bool)
    for a in sorted({a for a, _ in offsets}):
        # plane row m holds padded row s m + a, i.e. input row s m + a - padding
        m0 = max(0, -((a - padding) // stride))
        start = stride * m0 + a - padding
        count = min(length - m0, -(-(size - start) // stride)) if start < size else 0
        slices[a] = (m0, start, max(count, 0))
        if count > 0:
            covered[start : start + stride * count : stride] = True
    return offsets, length, slices, bool(covered.all())


class PhasePlanes:
    """The phase-plane layout of one pooling geometry (see the module docstring).

    ``offsets`` lists, row-major over the window, ``(k, plane key, flat shift)``.
    """

    def __init__(self, shape, kernel, stride, padding, dilation, out_hw):
        self.shape = tuple(shape)
        n, c, h, w = shape
        self.stride, self.out_hw = stride, out_hw
        rows, self.hq, self.row_slices, rows_covered = _axis(
            h, kernel[0], stride[0], padding[0], dilation[0], out_hw[0]
        )
        cols, self.wq, self.col_slices, cols_covered = _axis(
            w, kernel[1], stride[1], padding[1], dilation[1], out_hw[1]
        )
        self.covered = rows_covered and cols_covered
        self.length = n * c * self.hq * self.wq
        self.offsets = [
            (i * len(cols) + j, (a, b), q * self.wq + r)
            for i, (a, q) in enumerate(rows)
            for j, (b, r) in enumerate(cols)
        ]
        self.keys = sorted({key for _, key, _ in self.offsets})
        self.tail = max(shift for _, _, shift in self.offsets)

    def _image(self, flat):
        n, c = self.shape[:2]
        return flat[: self.length].reshape(n, c, self.hq, self.wq)

    def _parts(self, key):
        """``(plane index, input index)`` of the entries of plane ``key`` that hold input."""
        (m0, h0, hc), (n0, w0, wc) = self.row_slices[key[0]], self.col_slices[key[1]]
        sh, sw = self.stride
        plane = (slice(None), slice(None), slice(m0, m0 + hc), slice(n0, n0 + wc))
        source = (
            slice(None),
            slice(None),
            slice(h0, h0 + sh * hc, sh),
            slice(w0, w0 + sw * wc, sw),
        )
        return plane, source, hc > 0 and wc > 0

    def take(self, dtype, size=None) -> np.ndarray:
        """A flat scratch array (``size`` defaults to a plane's), uninitialised; see release."""
        return WORKSPACE.take((self.length + self.tail if size is None else size,), dtype)

    @staticmethod
    def release(*arrays) -> None:
        """Give scratch arrays (or dicts of planes) back to the workspace."""
        for a in arrays:
            WORKSPACE.give(*(a.values() if isinstance(a, dict) else (a,)))

    def split(self, x: np.ndarray, fill) -> dict:
        """The phase planes of ``x`` padded with ``fill``: ``{key: flat array}`` (scratch)."""
        planes = {}
        for key in self.keys:
            flat = self.take(x.dtype)
            flat.fill(fill)
            plane, source, nonempty = self._parts(key)
            if nonempty:
                self._image(flat)[plane] = x[source]
            planes[key] = flat
        return planes

    def window(self, planes: dict, key, shift: int) -> np.ndarray:
        """The flat wide view of one offset: entry ``t`` of every output is at ``t + shift``."""
        return planes[key][shift : shift + self.length]

    def crop(self, wide: np.ndarray) -> np.ndarray:
        """The ``(N, C, Ho, Wo)`` outputs of a flat wide array, as a new C-contiguous array
        (always a copy: ``wide`` may be scratch that goes back to the workspace)."""
        return self._image(wide)[:, :, : self.out_hw[0], : self.out_hw[1]].copy()

    def widen(self, g: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`crop`: ``g`` placed in a flat wide array, zeros elsewhere (scratch)."""
        wide = self.take(g.dtype, self.length)
        wide.fill(0)
        self._image(wide)[:, :, : self.out_hw[0], : self.out_hw[1]] = g
        return wide

    def zeros(self, dtype) -> dict:
        """Zero-filled planes (scratch)."""
        planes = {key: self.take(dtype) for key in self.keys}
        for flat in planes.values():
            flat.fill(0)
        return planes

    def merge(self, planes: dict, dtype) -> np.ndarray:
        """Adjoint of :meth:`split`: the input-shaped array the planes' entries belong to."""
        out = (np.empty if self.covered else np.zeros)(self.shape, dtype=dtype)
        for key in self.keys:
            plane, source, nonempty = self._parts(key)
            if nonempty:
                out[source] = self._image(planes[key])[plane]
        return out
