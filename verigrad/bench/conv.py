"""conv2d forward and forward+backward against torch (float32), at 1 and at 2 threads.

Cases (issue 23), all 3x3, padding 1, with bias:

* A: x (64, 1, 28, 28),  w (32, 1, 3, 3)   fwd+bwd target <= 0.5x torch
* B: x (64, 32, 14, 14), w (64, 32, 3, 3)  fwd+bwd target <= 1.6x (im2col GEMM floor ~1.22x)
* C: x (32, 64, 32, 32), w (128, 64, 3, 3) fwd+bwd target <= 1.15x

Each thread count runs in its own process (``OPENBLAS_NUM_THREADS`` and
``torch.set_num_threads``; see :func:`~verigrad.bench.harness.run_with_threads`). A timed
fwd+bwd call makes leaf tensors, runs the forward and back-propagates an all-ones gradient
(gradients for x, weight and bias); a fwd call runs the forward only, with gradients enabled
(what a training step's forward costs, saved values included). verigrad and torch alternate,
medians are reported, and ``extra`` carries:

* ``algo``: the algorithm ``auto`` chose (:func:`verigrad.functional.conv.choose_algorithm`);
* ``faults`` / ``ref_faults``: median minor page faults per call of each side (a fresh 4 KiB
  page costs one; verigrad's workspace should make this 0 once warm);
* ``gflops`` / ``torch_gflops`` at ``2 N O Ho Wo C kh kw`` FLOPs per pass (3 passes fwd+bwd);
* for B and C fwd+bwd, ``floor_over_torch``: the three bare float32 matmuls any im2col design
  must make (``W @ cols``, ``G cols^T``, ``W^T G`` at their minimal sizes, no copies), timed
  back to back, over torch's whole call: the floor of im2col on that shape (Winograd does
  2.25x fewer multiply-adds and can go below it), and ``ratio_back_to_back`` (each side in a
  run of its own: neither side's spinning thread pool slows the other).

``quick`` uses small shapes and one thread count.
"""

from __future__ import annotations

import numpy as np

from .harness import THREAD_COUNTS, back_to_back, compare, run_with_threads

__all__ = ["run", "run_here", "CASES", "QUICK_CASES"]

#: name -> (x shape, w shape, fwd+bwd target)
CASES = {
    "A": ((64, 1, 28, 28), (32, 1, 3, 3), 0.5),
    "B": ((64, 32, 14, 14), (64, 32, 3, 3), 1.6),
    "C": ((32, 64, 32, 32), (128, 64, 3, 3), 1.15),
}
QUICK_CASES = {"a": ((8, 1, 12, 12), (4, 1, 3, 3), None), "b": ((4, 8, 10, 10), (8, 8, 3, 3), None)}
#: cases whose fwd+bwd rows carry the im2col GEMM floor
FLOOR_CASES = ("B", "C", "a", "b")


def run(quick: bool = False) -> list:
    """Rows of every case at each of :data:`THREAD_COUNTS` (one process per count)."""
    rows = []
    for threads in THREAD_COUNTS[:1] if quick else THREAD_COUNTS:
        rows.extend(run_with_threads("conv", threads, quick))
    return rows


def run_here(quick: bool = False, threads: int = 1) -> list:
    """The rows, measured in this process (whose BLAS already has ``threads`` threads)."""
    import torch

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for name, (x_shape, w_shape, target) in (QUICK_CASES if quick else CASES).items():
        rows.extend(_case(name, x_shape, w_shape, target, quick, threads, rng))
    return rows


def _case(name, x_shape, w_shape, target, quick, threads, rng):
    import torch

    from ..functional.conv import choose_algorithm, conv2d
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
    held = {}  # the last call's result stays alive while the next runs, as in a training loop

    def ours_forward():
        xs, ws, bs = (Tensor(a, requires_grad=True) for a in (x, w, b))
        held["ours"] = conv2d(xs, ws, bs, padding=1)

    def torch_forward():
        held["torch"] = torch.nn.functional.conv2d(xt, wt, bt, padding=1)

    def ours():
        xs, ws, bs = (Tensor(a, requires_grad=True) for a in (x, w, b))
        conv2d(xs, ws, bs, padding=1).backward(ones)

    def reference():
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, padding=1).backward(ones_t)

    k, pixels = c * kh * kw, n * h * wd
    w2 = w.reshape(o, k)
    cols = rng.standard_normal((k, pixels), dtype=np.float32)
    g2 = np.ones((o, pixels), dtype=np.float32)
    out_y, out_w, out_cols = (
        np.empty(shape, np.float32) for shape in ((o, pixels), (o, k), (k, pixels))
    )

    def blas_floor():
        np.matmul(w2, cols, out=out_y)
        np.matmul(g2, cols.T, out=out_w)
        np.matmul(w2.T, g2, out=out_cols)

    flops = 2.0 * n * o * h * wd * c * kh * kw
    algo = choose_algorithm(None, x_shape, w_shape, (1, 1), (1, 1), 1)
    label = f"{name}: x{x_shape} w{w_shape} p=1"
    suffix = f"[{threads} thread{'s' if threads > 1 else ''}]"
    repeats = 3 if quick else 9
    reference_name = f"torch ({threads} thread{'s' if threads > 1 else ''})"
    forward = compare(
        "conv",
        f"{label} fwd {suffix}",
        ours_forward,
        torch_forward,
        reference_name,
        repeats=repeats,
        faults_per=1,
    )
    both = compare(
        "conv",
        f"{label} fwd+bwd {suffix}",
        ours,
        reference,
        reference_name,
        repeats=repeats,
        target=target,
        faults_per=1,
    )
    held.clear()
    for row, passes in ((forward, 1), (both, 3)):
        row.extra = {
            "threads": threads,
            "algo": algo,
            **row.extra,
            "gflops": passes * flops / row.ours_s / 1e9,
            "torch_gflops": passes * flops / row.reference_s / 1e9,
        }
    if name in FLOOR_CASES:
        alone_ours, alone_torch, alone_floor = back_to_back(
            ours, reference, blas_floor, repeats=3 if quick else 7
        )
        both.extra["ratio_back_to_back"] = alone_ours / alone_torch
        both.extra["floor_over_torch"] = alone_floor / alone_torch
    return [forward, both]
