"""LaTeX formulas: what they parse into, what they equal, and what they refuse."""

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verigrad import Tensor
from verigrad.formula import (
    Context,
    Evaluator,
    FormulaError,
    NotCheckable,
    compare,
    evaluate,
    parse,
    parse_latex,
    parse_shape,
)

VARIABLES = {
    "W": parse_shape("W=3x4"),
    "x": parse_shape("x=4"),
    "v": parse_shape("v=4"),
    "b": parse_shape("b=3"),
    "y": parse_shape("y=3", "onehot"),
    "p": parse_shape("p=3", "prob"),
    "u": parse_shape("u=4", "positive"),
    "s": parse_shape("s=scalar"),
    "t": parse_shape("t=scalar", "positive"),
}


def _latex_value(text, values):
    out = Evaluator(Context(dict(VARIABLES)), values)(parse_latex(text).parts[0])
    data = out.t.data
    if out.names:  # free indices in alphabetical order become the leading axes
        order = [out.names.index(n) for n in sorted(out.names)]
        data = np.transpose(data, order + list(range(len(out.names), data.ndim)))
    return np.asarray(data)


def _python_value(text, values):
    formula = parse(text, list(VARIABLES))
    out = evaluate(formula, {k: Tensor(v) for k, v in values.items()})
    return np.asarray(getattr(out, "data", out))


def _values(seed):
    rng = np.random.default_rng(seed)
    return {name: v.draw(rng) for name, v in VARIABLES.items()}


# (LaTeX, the same in the Python-syntax formula language)
EQUIVALENT = [
    (r"\exp(x)", "exp(x)"),
    (r"\log(u)", "log(u)"),
    (r"\ln u", "log(u)"),
    (r"Wx + b", "W @ x + b"),
    (r"\sigma(Wx + b)", "softmax(W @ x + b)"),
    (r"\sigma(s)", "sigmoid(s)"),
    (r"-\sum_i y_i \log p_i", "cross_entropy(p, y)"),
    (r"\sum_j x_j^2", "sum(x ** 2)"),
    (r"\|x\|^2", "norm(x) ** 2"),
    (r"\|x\|_1", "sum(abs(x))"),
    (r"|x|", "abs(x)"),
    (r"(x)_+", "relu(x)"),
    (r"\max(x, 0)", "maximum(x, 0 * x)"),
    (r"x^\top x", "dot(x, x)"),
    (r"x \cdot v", "dot(x, v)"),
    (r"x \odot v", "x * v"),
    (r"W^T (y - p)", "T(W) @ (y - p)"),
    (r"(p - y) x^\top", "outer(p - y, x)"),
    (r"(p_i - y_i) x_j", "outer(p - y, x)"),
    (r"\frac{1}{2}\|Wx - p\|^2", "0.5 * norm(W @ x - p) ** 2"),
    (r"\sqrt{t}", "sqrt(t)"),
    (r"e^{s}", "exp(s)"),
    (r"\tanh(x)", "tanh(x)"),
    (r"\frac{\exp(x_i)}{\sum_j \exp(x_j)}", "softmax(x)"),
    (r"\sum_{k \neq i} \exp(x_k)", "sum(exp(x)) - exp(x)"),
    (r"\prod_i u_i", "exp(sum(log(u)))"),
    (r"\operatorname{sign}(x) \max(|x| - t, 0)", "x / abs(x) * maximum(abs(x) - t, 0 * x)"),
    (r"2s^2 + 3s - 1", "2 * s ** 2 + 3 * s - 1"),
    (r"\frac{s^2 + \sigma(s)}{3s + 1}", "(s ** 2 + sigmoid(s)) / (3 * s + 1)"),
    (r"\mathbb{1}[x > 0] x", "relu(x)"),
    (r"\left( s + 1 \right)^{2} \cdot 3", "(s + 1) ** 2 * 3"),
    (r"x' v", "dot(x, v)"),
    (r"\sum_i \sum_j W_{ij} x_j", "sum(W @ x)"),
    (r"\mathbf{x} \cdot \boldsymbol{v}", "dot(x, v)"),
    (r"\sum_{i,j} W_{i,j}", "sum(W)"),
]

NOT_EQUIVALENT = [
    (r"\exp(x)", "exp(x) + 0.001"),
    (r"(p - y) x^T", "outer(y - p, x)"),
    (r"(p_i - y_i) x_j", "2 * outer(p - y, x)"),
    (r"W^T (y - p)", "T(W) @ (p - y)"),
    (r"\sigma(s)", "tanh(s)"),
    (r"\|x\|^2", "norm(x)"),
    (r"\sum_{k \neq i} \exp(x_k)", "sum(exp(x)) + 0 * x"),
    (r"\frac{1}{2}\|x\|^2", "norm(x) ** 2"),
    (r"x^\top x", "sum(x) ** 2"),
    (r"\log(u)", "log(u + 1)"),
    (r"(x)_+", "abs(x)"),
    (r"\max(x, 0)", "minimum(x, 0 * x)"),
    (r"\prod_i u_i", "sum(u)"),
    (r"2s^2 + 3s - 1", "2 * s ** 2 - 3 * s - 1"),
    (r"\frac{\exp(x_i)}{\sum_j \exp(x_j)}", "exp(x) / sum(x)"),
    (r"\sigma(Wx + b)", "sigmoid(W @ x + b)"),
]


@pytest.mark.parametrize("latex, python", EQUIVALENT)
def test_latex_equals_the_python_formula(latex, python):
    for seed in range(3):
        values = _values(seed)
        got, want = _latex_value(latex, values), _python_value(python, values)
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-10, atol=1e-12)
        assert got.shape == np.shape(want) or np.size(want) == 1


@pytest.mark.parametrize("latex, python", NOT_EQUIVALENT)
def test_latex_differs_from_the_wrong_python_formula(latex, python):
    values = _values(0)
    got, want = _latex_value(latex, values), _python_value(python, values)
    got, want = np.broadcast_arrays(got, want)
    assert not np.allclose(got, want, rtol=1e-6, atol=1e-9)


def test_enough_pairs():
    assert len(EQUIVALENT) >= 30 and len(NOT_EQUIVALENT) >= 15


@pytest.mark.parametrize(
    "text",
    [
        r"\hat{y}_i",
        r"\hat y_i",
        r"\widehat{y}_i",
        r"\sigma(a)_i",
        r"W_{ij} + W_{i,j}",
        r"x^T + x^\top + x'",
        r"\frac{\partial l}{\partial W_{ij}}",
        r"\sum_{k=1}^{K} y_k",
        r"\operatorname{sign}(x) + \mathrm{sign}(x)",
        r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
        r"\begin{matrix} 1 & 2 \end{matrix}",
        r"a = b = c",
        r"x \in \mathbb{R}^d",
        r"l \approx 0.5",
        r"\left[ x \right]",
        r"\nabla_W l",
        r"x \times y",
        r"ŷ − y",
    ],
)
def test_what_students_write_parses(text):
    formula = parse_latex(text)
    assert formula.parts


def test_chains_and_relations():
    f = parse_latex(r"a = b \approx c \in d")
    assert len(f.parts) == 4 and f.relations == ("=", "~", "in")


@pytest.mark.parametrize(
    "text, reason",
    [
        (r"\input{/etc/passwd}", r"\\input is not allowed"),
        (r"\include{x}", r"\\include is not allowed"),
        (r"\def\x{1} \x", r"\\def is not allowed"),
        (r"\newcommand{\a}{b}", r"\\newcommand is not allowed"),
        (r"\catcode 13", r"\\catcode is not allowed"),
        (r"\begin{verbatim} x \end{verbatim}", "environment"),
        ("(" * 40 + "x" + ")" * 40, "nest"),
        (r"\sum_i " * 20 + "x_i", "sums"),
        ("x+" * 2000 + "x", "characters"),
        ("1" * 40, "digits"),
        ("x # y", "not allowed"),
        ("", "empty"),
    ],
)
def test_hostile_or_broken_formulas_are_refused(text, reason):
    with pytest.raises(FormulaError, match=reason):
        parse_latex(text)


def test_huge_exponents_are_refused_at_evaluation():
    context = Context(dict(VARIABLES))
    comparison = compare(context, parse_latex("s^{1000}").parts[0], parse_latex("s").parts[0])
    assert comparison.equal is None and "exponent" in comparison.detail
    comparison = compare(context, parse_latex("10^{10^{10}}").parts[0], parse_latex("1").parts[0])
    assert comparison.equal is None


def test_elided_sums_are_not_checkable():
    values = _values(0)
    with pytest.raises(NotCheckable):
        Evaluator(Context(dict(VARIABLES)), values)(parse_latex(r"x_1 + \dots + x_4").parts[0])


def test_derivatives_through_definitions():
    context = Context(
        dict(VARIABLES),
        {"a": "Wx + b", "hat:y": r"\sigma(a)", "l": r"-\sum_i y_i \log \hat{y}_i"},
    )
    cases = [
        (r"\frac{\partial l}{\partial W_{ij}}", r"(\hat{y}_i - y_i) x_j", True),
        (r"\frac{\partial l}{\partial W}", r"(\hat{y} - y) x^\top", True),
        (r"\frac{\partial l}{\partial W_{ij}}", r"(\hat{y} - y) x^\top", True),
        (r"\frac{\partial l}{\partial \hat{y}_i}", r"-\frac{y_i}{\hat{y}_i}", True),
        (r"\frac{\partial \exp(a_i)}{\partial W_{ij}}", r"x_j \exp(a_i)", True),
        (r"\frac{\partial \exp(a_i)}{\partial W_{ij}}", r"W_{ij} \exp(a_i)", False),
        (
            r"\frac{\partial \hat{y}_k}{\partial a_i}",
            r"\hat{y}_k (\mathbb{1}[k = i] - \hat{y}_i)",
            True,
        ),
        (r"\frac{\partial l}{\partial b}", r"\hat{y} - y", True),
        (r"\frac{\partial l}{\partial x}", r"W^\top (\hat{y} - y)", True),
        (r"\frac{\partial l}{\partial x}", r"W (\hat{y} - y)", False),
    ]
    for left, right, equal in cases:
        result = compare(context, parse_latex(left).parts[0], parse_latex(right).parts[0])
        assert result.equal is equal, (left, right, result.detail)
        if not equal:
            assert result.counterexample


_FRAGMENTS = [
    "x",
    "y_i",
    "W_{ij}",
    r"\hat{y}_i",
    "+",
    "-",
    r"\cdot",
    "(",
    ")",
    "{",
    "}",
    "^",
    "_",
    "2",
    r"\frac",
    r"\sum_k",
    r"\prod",
    r"\exp",
    r"\log",
    r"\sigma",
    "|",
    r"\|",
    "=",
    r"\neq",
    ",",
    r"\partial",
    r"\begin{pmatrix}",
    r"\end{pmatrix}",
    "&",
    r"\\",
    r"\input",
    r"\def",
    "[",
    "]",
    r"\mathbb{1}",
    "'",
    "^T",
    r"\dots",
    "e",
    "10",
    r"\left(",
    r"\right)",
    "0.5",
    r"\in",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=60), st.text(max_size=40))
def test_fuzzed_formulas_parse_or_are_refused_quickly(fragments, noise):
    """Any text is a formula or a FormulaError, and comparing it never raises."""
    context = Context(
        dict(VARIABLES), {"a": "Wx + b", "hat:y": r"\sigma(a)", "l": r"-\sum_i y_i \log \hat{y}_i"}
    )
    for text in (" ".join(fragments), noise, " ".join(fragments) + noise):
        start = time.perf_counter()
        try:
            formula = parse_latex(text)
        except FormulaError:
            continue
        for part in formula.parts:
            result = compare(context, part, part, trials=1)
            assert result.equal in (True, False, None)
        assert time.perf_counter() - start < 10.0  # generous: CI machines are shared


def test_counterexample_indices_follow_the_quantity():
    """``x_j W_{ij}`` meets its indices j first; the entry still lists the quantity's i, j."""
    context = Context(dict(VARIABLES))
    quantity = parse_latex("W_{ij}").parts[0]
    left = parse_latex("x_j W_{ij}").parts[0]
    result = compare(context, left, quantity, quantity=quantity)
    assert result.equal is False
    assert list(result.counterexample["entry"]) == ["i", "j"]
    i, j = result.counterexample["entry"].values()
    assert result.detail.startswith(f"differ at i={i}, j={j}:")
    # without a quantity, the left side orders them (here j, i)
    plain = compare(context, left, quantity)
    assert list(plain.counterexample["entry"]) == ["j", "i"]
    # an index the quantity lacks follows its own
    other = compare(context, parse_latex("x_j W_{ij} v_k").parts[0], quantity, quantity=quantity)
    assert list(other.counterexample["entry"]) == ["i", "j", "k"]
