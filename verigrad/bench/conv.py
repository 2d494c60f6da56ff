"""conv2d forward+backward against torch (float32, same process, torch's default threads).

Cases (the issue's targets, ratio <= 1.5): x (64, 1, 28, 28) w (32, 1, 3, 3); x (64, 32, 14, 14)
w (64, 32, 3, 3); x (32, 64, 32, 32) w (128, 64, 3, 3); all padding 1, with bias. One timed
call is: make leaf tensors, forward, backward with an all-ones upstream gradient (gradients
for x, weight and bias). ``extra`` gives GFLOP/s of both sides (``6 N O Ho Wo C kh kw`` FLOPs
per call: forward, weight gradient and input gradient) and the peak memory one call allocates
(``tracemalloc``, which NumPy reports to), measured from a cold workspace, beside the size of
the im2col buffer ``N (C kh kw) (Ho Wp)``; ``peak_over_im2col`` is the issue's "no more than about
twice the im2col buffer" check. The workspace keeps that buffer between calls, so warm calls
allocate only outputs and gradients (``warm_peak_MB``); ``scratch_over_im2col`` leaves out
those results (output and gradients), which alone exceed the im2col buffer when ``O > C kh kw``
(the first case).

Two more figures put the ratio in context. ``ratio_back_to_back`` times each side in a run of
its own instead of interleaved (torch's OpenMP threads and OpenBLAS's threads each spin for a
while after their calls, so interleaving slows both sides). ``floor_over_torch`` times, also
back to back, just the three bare float32 matmuls any im2col design must make, at their
minimal sizes (``W (O, K) @ cols (K, N Ho Wo)``, ``G cols^T`` and ``W^T G``; no copies, no
wide rows), against torch's whole call: a lower bound for this approach, whatever its copies
cost.
``quick`` uses small shapes.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from .harness import back_to_back, compare

__all__ = ["run", "CASES"]

CASES = [
    ((64, 1, 28, 28), (32, 1, 3, 3)),
    ((64, 32, 14, 14), (64, 32, 3, 3)),
    ((32, 64, 32, 32), (128, 64, 3, 3)),
]
QUICK_CASES = [((8, 1, 12, 12), (4, 1, 3, 3)), ((4, 8, 10, 10), (8, 8, 3, 3))]


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def run(quick: bool = False) -> list:
    rng = np.random.default_rng(0)
    return [
        _case(x_shape, w_shape, quick, rng)
        for x_shape, w_shape in (QUICK_CASES if quick else CASES)
    ]


def _case(x_shape, w_shape, quick, rng):
    import torch

    from ..functional.conv import WORKSPACE, conv2d
    from ..tensor import Tensor

    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = (rng.standard_normal(w_shape, dtype=np.float32) / np.sqrt(np.prod(w_shape[1:]))).astype(
        np.float32
    )
    b = np.zeros(w_shape[0], dtype=np.float32)
    n, c, h, wd = x_shape
    o, _, kh, kw = w_shape
    ones = np.ones((n, o, h, wd), dtype=np.float32)
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    ones_t = torch.ones(n, o, h, wd)

    def ours():
        xs, ws, bs = (Tensor(a, requires_grad=True) for a in (x, w, b))
        conv2d(xs, ws, bs, padding=1).backward(ones)

    def reference():
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, padding=1).backward(ones_t)

    def blas_floor():
        np.matmul(w2, cols, out=out_y)
        np.matmul(g2, cols.T, out=out_w)
        np.matmul(w2.T, g2, out=out_cols)

    k, pixels = c * kh * kw, n * h * wd
    w2 = w.reshape(o, k)
    cols = rng.standard_normal((k, pixels), dtype=np.float32)
    g2 = np.ones((o, pixels), dtype=np.float32)
    out_y, out_w, out_cols = (
        np.empty(shape, np.float32) for shape in ((o, pixels), (o, k), (k, pixels))
    )

    flops = 6.0 * n * o * h * wd * c * kh * kw
    im2col_bytes = n * c * kh * kw * h * (wd + 2) * 4
    WORKSPACE.clear()
    cold = _peak_bytes(ours)
    warm = _peak_bytes(ours)
    row = compare(
        "conv",
        f"x{x_shape} w{w_shape} p=1 fwd+bwd",
        ours,
        reference,
        "torch",
        repeats=3 if quick else 9,
        target=None if quick else 1.5,
    )
    repeats = 3 if quick else 7
    alone_ours, alone_torch, alone_floor = back_to_back(
        ours, reference, blas_floor, repeats=repeats
    )
    # the call's own results: output (wide rows, see functional.conv) and the three gradients
    results = (n * o * h * (wd + 2) + n * c * h * wd + w.size + b.size) * 4
    row.extra = {
        "gflops": flops / row.ours_s / 1e9,
        "torch_gflops": flops / row.reference_s / 1e9,
        "ratio_back_to_back": alone_ours / alone_torch,
        "floor_over_torch": alone_floor / alone_torch,
        "peak_MB": cold / 2**20,
        "warm_peak_MB": warm / 2**20,
        "im2col_MB": im2col_bytes / 2**20,
        "peak_over_im2col": cold / im2col_bytes,
        "scratch_over_im2col": (cold - results) / im2col_bytes,
    }
    return row
