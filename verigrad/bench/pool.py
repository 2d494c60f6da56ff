"""max_pool2d (and avg_pool2d) forward+backward against torch (float32, same process).

Cases on x (64, 32, 28, 28): max 2x2 stride 2 and max 3x3 stride 2 padding 1 (the issue's
targets, ratio <= 1.5), and avg 2x2 stride 2 for information. One timed call makes a leaf
tensor, pools and back-propagates a fixed random upstream gradient. ``quick`` uses (4, 3, 12, 12).
"""

from __future__ import annotations

import numpy as np

from .harness import compare

__all__ = ["run"]


def run(quick: bool = False) -> list:
    import torch

    from ..functional.pool import avg_pool2d, max_pool2d
    from ..tensor import Tensor

    shape = (4, 3, 12, 12) if quick else (64, 32, 28, 28)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    cases = [
        ("max 2x2/2", max_pool2d, torch.nn.functional.max_pool2d, (2, 2, 0), 1.5),
        ("max 3x3/2 p=1", max_pool2d, torch.nn.functional.max_pool2d, (3, 2, 1), 1.5),
        ("avg 2x2/2", avg_pool2d, torch.nn.functional.avg_pool2d, (2, 2, 0), None),
    ]
    rows = []
    for name, ours_fn, torch_fn, args, target in cases:
        out_shape = ours_fn(x, *args).shape
        g = rng.standard_normal(out_shape, dtype=np.float32)
        gt = torch.from_numpy(g.copy())

        def ours(ours_fn=ours_fn, args=args, g=g):
            xs = Tensor(x, requires_grad=True)
            ours_fn(xs, *args).backward(g)

        def reference(torch_fn=torch_fn, args=args, gt=gt):
            xt.grad = None
            torch_fn(xt, *args).backward(gt)

        rows.append(
            compare(
                "pool",
                f"{name} x{shape} fwd+bwd",
                ours,
                reference,
                "torch",
                repeats=3 if quick else 15,
                target=None if quick or target is None else target,
            )
        )
    return rows
