"""Section 4: variants of pooling, each computed by the library and by brute force.

For a window ``R`` of activations ``a_i`` (non-overlapping 2x2 windows here):

==============  ===============================  ===========================  ==================
pooling         formula                          verigrad                     PyTorch
==============  ===============================  ===========================  ==================
max             max_{i in R} a_i                 nn.MaxPool2d / F.max_pool2d  nn.MaxPool2d
average         1/|R| sum_{i in R} a_i           nn.AvgPool2d / F.avg_pool2d  nn.AvgPool2d
Lp              (sum_{i in R} a_i^p)^(1/p)       nn.LPPool2d / F.lp_pool2d    nn.LPPool2d
stochastic      a_k, k ~ p_i = a_i / sum a       nn.StochasticPool2d          (none built in)
                (eval: sum_i p_i a_i)
mixed           alpha max + (1 - alpha) avg      nn.MixedPool2d               (none built in)
==============  ===============================  ===========================  ==================

Stochastic pooling: Zeiler & Fergus 2013; mixed pooling: Lee, Gallagher & Tu 2016.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import gradcheck
from ..tensor import Tensor
from .record import Answer, fmt, max_abs_diff

__all__ = ["answers", "EXAMPLE", "windows"]

EXAMPLE = np.array([[1, 2, 0, 4], [5, 3, 1, 0], [2, 2, 6, 1], [0, 1, 3, 2]], dtype=np.float64)


def windows(x: np.ndarray, k: int = 2) -> np.ndarray:
    """The non-overlapping ``k x k`` windows of a 2-D array, as ``(Ho, Wo, k*k)`` (loops)."""
    ho, wo = x.shape[0] // k, x.shape[1] // k
    out = np.empty((ho, wo, k * k))
    for i in range(ho):
        for j in range(wo):
            out[i, j] = x[i * k : (i + 1) * k, j * k : (j + 1) * k].ravel()
    return out


def _three_kinds() -> Answer:
    x = Tensor(EXAMPLE[None, None])
    lib = {
        "max": F.max_pool2d(x, 2).data[0, 0],
        "average": F.avg_pool2d(x, 2).data[0, 0],
        "L2": F.lp_pool2d(x, 2, 2).data[0, 0],
    }
    w = windows(EXAMPLE)
    brute = {"max": w.max(axis=-1), "average": w.mean(axis=-1), "L2": np.sqrt((w**2).sum(axis=-1))}
    err = max(max_abs_diff(lib[k], brute[k]) for k in lib)
    x0 = EXAMPLE[None, None] + np.linspace(0, 0.1, 16).reshape(1, 1, 4, 4)  # distinct values
    grads_ok = all(
        gradcheck(
            lambda t, f=f: (f(t) * Tensor(np.arange(1.0, 5.0).reshape(1, 1, 2, 2))).sum(),
            Tensor(x0, requires_grad=True),
        )
        for f in (
            lambda t: F.max_pool2d(t, 2),
            lambda t: F.avg_pool2d(t, 2),
            lambda t: F.lp_pool2d(t, 2, 2),
        )
    )
    work = [
        f"input (4x4) = {fmt(EXAMPLE)}, 2x2 windows, stride 2",
        f"max      max a_i              (verigrad nn.MaxPool2d, torch nn.MaxPool2d): {fmt(lib['max'])}",
        f"average  1/4 sum a_i          (verigrad nn.AvgPool2d, torch nn.AvgPool2d): {fmt(lib['average'])}",
        f"L2       sqrt(sum a_i^2)      (verigrad nn.LPPool2d(2, 2), torch nn.LPPool2d): {fmt(lib['L2'])}",
        "Lp interpolates: p = 1 is sum pooling (4x average), p -> inf is max pooling.",
        "gradients: max routes the upstream gradient to the window's arg-max, average spreads "
        "g/4, Lp gives g a_i^(p-1) / out^(p-1); all three pass gradcheck.",
    ]
    return Answer(
        4,
        "a",
        "Three kinds of pooling (max, average, Lp): names, formulas, an example",
        f"max {fmt(lib['max'])}, average {fmt(lib['average'])}, L2 {fmt(lib['L2'])}",
        f"library vs brute force over the windows: max |diff| {err:.1e}; gradients vs "
        "finite differences: gradcheck passes",
        bool(err < 1e-12 and grads_ok),
        work,
        {"max": lib["max"], "average": lib["average"], "l2": lib["L2"]},
    )


def _stochastic_and_mixed() -> Answer:
    x = Tensor(EXAMPLE[None, None])
    w = windows(EXAMPLE)
    sums = w.sum(axis=-1, keepdims=True)
    expected = np.where(
        sums[..., 0] > 0, (w * w).sum(axis=-1) / np.where(sums[..., 0] > 0, sums[..., 0], 1), 0
    )
    eval_out = F.stochastic_pool2d(x, 2, training=False).data[0, 0]
    # training mode: the average of many draws tends to the eval value
    rng = np.random.default_rng(0)
    n_draws = 4000
    batch = Tensor(np.broadcast_to(EXAMPLE, (n_draws, 1, 4, 4)).copy())
    draws = F.stochastic_pool2d(batch, 2, training=True, rng=rng).data[:, 0]
    in_window = all(np.isin(draws[:, i, j], w[i, j]).all() for i in range(2) for j in range(2))
    mc_mean = draws.mean(axis=0)
    var = (w**3).sum(axis=-1) / np.maximum(sums[..., 0], 1e-300) - expected**2
    z = np.max(np.abs(mc_mean - expected) / np.sqrt(np.maximum(var, 1e-300) / n_draws))

    alpha = Tensor(np.array(0.3), requires_grad=True)
    mixed = F.mixed_pool2d(x, 2, alpha=alpha)
    mixed.sum().backward()
    mixed_brute = 0.3 * w.max(axis=-1) + 0.7 * w.mean(axis=-1)
    d_alpha = float((w.max(axis=-1) - w.mean(axis=-1)).sum())
    err = max(
        max_abs_diff(eval_out, expected),
        max_abs_diff(mixed.data[0, 0], mixed_brute),
        abs(float(alpha.grad) - d_alpha),
    )
    work = [
        "stochastic (Zeiler & Fergus 2013; verigrad nn.StochasticPool2d, no torch module): "
        "training picks a_k with probability p_k = a_k / sum a (a >= 0); eval uses the "
        "expectation sum p_i a_i = sum a_i^2 / sum a_i.",
        f"  eval output = {fmt(eval_out)}; mean of {n_draws} training draws = {fmt(mc_mean)} "
        f"(largest deviation {z:.1f} standard errors); every draw is an entry of its window: "
        f"{in_window}",
        "mixed (Lee, Gallagher & Tu 2016; verigrad nn.MixedPool2d with a learnable alpha, no "
        "torch module): alpha max + (1 - alpha) avg.",
        f"  alpha = 0.3: {fmt(mixed.data[0, 0])}; d(sum out)/d alpha = sum(max - avg) = "
        f"{d_alpha:.4f} (autograd {float(alpha.grad):.4f})",
    ]
    return Answer(
        4,
        "b",
        "Stochastic and mixed pooling",
        f"stochastic (eval) {fmt(eval_out)}; mixed (alpha 0.3) {fmt(mixed.data[0, 0])}",
        f"brute-force formulas vs library: max |diff| {err:.1e}; training draws average "
        f"to the eval value within {z:.1f} standard errors",
        bool(err < 1e-12 and in_window and z < 5),
        work,
        {"stochastic_eval": eval_out, "mixed": mixed.data[0, 0], "d_alpha": d_alpha},
    )


def _why() -> Answer:
    a = np.zeros((4, 4))
    a[0, 0] = 1.0
    b = np.zeros((4, 4))
    b[1, 1] = 1.0  # the same feature, shifted by one pixel inside its window
    pa = F.max_pool2d(Tensor(a[None, None]), 2).data[0, 0]
    pb = F.max_pool2d(Tensor(b[None, None]), 2).data[0, 0]
    invariant = np.array_equal(pa, pb) and not np.array_equal(a, b)
    work = [
        "1. invariance to small translations: a feature at (0,0) or shifted to (1,1) gives the "
        f"same 2x2 max-pooled map {fmt(pa)} (the unpooled feature maps differ);",
        "2. fewer activations: 2x2/stride-2 pooling divides the next layer's input and compute "
        "by 4 and has no parameters;",
        "3. larger receptive fields: each later unit sees a region twice as wide per pooling "
        "layer, so deep layers see the whole object.",
    ]
    return Answer(
        4,
        "c",
        "Why pooling?",
        "local translation invariance, less computation and memory, and growing "
        "receptive fields, at no parameter cost",
        f"the shifted inputs differ but their max-pooled outputs are identical: {invariant}",
        bool(invariant),
        work,
        {"pooled": pa},
    )


def answers() -> list:
    return [_three_kinds(), _stochastic_and_mixed(), _why()]
