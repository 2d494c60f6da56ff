"""Training against torch (float32), at 1 and at 2 threads.

* **LeNet-5 epoch**: one epoch of the LeNet-5-style net on 10,000 random 28x28 images. Same
  architecture (:class:`verigrad.nn.LeNet5`), batch size 64, Adam; an epoch is 157 steps of
  forward, cross-entropy, backward and update. Target (issue 23) <= 1.0x torch at both
  thread counts. ``extra`` gives the median minor page faults per training step of each side
  (``faults``, ``ref_faults``): a steady-state step of verigrad should allocate no fresh
  large buffer.
* **digits run**: the default ``verigrad train`` (:class:`~verigrad.training.TrainConfig()`:
  the digits CNN on 8x8 digits, batch 32, Adam at its default rate, step schedule, 20 epochs,
  the test set evaluated and a checkpoint written after every epoch) against the same run
  written as a plain torch loop (same split, architecture, optimizer, schedule, per-epoch
  evaluation in batches of 512 and ``torch.save`` of the weights and optimizer). One run of
  each, interleaved (ours, torch, ours, torch: the median of two each).

Each thread count runs in its own process with the same count on both sides
(``OPENBLAS_NUM_THREADS``, ``torch.set_num_threads``). ``quick`` runs 1,000 images and a
2-epoch digits run at one thread count.
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
    """The rows, measured in this process (whose BLAS already has ``threads`` threads)."""
    return _lenet_epoch(quick, threads) + _digits_run(quick, threads)


def _lenet_epoch(quick: bool, threads: int) -> list:
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


def _torch_digits_cnn(torch, n_classes):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, n_classes),
    )


def _digits_run(quick: bool, threads: int) -> list:
    """The default ``verigrad train`` against the same run as a torch loop (see the module)."""
    import dataclasses
    import os
    import tempfile

    import torch

    from ..optim.registry import STEP_SIZE
    from ..training import TrainConfig, Trainer

    torch.set_num_threads(threads)
    config = TrainConfig()
    if quick:
        config = dataclasses.replace(config, epochs=2)
    scratch = tempfile.TemporaryDirectory(prefix="verigrad-bench-train-")
    runs = []

    def ours():
        run_dir = os.path.join(scratch.name, f"run{len(runs)}")
        runs.append(run_dir)
        Trainer(config, run_dir=run_dir).run(progress=False, log=None)

    probe = Trainer(config, run_dir=os.path.join(scratch.name, "data"))
    Xtr, ytr, Xte, yte = (torch.from_numpy(a) for a in (probe.Xtr, probe.ytr, probe.Xte, probe.yte))
    n_classes, batch, epochs, lr = probe.n_classes, config.batch_size, config.epochs, config.lr

    def reference():
        gen = torch.Generator().manual_seed(config.seed)
        model = _torch_digits_cnn(torch, n_classes)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=STEP_SIZE, gamma=0.1)
        path = os.path.join(scratch.name, "torch.pt")
        for _ in range(epochs):
            model.train()
            for idx in torch.randperm(len(ytr), generator=gen).split(batch):
                logits = model(Xtr[idx])
                loss = torch.nn.functional.cross_entropy(logits, ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total = loss.item() + (logits.argmax(1) == ytr[idx]).sum().item()  # as ours logs
            model.eval()
            with torch.no_grad():
                scores = torch.cat([model(Xte[i : i + 512]) for i in range(0, len(Xte), 512)])
                total += torch.nn.functional.cross_entropy(scores, yte).item()
                total += scores.topk(3, dim=1).indices.sum().item()
            schedule.step()
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)

    plural = "s" if threads > 1 else ""
    with scratch:
        row = compare(
            "train",
            f"digits `verigrad train` defaults: {len(ytr)} x 8x8, CNN, batch {batch}, Adam, "
            f"{epochs} epochs [{threads} thread{plural}]",
            ours,
            reference,
            f"torch {torch.__version__} loop ({torch.get_num_threads()} thread{plural})",
            repeats=2,
            warmup=0,
        )
    row.extra = {
        "threads": threads,
        "epochs": epochs,
        "params": probe.model.n_parameters(),
        "ref_params": sum(p.numel() for p in _torch_digits_cnn(torch, n_classes).parameters()),
    }
    return [row]
