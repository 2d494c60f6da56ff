"""One MLP training step (batch 128, 64-256-256-10, float32) vs torch, same threads.

A step is forward, cross-entropy, backward and an SGD update; target <= 1.5x torch.
"""

from __future__ import annotations

import numpy as np

from .harness import compare

__all__ = ["run"]


def run(quick: bool = False) -> list:
    import torch

    from .. import functional as F
    from ..nn import MLP
    from ..optim import SGD
    from ..tensor import Tensor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 64)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = MLP(64, 10, hidden=(256, 256), rng=0)
    opt = SGD(model.parameters(), lr=0.01)

    tmodel = torch.nn.Sequential(
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def ours():
        for _ in range(inner):
            loss = F.cross_entropy(model(Tensor(X)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def reference():
        for _ in range(inner):
            loss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
            topt.zero_grad()
            loss.backward()
            topt.step()

    inner = 10 if quick else 50
    row = compare(
        "mlp",
        f"train step x{inner}, batch 128, 64-256-256-10 f32",
        ours,
        reference,
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
        repeats=3 if quick else 9,
        target=1.5,
    )
    row.extra = {
        "us_per_step": row.ours_s / inner * 1e6,
        "ref_us_per_step": row.reference_s / inner * 1e6,
    }
    return [row]
