"""The formula language of check-grad: what it evaluates, and what it refuses without running."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verigrad import Tensor
from verigrad.formula import language as formula
from verigrad.formula.language import FUNCTIONS, FormulaError, evaluate, parse

NAMES = ["W", "x", "b", "y"]


def env(seed=0, requires_grad=False):
    rng = np.random.default_rng(seed)
    return {
        "W": Tensor(rng.normal(size=(3, 4)), requires_grad=requires_grad),
        "x": Tensor(rng.normal(size=4)),
        "b": Tensor(rng.normal(size=3)),
        "y": Tensor(np.eye(3)[1]),
    }


def value(source, e=None):
    out = evaluate(parse(source, NAMES), e or env())
    return out.data if isinstance(out, Tensor) else out


def test_evaluates_like_numpy():
    e = env()
    W, x, b, y = (e[k].data for k in NAMES)
    z = W @ x + b
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(value("softmax(W @ x + b)", e), p, rtol=1e-14)
    np.testing.assert_allclose(
        value("cross_entropy(softmax(W @ x + b), y)", e), -np.log(p[1]), rtol=1e-14
    )
    np.testing.assert_allclose(value("outer(x, b)", e), np.outer(x, b))
    np.testing.assert_allclose(value("T(W) @ b", e), W.T @ b)
    np.testing.assert_allclose(value("W[1, 1:3] * 2 ** 3", e), W[1, 1:3] * 8)
    np.testing.assert_allclose(value("sum(W, axis=0)", e), W.sum(axis=0))
    np.testing.assert_allclose(value("mean(W, 1)", e), W.mean(axis=1))
    np.testing.assert_allclose(value("logsumexp(x)", e), np.log(np.exp(x).sum()), rtol=1e-14)
    np.testing.assert_allclose(value("norm(W)", e), np.linalg.norm(W), rtol=1e-14)
    np.testing.assert_allclose(value("maximum(x, 0) - relu(x)", e), 0.0)
    np.testing.assert_allclose(value("-x + +x", e), 0.0)
    np.testing.assert_allclose(value("softplus(x)", e), np.log1p(np.exp(x)), rtol=1e-13)
    assert value("2 * pi") == pytest.approx(2 * np.pi)


def test_every_table_function_has_a_gradient():
    """Each function differentiates by autograd (the reference of check-grad)."""
    from verigrad.gradcheck import gradcheck

    calls = {
        "outer": "outer(x, x)",
        "dot": "dot(x, x)",
        "maximum": "maximum(x, 0.1)",
        "minimum": "minimum(x, 0.1)",
        "mse": "mse(x, 0.3 * x)",
        "cross_entropy": "cross_entropy(softmax(x), y)",
        "T": "T(x)",
    }
    for name in FUNCTIONS:
        body = calls.get(name, f"{name}(x)")
        f = parse(f"sum({body} * c)", ["x", "c", "y"])
        rng = np.random.default_rng(1)
        x0 = rng.uniform(0.5, 2.0, 4)
        c = rng.normal(
            size=np.shape(
                evaluate(
                    parse(body, ["x", "y"]), {"x": Tensor(x0), "y": Tensor(np.ones(4) / 4)}
                ).data
            )
        )
        fn = lambda t, c=c, f=f: evaluate(f, {"x": t, "c": Tensor(c), "y": Tensor(np.ones(4) / 4)})  # noqa: E731
        assert gradcheck(fn, Tensor(x0, requires_grad=True)), name


@pytest.mark.parametrize(
    "source, reason",
    [
        ("x.__class__", "attribute"),
        ("W.T", "attribute"),
        ("__import__", "_"),
        ("_x", "_"),
        ("z + x", "undeclared"),
        ("open(x)", "not allowed"),
        ("eval(x)", "not allowed"),
        ("exp", "must be called"),
        ("(lambda: x)()", "lambda"),
        ("[v for v in x]", "comprehension"),
        ("(v for v in x)", "generator"),
        ("x if y else b", "conditional"),
        ("x < y", "comparison"),
        ("x and y", "boolean"),
        ("'abc'", "only ASCII letters"),
        ("x; y", "only ASCII letters"),
        ("1j * x", "complex"),
        ("True * x", "bool"),
        ("10**10**10", "exponent"),
        ("x ** 1000", "exponent"),
        ("2.0 ** (3 ** 5)", "exponent"),
        ("x ** -101", "exponent"),
        ("1e400 * x", "too large"),
        ("9" * 400, "too large"),
        ("(" * 60 + "x" + ")" * 60, "nest"),
        ("-" * 80 + "x", "nest"),
        ("x" + " + x" * 400, "characters"),
        ("sum(x, foo=1)", "keyword"),
        ("sum(x, axis=b)", "integer literal"),
        ("sum(*x)", "starred"),
        ("sum(x, **y)", "keyword"),
        ("exp(x, x)", "takes"),
        ("W[x]", "integer literals"),
        ("W[...]", "integer literals"),
        ("x[::0]", "zero"),
        ("(x := 1)", ":="),
        ("", "empty"),
        ("x +", "valid expression"),
        ("x ^ y", "operator"),
        ("~x", "operator"),
        ("x % 2", "operator"),
        ("[x, y]", "list"),
        ("{x: y}", "dict"),
    ],
)
def test_refused_with_a_reason(source, reason):
    with pytest.raises(FormulaError, match=reason):
        parse(source, NAMES)


def test_declared_names_are_checked():
    for bad in ("exp", "_hidden", "__class__", "lambda", "2x", "pi"):
        with pytest.raises(FormulaError):
            parse("1", [bad])


def test_evaluation_limits_sizes_before_allocating():
    big = {"u": Tensor(np.ones(5000)), "v": Tensor(np.ones(5000))}
    with pytest.raises(FormulaError, match="limit"):
        evaluate(parse("outer(u, v)", ["u", "v"]), big)
    with pytest.raises(FormulaError, match="limit"):
        evaluate(parse("T(outer(u[0:3000], v)) @ outer(u[0:3000], v)", ["u", "v"]), big)


def test_evaluation_limits_the_total_of_intermediates():
    uv = {"u": Tensor(np.ones(2000)), "v": Tensor(np.ones(2000))}
    assert evaluate(parse("sum(outer(u, v))", ["u", "v"]), uv).item() == 4e6
    with pytest.raises(FormulaError, match="in all"):
        evaluate(parse(" + ".join(["outer(u, v)"] * 6), ["u", "v"]), uv)
    big = {"A": Tensor(np.ones((2000, 1000))), "B": Tensor(np.ones((1000, 2000)))}
    with pytest.raises(FormulaError, match="costly"):
        evaluate(parse("sum(A @ B)", ["A", "B"]), big)


def test_evaluation_errors_are_formula_errors():
    with pytest.raises(FormulaError, match="out of range"):
        value("x[7]")
    with pytest.raises(FormulaError):
        value("W @ b")
    with pytest.raises(FormulaError, match="broadcast"):
        value("x + b")


# ---------------------------------------------------------------------- fuzzed hostile input
_hostile_atoms = st.sampled_from(
    [
        "x.__class__",
        "x.__class__.__mro__",
        "().__class__",
        "__import__('os')",
        "__builtins__",
        "globals()",
        "locals()",
        "vars(x)",
        "getattr(x, 'data')",
        "open('/etc/passwd')",
        "exec('1')",
        "eval('1')",
        "compile('1', '', 'eval')",
        "os.system('true')",
        "x.data",
        "lambda: 0",
        "[0 for _ in x]",
        "{0 for _ in x}",
        "10**10**10",
        "9**9**9**9",
        "x**10**10",
        "breakpoint()",
        "input()",
        "print(x)",
        "type(x)",
        "x.sum()",
        "sum.__call__(x)",
    ]
)


@st.composite
def hostile(draw):
    atom = draw(_hostile_atoms)
    wrap = draw(
        st.sampled_from(
            [
                "{}",
                "sum({})",
                "x + {}",
                "({}) * 2",
                "exp({}) - x",
                "softmax(W @ x + b) - {}",
                "({})[0]",
            ]
        )
    )
    text = wrap.format(atom)
    if draw(st.booleans()):
        depth = draw(st.integers(51, 120))
        text = "(" * depth + text + ")" * depth
    return text


@settings(max_examples=60)
@given(hostile())
def test_fuzzed_hostile_expressions_are_refused_before_anything_runs(source):
    calls = []
    original = formula._Evaluator.__call__

    def spy(self, node):  # pragma: no cover - must never run
        calls.append(node)
        return original(self, node)

    formula._Evaluator.__call__ = spy
    try:
        with pytest.raises(FormulaError):
            parse(source, NAMES)
    finally:
        formula._Evaluator.__call__ = original
    assert calls == []


@settings(max_examples=40)
@given(st.integers(51, 400), st.sampled_from(["(", "[", "-", "exp("]))
def test_deep_nesting_refused(depth, opener):
    closer = {"(": ")", "[": "]", "-": "", "exp(": ")"}[opener]
    text = opener * depth + "x" + closer * depth
    with pytest.raises(FormulaError):
        parse(text, NAMES)


@settings(max_examples=40)
@given(st.text(alphabet="xWby()[]+-*/@ ,.0123456789_:aeT", min_size=1, max_size=60))
def test_random_text_never_escapes_formula_error(text):
    """Any text is either a valid formula or a FormulaError; never another exception."""
    try:
        f = parse(text, NAMES)
    except FormulaError:
        return
    try:
        evaluate(f, env())
    except FormulaError:
        pass
