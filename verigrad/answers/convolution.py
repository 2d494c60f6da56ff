"""Section 5: a 3x3 kernel over a 5x5 input (stride 1, no padding).

(a) The output is ``(5 - 3 + 1) x (5 - 3 + 1) = 3 x 3``: 9 values.
(b) As in every deep-learning library the "convolution" is a cross-correlation:
    ``y[i, j] = sum_{u, v} w[u, v] x[i + u, j + v]``.
(c) With upstream gradient ``g = dL/dy`` the input gradient is
    ``dL/dx[p, q] = sum_{i, j} g[i, j] w[p - i, q - j]`` (the "full" convolution of ``g`` with
    the kernel); for ``g`` all ones, ``dL/dx[p, q]`` is the sum of the kernel entries that
    touch pixel ``(p, q)``.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from ..tensor import Tensor
from .record import Answer, fmt

__all__ = [
    "answers",
    "INPUT",
    "KERNEL",
    "EXPECTED_OUTPUT",
    "EXPECTED_INPUT_GRAD",
    "cross_correlate_loops",
    "input_grad_loops",
]

INPUT = np.array(
    [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]],
    dtype=np.float64,
)
KERNEL = np.array([[4, 3, 3], [5, 5, 5], [2, 4, 3]], dtype=np.float64)
EXPECTED_OUTPUT = np.array([[109, 92, 72], [108, 85, 74], [110, 74, 79]], dtype=np.float64)
EXPECTED_INPUT_GRAD = np.array(
    [
        [4, 7, 10, 6, 3],
        [9, 17, 25, 16, 8],
        [11, 23, 34, 23, 11],
        [7, 16, 24, 17, 8],
        [2, 6, 9, 7, 3],
    ],
    dtype=np.float64,
)


def cross_correlate_loops(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The brute-force definition, one window at a time."""
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(w * x[i : i + kh, j : j + kw])
    return out


def input_grad_loops(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``dL/dx`` by scattering each output's gradient back over its window."""
    kh, kw = w.shape
    dx = np.zeros((g.shape[0] + kh - 1, g.shape[1] + kw - 1))
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            dx[i : i + kh, j : j + kw] += g[i, j] * w
    return dx


def answers() -> list:
    x = Tensor(INPUT[None, None], requires_grad=True)
    w = Tensor(KERNEL[None, None])
    y = F.conv2d(x, w)
    out = y.data[0, 0]
    shape = out.shape
    y.backward(np.ones_like(y.data))
    dx = x.grad[0, 0]

    formula_shape = (INPUT.shape[0] - KERNEL.shape[0] + 1, INPUT.shape[1] - KERNEL.shape[1] + 1)
    loops = cross_correlate_loops(INPUT, KERNEL)
    scatter = input_grad_loops(np.ones(shape), KERNEL)
    fd = numerical_gradient(lambda t: F.conv2d(t, w).sum(), INPUT[None, None])[0][0, 0]
    first = " + ".join(
        f"{int(a)}*{int(b)}" for a, b in zip(KERNEL.ravel(), INPUT[:3, :3].ravel(), strict=True)
    )
    return [
        Answer(
            5,
            "a",
            "Output size of a 3x3 kernel over a 5x5 input (stride 1, no padding)",
            f"{shape[0]}x{shape[1]} = {out.size} values: (5 - 3 + 1) x (5 - 3 + 1)",
            f"verigrad conv2d output shape {shape} = formula {formula_shape}",
            shape == formula_shape == (3, 3),
            ["output size per axis: H - k + 1 (stride 1, no padding, no dilation)"],
            {"shape": list(shape)},
        ),
        Answer(
            5,
            "b",
            "The output values (cross-correlation, as the libraries compute it)",
            fmt(out),
            "verigrad conv2d = brute-force window loops = the expected matrix "
            f"{fmt(EXPECTED_OUTPUT)}",
            bool(np.array_equal(out, loops) and np.array_equal(out, EXPECTED_OUTPUT)),
            [
                f"x = {fmt(INPUT)}",
                f"w = {fmt(KERNEL)}",
                f"y[0, 0] = {first} = {int(out[0, 0])}",
                f"y = {fmt(out)}",
            ],
            {"output": out},
        ),
        Answer(
            5,
            "c",
            "Input gradient for an all-ones upstream gradient",
            fmt(dx),
            "autograd (conv2d backward) = scatter of each window's gradient (loops) = central "
            f"finite differences (max |diff| {np.max(np.abs(fd - dx)):.1e}) = the expected "
            "matrix",
            bool(
                np.array_equal(dx, scatter)
                and np.array_equal(dx, EXPECTED_INPUT_GRAD)
                and np.max(np.abs(fd - dx)) < 1e-6
            ),
            [
                "dL/dx[p, q] = sum_{i,j} g[i, j] w[p - i, q - j]: with g = 1 every pixel gets "
                "the sum of the kernel entries whose window covers it",
                f"e.g. dL/dx[0, 1] = w[0, 0] + w[0, 1] = {int(dx[0, 1])}; the centre pixel is "
                f"covered by every kernel entry: {int(dx[2, 2])} = sum(w)",
                f"dL/dx = {fmt(dx)}",
            ],
            {"input_grad": dx},
        ),
    ]
