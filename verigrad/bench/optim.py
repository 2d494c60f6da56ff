"""Adam ``step()`` over 1M float32 parameters in 10 tensors vs ``torch.optim.Adam``.

Adam is memory-bound: per element it reads the gradient and reads and writes the parameter
and both moments. verigrad's kernel (:func:`verigrad.optim.adam.adam_kernel`) makes 12
in-place NumPy passes over chunks of up to 256K elements spread over the usable
cores; torch's default is its multi-tensor (``foreach``) implementation with its intra-op
threads. Rows:

1. verigrad vs torch's default (foreach) - the target, ratio <= 1.2;
2. verigrad vs torch with ``foreach=False`` (the single-tensor loop);
3. both on one thread (``VERIGRAD_NUM_THREADS=1``, ``torch.set_num_threads(1)``), for the
   per-core cost.

Each timed call is ``steps`` optimizer steps with fixed gradients; ``quick`` uses 10 tensors
of 2,000 elements.
"""

from __future__ import annotations

import os

import numpy as np

from .harness import compare

__all__ = ["run"]


def run(quick: bool = False) -> list:
    import torch

    from ..optim import Adam
    from ..optim._chunks import num_threads
    from ..tensor import Tensor

    n_tensors, size = 10, (2_000 if quick else 100_000)
    steps, repeats = (2, 3) if quick else (10, 9)
    rng = np.random.default_rng(0)
    starts = [rng.standard_normal(size, dtype=np.float32) for _ in range(n_tensors)]
    grads = [rng.standard_normal(size, dtype=np.float32) for _ in range(n_tensors)]
    case = f"{n_tensors} x {size:,} float32, {steps} steps"

    def make_ours():
        params = [Tensor(s.copy(), requires_grad=True) for s in starts]
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        return Adam(params, lr=1e-3)

    def make_torch(**kwargs):
        params = [torch.from_numpy(s.copy()).requires_grad_() for s in starts]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.from_numpy(g)
        return torch.optim.Adam(params, lr=1e-3, **kwargs)

    def steps_of(optimizer):
        def go():
            for _ in range(steps):
                optimizer.step()

        return go

    ours = make_ours()
    torch_threads = torch.get_num_threads()
    threads = dict(verigrad_threads=num_threads(), torch_threads=torch_threads)
    rows = [
        compare(
            "adam",
            case,
            steps_of(ours),
            steps_of(make_torch()),
            "torch.optim.Adam (foreach)",
            repeats=repeats,
            target=1.2,
            extra=threads,
        ),
        compare(
            "adam",
            case,
            steps_of(ours),
            steps_of(make_torch(foreach=False)),
            "torch.optim.Adam (foreach=False)",
            repeats=repeats,
            extra=threads,
        ),
    ]
    previous = os.environ.get("VERIGRAD_NUM_THREADS")
    os.environ["VERIGRAD_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    try:
        rows.append(
            compare(
                "adam",
                case + ", 1 thread each",
                steps_of(ours),
                steps_of(make_torch()),
                "torch.optim.Adam (foreach)",
                repeats=repeats,
                extra=dict(verigrad_threads=1, torch_threads=1),
            )
        )
    finally:
        torch.set_num_threads(torch_threads)
        if previous is None:
            del os.environ["VERIGRAD_NUM_THREADS"]
        else:
            os.environ["VERIGRAD_NUM_THREADS"] = previous
    return rows
