"""One epoch of the LeNet-5-style net on 10,000 random 28x28 images vs torch (float32).

Same architecture (:class:`verigrad.nn.LeNet5`), batch size 64, Adam; an epoch is 157 steps
of forward, cross-entropy, backward and update. Measured at 1 and at 2 threads, each in its
own process with the same thread count on both sides (``OPENBLAS_NUM_THREADS``,
``torch.set_num_threads``). Target (issue 23) <= 1.0x torch at both. ``extra`` gives the
median minor page faults per training step of each side (``faults``, ``ref_faults``): a
steady-state step of verigrad should allocate no fresh large buffer. ``quick`` runs 1,000
images at one thread count.
"""

from __future__ import annotations

import numpy as np

from .harness import THREAD_COUNTS, compare, run_with_threads

__all__ = ["run", "run_here"]


def run(quick: bool = False) -> list:
    """The epoch row at each of :data:`THREAD_COUNTS` (one process per count)."""
    rows = []
    for threads in THREAD_COUNTS[:1] if quick else THREAD_COUNTS:
        rows.extend(run_with_threads("train", threads, quick))
    return rows


def _torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def run_here(quick: bool = False, threads: int = 1) -> list:
    """The epoch row, measured in this process (whose BLAS already has ``threads`` threads)."""
    import torch

    from .. import functional as F
    from ..data import DataLoader
    from ..nn import LeNet5
    from ..optim import Adam
    from ..tensor import Tensor

    torch.set_num_threads(threads)
    n = 1000 if quick else 10_000
    batch = 64
    rng = np.random.default_rng(0)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    model = LeNet5(rng=0)
    opt = Adam(model.parameters(), lr=1e-3)
    tmodel = _torch_lenet(torch)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def ours():
        for xb, yb in DataLoader(X, y, batch, rng=1):
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def reference():
        for idx in torch.randperm(n).split(batch):
            loss = torch.nn.functional.cross_entropy(tmodel(tX[idx]), ty[idx])
            topt.zero_grad()
            loss.backward()
            topt.step()

    plural = "s" if threads > 1 else ""
    row = compare(
        "train",
        f"LeNet-5 epoch, {n} x 28x28, batch {batch}, Adam, f32 [{threads} thread{plural}]",
        ours,
        reference,
        f"torch {torch.__version__} ({torch.get_num_threads()} thread{plural})",
        repeats=1 if quick else 3,
        warmup=1,
        target=None if quick else 1.0,
        faults_per=-(-n // batch),
    )
    row.extra = {
        "threads": threads,
        "faults_per_step": row.extra["faults"],
        "ref_faults_per_step": row.extra["ref_faults"],
        "params": model.n_parameters(),
        "ref_params": sum(p.numel() for p in tmodel.parameters()),
    }
    return [row]
