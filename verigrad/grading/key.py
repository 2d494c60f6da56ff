"""The assignment's key: every question id, what kind of answer it takes and the truth.

Kinds
    ``derivation``  formulas: every displayed equation is a step checked on its own, and the
                    final expression for each ``target`` (a LaTeX left side such as
                    ``\\frac{\\partial l}{\\partial W_{ij}}``) is compared with the target
                    evaluated by autograd through the problem's definitions;
    ``values``      numbers: each equation whose right side is a number is checked against
                    its left side evaluated at the problem's point, to the digits written;
    ``shape``       an output size (``3x3``, ``9 values``);
    ``matrix``      a matrix of numbers, entry by entry (a wrong entry is named);
    ``update``      update rules ``W^{t+1} = ...`` / ``W \\leftarrow ...``: the right side for
                    each parameter in ``targets`` against ``W - \\eta \\partial L / \\partial W``;
    ``prose``       text a machine cannot judge: ``human``, with the model answer's key points.

The problems' symbols follow the issue's appendix and :mod:`verigrad.answers`. Problem 6's
autoencoder is read as ``\\hat x = \\sigma_2(W^* \\sigma_1(Wx + b) + b')`` with the squared
error; its parts are graded as prose here (see the report's notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from ..answers import convolution
from ..formula import Context, Variable
from ..formula.indexed import DEFAULT_FUNCTIONS, Indexed
from ..tensor import Tensor

__all__ = [
    "QUESTION_IDS",
    "Question",
    "KEY",
    "Fixed",
    "Affinities",
    "question",
    "CONV_INPUT",
    "CONV_KERNEL",
    "convolution_truth",
]

#: the fixed question ids, in order (used in JSON)
QUESTION_IDS = (
    "1a 1b 2.1 2.2 3a 3b 4.1 4.2 4.3 5a 5b 5c 6a 6b 6c 6d 7a 7b 8.1 8.2 9A 9B 9C 9D".split()
)


#: problem 5's data, as the assignment states it: the worked answers' arrays (grading sits
#: above answers in the layer contract)
CONV_INPUT = convolution.INPUT
CONV_KERNEL = convolution.KERNEL


def convolution_truth() -> tuple:
    """Problem 5's output (valid cross-correlation, stride 1, bias 0) and the input gradient
    for an all-ones upstream gradient, computed by the library's conv2d and autograd."""
    x = Tensor(CONV_INPUT[None, None], requires_grad=True)
    y = F.conv2d(x, Tensor(CONV_KERNEL[None, None]))
    y.backward(np.ones_like(y.data))
    return y.data[0, 0].copy(), x.grad[0, 0].copy()


_CONV_OUTPUT, _CONV_INPUT_GRAD = convolution_truth()


@dataclass(frozen=True)
class Fixed:
    """A variable with a fixed value (the point of a numerical question)."""

    name: str
    value: float
    kind: str = "fixed"

    @property
    def shape(self):
        return np.shape(self.value)

    def draw(self, rng) -> np.ndarray:
        return np.asarray(self.value, dtype=np.float64)


@dataclass(frozen=True)
class Affinities:
    """t-SNE's input affinities: a random symmetric ``(n, n)`` matrix with a zero diagonal and
    entries summing to 1."""

    name: str
    shape: tuple
    kind: str = "affinities"

    def draw(self, rng) -> np.ndarray:
        a = rng.uniform(0.1, 1.0, self.shape)
        a = a + a.T
        np.fill_diagonal(a, 0.0)
        return a / a.sum()


@dataclass
class Question:
    """One question of the key (see the module doc for ``kind``)."""

    id: str
    title: str
    kind: str
    expected: str = ""
    context: Context | None = None
    targets: tuple = ()  # per asked quantity, the LaTeX spellings of its left side
    shape: tuple = ()
    matrix: np.ndarray | None = None
    key_points: tuple = ()
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _sigmoid(x: Indexed) -> Indexed:
    return DEFAULT_FUNCTIONS["sigmoid"](x)


def _softmax_context() -> Context:
    return Context(
        {
            "W": Variable("W", (3, 4)),
            "x": Variable("x", (4,)),
            "b": Variable("b", (3,)),
            "y": Variable("y", (3,), "onehot"),
        },
        {
            "a": r"W x + b",
            "hat:y": r"\sigma(a)",
            "l": r"- \sum_i y_i \log \hat{y}_i",
            "L": r"- \sum_i y_i \log \hat{y}_i",
        },
        {"z": "a", "p": "hat:y", "hat:p": "hat:y", "J": "l", "E": "l"},
    )


def _chain_rule_context(point=None) -> Context:
    if point is None:
        variables = {"x": Variable("x", ()), "y": Variable("y", ())}
    else:
        variables = {"x": Fixed("x", point[0]), "y": Fixed("y", point[1])}
    return Context(
        variables,
        {"f": r"\frac{x^2 + \sigma(y)}{3x + y - \sigma(x)}"},
        {},
        {"sigma": _sigmoid},
    )


def _prox_context() -> Context:
    return Context(
        {"x": Variable("x", (5,)), "t": Variable("t", (), "positive")},
        {},
        {"lambda": "t", "alpha": "t", "v": "x"},
    )


def _ista_context() -> Context:
    return Context(
        {
            "X": Variable("X", (5, 3)),
            "x": Variable("x", (3,)),
            "y": Variable("y", (5,)),
            "t": Variable("t", (), "positive"),
            "lambda": Variable("lambda", (), "positive"),
        },
        {},
        {"x_k": "x", "alpha": "t", "eta": "t", "A": "X", "b": "y"},
    )


def _autoencoder_context() -> Context:
    return Context(
        {
            "x": Variable("x", (4,)),
            "W": Variable("W", (3, 4)),
            "b": Variable("b", (3,)),
            "W*": Variable("W*", (4, 3)),
            "b'": Variable("b'", (4,)),
            "eta": Variable("eta", (), "positive"),
        },
        {
            "h": r"\sigma_1(W x + b)",
            "hat:x": r"\sigma_2(W^* h + b')",
            "L": r"\frac{1}{2} \|\hat{x} - x\|^2",
        },
        {
            "l": "L",
            "E": "L",
            "J": "L",
            "z": "h",
            "x'": "hat:x",
            "tilde:x": "hat:x",
            "alpha": "eta",
            "lambda": "eta",
            "epsilon": "eta",
            # W_t, W^*_t, b'_k: the current iterate of a parameter
            **{f"{p}_{i}": p for p in ("W", "W*", "b", "b'") for i in ("t", "k")},
        },
        {"sigma": _sigmoid, "sigma_1": _sigmoid, "sigma_2": _sigmoid},
    )


def _tsne_context() -> Context:
    return Context(
        {"y": Variable("y", (4, 2)), "p": Affinities("p", (4, 4))},
        {
            "q": r"\frac{(1 + \|y_i - y_j\|^2)^{-1}}{\sum_{k \neq l} (1 + \|y_k - y_l\|^2)^{-1}}",
            # p_ii = 0: the diagonal is left out (its terms are 0 log 0 = 0)
            "C": r"\sum_i \sum_{j \neq i} (p_{ij} \log p_{ij} - p_{ij} \log q_{ij})",
        },
        {"KL": "C"},
    )


KEY = {
    "1a": Question(
        "1a",
        "A stack of linear layers without nonlinearity",
        "prose",
        key_points=(
            "W3(W2(W1 x + b1) + b2) + b3 = W x + b with W = W3 W2 W1, b = W3(W2 b1 + b2) + b3",
            "so the stack is one linear map: depth adds no expressive power",
        ),
    ),
    "1b": Question(
        "1b",
        "Sparse coding vs autoencoder dictionaries",
        "prose",
        key_points=("sparse coding infers codes by optimisation; an autoencoder by one pass",),
    ),
    "2.1": Question(
        "2.1",
        "Derive dl/dW_ij for softmax regression with cross-entropy",
        "derivation",
        r"\frac{\partial l}{\partial W_{ij}} = (\hat{y}_i - y_i) x_j",
        _softmax_context(),
        (
            (
                r"\frac{\partial l}{\partial W_{ij}}",
                r"\frac{\partial l}{\partial W}",
                r"\nabla_W l",
                r"\frac{\partial L}{\partial W_{ij}}",
                r"\frac{\partial L}{\partial W}",
            ),
        ),
        notes=r"\hat y = \sigma(Wx + b) (softmax), l = -\sum_i y_i \log \hat y_i, y one-hot",
    ),
    "2.2": Question(
        "2.2",
        "What happens when y_c1 = 1 and yhat_c2 = 1, c1 != c2?",
        "prose",
        key_points=(
            "the loss -log yhat_c1 = -log 0 is infinite",
            "the gradient with respect to the logits, yhat - y, stays bounded",
            "computed from logits (log-softmax) the loss is finite and exact",
        ),
    ),
    "3a": Question(
        "3a",
        "Partial derivatives of f(x, y) by the chain rule",
        "derivation",
        r"\frac{\partial f}{\partial x},\ \frac{\partial f}{\partial y} "
        r"\text{ of } f = \frac{x^2 + \sigma(y)}{3x + y - \sigma(x)}",
        _chain_rule_context(),
        ((r"\frac{\partial f}{\partial x}",), (r"\frac{\partial f}{\partial y}",)),
    ),
    "3b": Question(
        "3b",
        "Their values at (x, y) = (1, 0)",
        "values",
        r"f = 0.6611,\ \frac{\partial f}{\partial x} = 0.0646,\ "
        r"\frac{\partial f}{\partial y} = -0.1812",
        _chain_rule_context((1.0, 0.0)),
        ((r"\frac{\partial f}{\partial x}",), (r"\frac{\partial f}{\partial y}",)),
    ),
    "4.1": Question(
        "4.1",
        "Three kinds of pooling",
        "prose",
        key_points=(
            "max pooling",
            "average pooling",
            "Lp pooling (p-th root of the mean p-th power)",
        ),
    ),
    "4.2": Question(
        "4.2",
        "Stochastic and mixed pooling",
        "prose",
        key_points=(
            "stochastic pooling samples an activation with probability proportional to it",
            "mixed pooling: alpha max + (1 - alpha) average",
        ),
    ),
    "4.3": Question(
        "4.3",
        "Why pooling?",
        "prose",
        key_points=(
            "local translation invariance",
            "less computation and memory",
            "larger receptive fields, at no parameter cost",
        ),
    ),
    "5a": Question(
        "5a",
        "Output size of a 3x3 kernel over a 5x5 input",
        "shape",
        r"(5 - 3 + 1) \times (5 - 3 + 1) = 3 \times 3",
        shape=(3, 3),
    ),
    "5b": Question(
        "5b",
        "The output values (cross-correlation)",
        "matrix",
        "",
        matrix=_CONV_OUTPUT,
    ),
    "5c": Question(
        "5c",
        "Input gradient for an all-ones upstream gradient",
        "matrix",
        "",
        matrix=_CONV_INPUT_GRAD,
    ),
    "6a": Question(
        "6a",
        "The autoencoder's loss",
        "derivation",
        r"L = \frac{1}{2} \|\hat{x} - x\|^2,\ \hat{x} = \sigma_2(W^* \sigma_1(Wx + b) + b')",
        _autoencoder_context(),
        ((r"L", r"l", r"E", r"J"),),
        key_points=(r"L = 1/2 ||xhat - x||^2 with xhat = s2(W* s1(Wx + b) + b')",),
        notes="the autoencoder is read as xhat = s2(W* s1(Wx + b) + b'), sigmoids, squared error",
    ),
    "6b": Question(
        "6b",
        "Its gradients",
        "derivation",
        r"\frac{\partial L}{\partial W^*} = \delta h^\top,\ \frac{\partial L}{\partial W} = "
        r"((W^{*\top} \delta) \odot h \odot (1 - h)) x^\top,\ "
        r"\delta = (\hat{x} - x) \odot \hat{x} \odot (1 - \hat{x})",
        _autoencoder_context(),
        (
            (r"\frac{\partial L}{\partial W^*}", r"\frac{\partial L}{\partial W^*_{ij}}"),
            (r"\frac{\partial L}{\partial W}", r"\frac{\partial L}{\partial W_{ij}}"),
        ),
        key_points=(
            "dL/dW* = delta2 h^T with delta2 = (xhat - x) * xhat (1 - xhat)",
            "dL/dW = ((W*^T delta2) * h (1 - h)) x^T",
        ),
    ),
    "6c": Question(
        "6c",
        "The gradient-descent step",
        "update",
        r"W \leftarrow W - \eta \frac{\partial L}{\partial W},\ "
        r"W^* \leftarrow W^* - \eta \frac{\partial L}{\partial W^*}",
        _autoencoder_context(),
        ("W", "W*", "b", "b'"),
        key_points=("W <- W - lr dL/dW for every parameter",),
    ),
    "6d": Question(
        "6d",
        "The momentum step",
        "prose",
        key_points=("v <- mu v + dL/dW; W <- W - lr v",),
    ),
    "7a": Question(
        "7a",
        "The top-k error's definition",
        "prose",
        key_points=("the fraction of samples whose true class is not among the k highest scores",),
    ),
    "7b": Question(
        "7b",
        "Why top-5?",
        "prose",
        key_points=("many classes are ambiguous or several objects appear in one image",),
    ),
    "8.1": Question(
        "8.1",
        "The crowding problem",
        "prose",
        key_points=(
            "in few dimensions there is not enough room for the moderately distant neighbours",
            "the heavy-tailed Student-t in the map lets them move further apart",
        ),
    ),
    "8.2": Question(
        "8.2",
        "dC/dy_i",
        "derivation",
        r"\frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})(y_i - y_j)"
        r"(1 + \|y_i - y_j\|^2)^{-1}",
        _tsne_context(),
        ((r"\frac{\partial C}{\partial y_i}",),),
        key_points=(r"4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + ||y_i - y_j||^2)^-1",),
    ),
    "9A": Question(
        "9A",
        "prox of t||.||_1",
        "derivation",
        r"\operatorname{prox}_t(x)_i = \operatorname{sign}(x_i) \max(|x_i| - t, 0)",
        _prox_context(),
        (),
        extra={"truth": r"\operatorname{sign}(x_i) \max(|x_i| - t, 0)"},
    ),
    "9B": Question(
        "9B",
        "The proximal gradient step for the lasso",
        "derivation",
        r"x^{k+1} = S_{\lambda t}(x^k - t X^\top (X x^k - y))",
        _ista_context(),
        (),
        key_points=(r"x^{k+1} = S_{lambda t}(x^k - t X^T (X x^k - y)) (ISTA)",),
        extra={
            "truth": r"\operatorname{sign}(x - t X^\top (X x - y)) "
            r"\max(|x - t X^\top (X x - y)| - \lambda t, 0)"
        },
    ),
    "9C": Question(
        "9C",
        "u = prox(x) implies (x - u)/t in dh(u)",
        "prose",
        key_points=("0 in dh(u) + (u - x)/t is the optimality condition of the prox problem",),
    ),
    "9D": Question(
        "9D",
        "The gradient mapping",
        "prose",
        key_points=("G_t(x_k) - grad g(x_k) in dh(x_{k+1}); G_t(x) = 0 iff x is optimal",),
    ),
}


def question(qid: str) -> Question:
    return KEY[qid]
