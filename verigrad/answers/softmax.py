"""Section 2: the softmax-regression gradient, and a confident wrong prediction.

Model ``yhat = softmax(a)``, ``a = W x + b``, loss ``l = -sum_i y_i log yhat_i``.

2.1. ``d yhat_k / d a_i = yhat_k ([k = i] - yhat_i)`` so
``dl/da_i = -sum_k y_k / yhat_k * yhat_k ([k = i] - yhat_i) = yhat_i sum_k y_k - y_i
= yhat_i - y_i`` (``sum_k y_k = 1``), and ``a_i = sum_j W_ij x_j + b_i`` gives
``dl/dW_ij = (yhat_i - y_i) x_j``, i.e. ``dl/dW = (yhat - y) x^T``.
The answer sheet keeps only the ``k = i`` term of the sum (its (4)), and its (8) should read
``d exp(a_i)/dW_ij = x_j exp(a_i)``; its result ``-x_j y_i (1 - yhat_i)`` is right on the
true-class row only: on every other row it says 0 where the truth is ``yhat_i x_j``.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.loss import softmax_forward
from ..gradcheck import numerical_gradient
from ..tensor import Tensor
from .record import Answer, fmt, max_abs_diff

__all__ = ["answers", "sheet_gradient", "softmax_regression_gradient"]


def softmax_regression_gradient(W, x, b, y) -> np.ndarray:
    """The closed form ``dl/dW = (softmax(W x + b) - y) x^T``."""
    yhat = softmax_forward(W @ x + b)
    return np.outer(yhat - y, x)


def sheet_gradient(W, x, b, y) -> np.ndarray:
    """The answer sheet's (10): ``dl/dW_ij = -x_j y_i (1 - yhat_i)``."""
    yhat = softmax_forward(W @ x + b)
    return -np.outer(y * (1 - yhat), x) + 0.0  # + 0.0: no negative zeros in the printout


def _loss(W, x, b, y):
    return F.cross_entropy_from_probs(F.softmax(W @ x + b), y, reduction="sum")


def _answer_2_1() -> Answer:
    rng = np.random.default_rng(7)
    k, d, true_class = 3, 4, 0
    W = rng.normal(size=(k, d)).round(2)
    x = rng.normal(size=d).round(2)
    b = rng.normal(size=k).round(2)
    y = np.eye(k)[true_class]

    Wt = Tensor(W, requires_grad=True)
    loss = _loss(Wt, Tensor(x), Tensor(b), Tensor(y))
    loss.backward()
    autograd = Wt.grad
    closed = softmax_regression_gradient(W, x, b, y)
    sheet = sheet_gradient(W, x, b, y)
    yhat = softmax_forward(W @ x + b)

    err_closed = max_abs_diff(closed, autograd)
    # The sheet's formula against the truth: where do they differ?
    wrong = np.abs(sheet - autograd) > 1e-8 * (1 + np.abs(autograd))
    i, j = np.unravel_index(int(np.argmax(np.abs(sheet - autograd))), W.shape)
    rows_wrong = sorted({int(r) for r in np.nonzero(wrong)[0]})
    true_row_ok = max_abs_diff(sheet[true_class], autograd[true_class]) < 1e-12

    # The sheet's (8) d exp(a_i)/dW_ij = W_ij exp(a_i) vs the right x_j exp(a_i): finite differences.
    def exp_a(Wv):
        return (Wv @ Tensor(x) + Tensor(b)).exp()[int(i)]

    fd = numerical_gradient(exp_a, W)[0][i, j]
    a_i = float(W[i] @ x + b[i])
    right_8, sheet_8 = x[j] * np.exp(a_i), W[i, j] * np.exp(a_i)

    # The same verdicts from the formula checker behind `verigrad check-grad`.
    from ..formula import check_gradients, parse_shape

    shapes = [
        parse_shape("W=3x4"),
        parse_shape("x=4"),
        parse_shape("b=3"),
        parse_shape("y=3", "onehot"),
    ]
    f_text = "cross_entropy(softmax(W @ x + b), y)"
    (sheet_check,), _ = check_gradients(
        f_text, ["W"], ["-outer(y * (1 - softmax(W @ x + b)), x)"], shapes, trials=5
    )
    (right_check,), _ = check_gradients(
        f_text, ["W"], ["outer(softmax(W @ x + b) - y, x)"], shapes, trials=5
    )
    passed = (
        not sheet_check.agrees
        and right_check.agrees
        and err_closed < 1e-12
        and bool(wrong.any())
        and true_row_ok
        and abs(fd - right_8) < 1e-6 * (1 + abs(right_8))
    )
    work = [
        "dl/da_i = sum_k (-y_k / yhat_k) yhat_k ([k=i] - yhat_i) = yhat_i - y_i, and "
        "da_i/dW_ij = x_j, so dl/dW_ij = (yhat_i - y_i) x_j.",
        f"Example: k={k}, d={d}, true class c={true_class};",
        f"W = {fmt(W)}",
        f"x = {fmt(x)}, b = {fmt(b)}, yhat = softmax(Wx+b) = {fmt(yhat)}",
        f"(yhat - y) x^T = {fmt(closed)}",
        f"autograd       = {fmt(autograd)}",
        f"sheet (10) -x_j y_i (1 - yhat_i) = {fmt(sheet)}",
        f"The sheet is right on the true-class row {true_class} only; it is wrong on rows "
        f"{rows_wrong} ({int(wrong.sum())} of {W.size} entries): e.g. dl/dW[{i},{j}] is "
        f"{autograd[i, j]:.4f} (= yhat_{i} x_{j} = {yhat[i]:.4f} * {x[j]:.2f}) but the sheet "
        f"says {sheet[i, j]:.4f}.",
        f"The sheet's (8) d exp(a_i)/dW_ij = W_ij exp(a_i) should read x_j exp(a_i): at "
        f"(i, j) = ({i}, {j}) finite differences give {fd:.6f}; x_j exp(a_i) = {right_8:.6f}, "
        f"W_ij exp(a_i) = {sheet_8:.6f}.",
        f'verigrad check-grad --f "{f_text}" --wrt W --shape W=3x4 x=4 b=3 --onehot y=3 with',
        f'  --grad "-outer(y * (1 - softmax(W @ x + b)), x)": WRONG ({sheet_check.reason})',
        f'  --grad "outer(softmax(W @ x + b) - y, x)": RIGHT at all {right_check.points_tried} '
        "random points",
    ]
    return Answer(
        2,
        "2.1",
        "Derive dl/dW_ij for softmax regression with cross-entropy",
        "dl/dW = (yhat - y) x^T, i.e. dl/dW_ij = (yhat_i - y_i) x_j (the sheet's -x_j y_i "
        "(1 - yhat_i) holds only on the true-class row)",
        f"closed form vs autograd: max |diff| {err_closed:.1e}; counterexample to the sheet at "
        f"W[{i},{j}]: {sheet[i, j]:.4f} (sheet) vs {autograd[i, j]:.4f} (autograd)",
        passed,
        work,
        {
            "W": W,
            "x": x,
            "b": b,
            "y": y,
            "closed_form": closed,
            "autograd": autograd,
            "sheet": sheet,
            "max_abs_diff": err_closed,
            "counterexample_index": [int(i), int(j)],
            "sheet_wrong_rows": rows_wrong,
        },
    )


def _answer_2_2() -> Answer:
    y = np.array([1.0, 0.0, 0.0])
    yhat = np.array([0.0, 0.0, 1.0])
    from_probs = float(F.cross_entropy_from_probs(Tensor(yhat), Tensor(y), reduction="sum").item())

    # Logits whose softmax is [0, 0, 1] in float64: a gap of 800 underflows exp(-800) to 0.
    gap = 800.0
    z = np.array([0.0, 0.0, gap])
    p = softmax_forward(z)
    zt = Tensor(z[None, :], requires_grad=True)
    loss = F.cross_entropy(zt, np.array([0]))
    loss.backward()
    from_logits = float(loss.item())
    grad = zt.grad[0]
    via_probs = float(F.cross_entropy_from_probs(Tensor(p), Tensor(y), reduction="sum").item())
    # The logit gap: -log softmax(z)_0 = z_2 - z_0 + log(1 + e^{-gap} + e^{-gap}) = gap exactly.
    passed = (
        np.isinf(from_probs)
        and from_probs > 0
        and np.isinf(via_probs)
        and abs(from_logits - gap) <= 1e-12 * gap
        and max_abs_diff(grad, p - y) < 1e-15
        and np.all(np.abs(grad) <= 1)
    )
    work = [
        f"y = {fmt(y)}, yhat = {fmt(yhat)}: l = -sum y_i log yhat_i = -log 0 = {from_probs} "
        "(cross_entropy_from_probs returns +inf, never NaN).",
        "The gradient with respect to the logits is dl/dz = yhat - y: every entry in [-1, 1], "
        "so training never sees an infinite step.",
        f"Logits z = {fmt(z)} have softmax {fmt(p)} in float64 (exp(-800) underflows to 0);",
        f"  from probabilities: l = {via_probs};",
        f"  from logits (log-sum-exp): l = {from_logits!r} = z_2 - z_0 = {gap:g} exactly;",
        f"  autograd dl/dz = {fmt(grad)} = yhat - y.",
    ]
    return Answer(
        2,
        "2.2",
        "What happens when y_c1 = 1 and yhat_c2 = 1, c1 != c2?",
        "from probabilities the loss is +inf (log 0); the gradient w.r.t. the logits, yhat - y, "
        "stays bounded; computed from logits the loss is finite and exact (the logit gap "
        "z_c2 - z_c1), so in practice it need not worry us",
        f"loss from probabilities {from_probs}; from logits {from_logits:g} vs gap {gap:g}; "
        f"autograd gradient {fmt(grad)} vs yhat - y {fmt(p - y)}",
        bool(passed),
        work,
        {
            "loss_from_probs": from_probs,
            "loss_from_logits": from_logits,
            "logit_gap": gap,
            "grad_logits": grad,
        },
    )


def answers() -> list:
    return [_answer_2_1(), _answer_2_2()]
