"""`verigrad check-grad`: right formulas pass, subtly wrong ones are caught, hostile ones refused."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verigrad.cli import main
from verigrad.formula import checker
from verigrad.formula import language as formula
from verigrad.formula.checker import Variable, check_gradients, parse_shape

SOFTMAX_REGRESSION = [
    "--f",
    "cross_entropy(softmax(W @ x + b), y)",
    "--wrt",
    "W",
    "--shape",
    "W=3x4",
    "x=4",
    "b=3",
    "--onehot",
    "y=3",
]
SHEET_2_1 = "-outer(y * (1 - softmax(W @ x + b)), x)"
RIGHT_2_1 = "outer(softmax(W @ x + b) - y, x)"


def test_answer_sheet_2_1_is_reported_wrong_and_where(capsys):
    code = main(["check-grad", *SOFTMAX_REGRESSION, "--grad", SHEET_2_1])
    out = capsys.readouterr().out
    assert code == 1
    assert "WRONG" in out
    assert "counterexample" in out and "entry W[" in out
    assert "your formula gives" in out and "autograd gives" in out


def test_correct_2_1_is_reported_right(capsys):
    code = main(["check-grad", *SOFTMAX_REGRESSION, "--grad", RIGHT_2_1])
    out = capsys.readouterr().out
    assert code == 0
    assert "RIGHT" in out and "WRONG" not in out


def test_points_where_softmax_refuses_nan_logits_are_redrawn(capsys):
    # log(x) is NaN at a negative x: softmax refuses it (NotFiniteError), which must count as a
    # non-finite point to redraw, as a NaN result does, not end the check
    args = ["--f", "sum(a * log_softmax(log(x)))", "--wrt", "x", "--shape", "x=2", "a=2"]
    code = main(["check-grad", *args, "--grad", "a / x - sum(a) * softmax(log(x)) / x"])
    out = capsys.readouterr().out
    assert code == 0 and "RIGHT" in out


def test_json_verdict_and_worst_entry(capsys):
    code = main(
        [
            "check-grad",
            *SOFTMAX_REGRESSION,
            "--grad",
            SHEET_2_1,
            "--json",
            "--seed",
            "3",
            "--trials",
            "4",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert code == 1 and record["agrees"] is False
    (result,) = record["results"]
    worst = result["worst"]
    i, j = worst["index"]
    # the sheet's formula is zero off the true-class row: there autograd gives yhat_i x_j != 0
    assert worst["yours"] == pytest.approx(0.0, abs=1e-15)
    assert abs(worst["autograd"]) > 1e-3
    assert worst["entry"] == f"W[{i}, {j}]"
    assert result["points_wrong"] == 4 and result["entries_wrong"] == 4 * 8
    assert record["autograd_vs_finite_differences"] < 1e-7


def test_several_wrt_in_order(capsys):
    code = main(
        [
            "check-grad",
            *SOFTMAX_REGRESSION,
            "--grad",
            RIGHT_2_1,
            "--wrt",
            "b",
            "--grad",
            "softmax(W @ x + b) - y",
            "--wrt",
            "x",
            "--grad",
            "T(W) @ (softmax(W @ x + b) - y)",
            "--json",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["wrt"] for r in record["results"]] == ["W", "b", "x"]
    assert all(r["agrees"] for r in record["results"])
    # b's formula given for x: wrong shape, exit 1
    code = main(
        [
            "check-grad",
            *SOFTMAX_REGRESSION,
            "--grad",
            RIGHT_2_1,
            "--wrt",
            "x",
            "--grad",
            "softmax(W @ x + b) - y",
        ]
    )
    assert code == 1
    assert "shape" in capsys.readouterr().out


# (f, wrt, correct gradient, subtly wrong gradient, variables)
CASES = [
    (
        "sum(sigmoid(x))",
        "x",
        "sigmoid(x) * (1 - sigmoid(x))",
        "sigmoid(x) * (1 + sigmoid(x))",
        ["x=5"],
    ),
    (
        "sum(sigmoid(W @ x))",
        "W",
        "outer(sigmoid(W @ x) * (1 - sigmoid(W @ x)), x)",
        "outer(sigmoid(W @ x) * (1 - sigmoid(W @ x)), W @ x)",
        ["W=3x3", "x=3"],
    ),
    ("sum(tanh(x) * c)", "x", "c * (1 - tanh(x) ** 2)", "c * (1 - tanh(x))", ["x=4", "c=4"]),
    (
        "mean((W @ x - t) ** 2)",
        "W",
        "2 * outer(W @ x - t, x) / 3",
        "2 * outer(W @ x - t, x)",
        ["W=3x4", "x=4", "t=3"],
    ),
    (
        "mse(W @ x, t)",
        "x",
        "2 * T(W) @ (W @ x - t) / 3",
        "T(W) @ (W @ x - t) / 3",
        ["W=3x4", "x=4", "t=3"],
    ),
    ("norm(x) ** 2", "x", "2 * x", "x", ["x=6"]),
    ("norm(x)", "x", "x / norm(x)", "x / norm(x) ** 2", ["x=6"]),
    ("logsumexp(x)", "x", "softmax(x)", "exp(x)", ["x=5"]),
    ("log(sum(exp(x)))", "x", "exp(x) / sum(exp(x))", "exp(x) / sum(x)", ["x=5"]),
    ("sum(log_softmax(z) * y)", "z", "y - softmax(z) * sum(y)", "y - softmax(z)", ["z=4", "y=4"]),
    ("dot(a, W @ a)", "a", "(W + T(W)) @ a", "2 * W @ a", ["a=3", "W=3x3"]),
    ("sum(relu(x) ** 3)", "x", "3 * relu(x) ** 2", "3 * x ** 2", ["x=5"]),
    ("0.5 * norm(W) ** 2 + sum(b)", "W", "W", "2 * W", ["W=2x3", "b=2"]),
]


@pytest.mark.parametrize("f, wrt, right, wrong, shapes", CASES)
def test_right_and_subtly_wrong_formulas(f, wrt, right, wrong, shapes):
    variables = [parse_shape(s) for s in shapes]
    (good,), _ = check_gradients(f, [wrt], [right], variables, trials=4, seed=1)
    (bad,), _ = check_gradients(f, [wrt], [wrong], variables, trials=4, seed=1)
    assert good.agrees and good.points_wrong == 0
    assert not bad.agrees and bad.points_wrong >= 1 and bad.worst


def test_positive_and_prob_variables():
    variables = [parse_shape("s=4", "positive"), parse_shape("q=4", "prob")]
    (c,), info = check_gradients(
        "cross_entropy(s / sum(s), q)", ["s"], ["sum(q) / sum(s) - q / s"], variables, trials=3
    )
    assert c.agrees and info["fd_checked"]


def test_more_trials_catch_a_formula_right_on_part_of_the_domain():
    """3|x|x is d(x^3)/dx only for x >= 0: one lucky point passes, twenty do not."""
    variables = [parse_shape("s=scalar")]
    assert np.random.default_rng(0).standard_normal(()) > 0
    (one,), _ = check_gradients("s ** 3", ["s"], ["3 * abs(s) * s"], variables, trials=1, seed=0)
    assert one.agrees and one.points_tried == 1
    (many,), _ = check_gradients("s ** 3", ["s"], ["3 * abs(s) * s"], variables, trials=20, seed=0)
    assert not many.agrees and many.points_tried == 20 and 0 < many.points_wrong < 20
    assert many.worst["yours"] == pytest.approx(-many.worst["autograd"])


def test_tolerance_option(capsys):
    args = [
        "check-grad",
        "--f",
        "sum(x ** 2)",
        "--wrt",
        "x",
        "--grad",
        "2 * x + 1e-5",
        "--shape",
        "x=3",
    ]
    assert main(args) == 1
    assert main(args + ["--tol", "1e-3"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--f", "x.__class__", "--wrt", "x", "--grad", "x", "--shape", "x=3"], "attribute"),
        (
            ["--f", "sum(x)", "--wrt", "x", "--grad", "__import__('os')", "--shape", "x=3"],
            "refused",
        ),
        (["--f", "sum(x)", "--wrt", "x", "--grad", "10**10**10", "--shape", "x=3"], "exponent"),
        (["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--shape", "x=100000x100000"], "limit"),
        (["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--shape", "x=3x-1"], "dimensions"),
        (["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--shape", "x"], "NAME=DIMS"),
        (["--f", "sum(x)", "--wrt", "z", "--grad", "x", "--shape", "x=3"], "not a declared"),
        (
            ["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--grad", "x", "--shape", "x=3"],
            "one --grad",
        ),
        (["--f", "x", "--wrt", "x", "--grad", "x", "--shape", "x=3"], "scalar"),
        (
            ["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--shape", "x=3", "--trials", "0"],
            "trials",
        ),
        (
            ["--f", "sum(x)", "--wrt", "y", "--grad", "x", "--shape", "x=3", "--onehot", "y=3"],
            "one-hot",
        ),
        (["--f", "sum(log(x))", "--wrt", "x", "--grad", "1 / x", "--shape", "x=30"], "not finite"),
        (["--f", "sum(x)", "--wrt", "x", "--grad", "x", "--shape", "exp=3"], "clashes"),
        (["--f", "sum(x)", "--wrt", "x"], "required"),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, args, message):
    assert main(["check-grad", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@settings(max_examples=30)
@given(
    st.sampled_from(
        [
            "x.__class__",
            "__import__('os').system('touch /tmp/pwned')",
            "getattr(x, 'data')",
            "exec('1')",
            "(lambda: x)()",
            "[v for v in x]",
            "10**10**10",
            "x ** 1e9",
            "(" * 80 + "x" + ")" * 80,
            "x.sum()",
            "sum.__globals__",
            "vars()",
        ]
    ),
    st.booleans(),
)
def test_fuzzed_hostile_cli_input_refused_without_evaluating(hostile, in_f):
    """Nothing is evaluated (the evaluator is replaced by a tripwire) and the exit code is 2."""

    def tripwire(*args, **kwargs):  # pragma: no cover - must never run
        raise AssertionError("evaluated a refused formula")

    saved = checker.evaluate, formula.evaluate
    checker.evaluate = formula.evaluate = tripwire
    try:
        f, g = (hostile, "x") if in_f else ("sum(x)", hostile)
        assert main(["check-grad", "--f", f, "--wrt", "x", "--grad", g, "--shape", "x=3"]) == 2
    finally:
        checker.evaluate, formula.evaluate = saved


def test_variable_draws():
    rng = np.random.default_rng(0)
    onehot = Variable("y", (5,), "onehot").draw(rng)
    assert onehot.sum() == 1 and set(np.unique(onehot)) == {0.0, 1.0}
    prob = Variable("q", (5,), "prob").draw(rng)
    assert prob.sum() == pytest.approx(1) and (prob > 0).all()
    pos = Variable("s", (100,), "positive").draw(rng)
    assert pos.min() >= 0.5 and pos.max() <= 2.0
    assert parse_shape("s=scalar").shape == ()
    assert parse_shape("W=2,3").shape == (2, 3)


def test_subprocess_exit_codes():
    base = [sys.executable, "-m", "verigrad", "check-grad", *SOFTMAX_REGRESSION]
    wrong = subprocess.run(
        base + ["--grad", SHEET_2_1], capture_output=True, text=True, timeout=120
    )
    assert wrong.returncode == 1 and "WRONG" in wrong.stdout
    refused = subprocess.run(
        base + ["--grad", "x.__class__"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2 and "attribute" in refused.stderr


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--f", "sum(x)", "--grad", "x*0+1", "--seed", "-1"], "--seed:"),
        (["--f", "x[5]", "--grad", "x*0+1"], "--f: index 5"),
        (["--f", "sum(x)", "--grad", "x[7]"], "--grad: index 7"),
        (["--f", "sum(W @ x)", "--grad", "x", "--shape", "W=3x4"], "--f: cannot evaluate"),
    ],
)
def test_usage_and_evaluation_errors_name_the_option(capsys, argv, needle):
    assert main(["check-grad", "--wrt", "x", "--shape", "x=3", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("grad", [["--grad", "-y/p"], ["--grad=-y/p"]])
def test_a_formula_starting_with_minus_is_taken_as_the_value(capsys, grad):
    argv = ["check-grad", "--f", "cross_entropy(p, y)", "--wrt", "p", *grad]
    assert main([*argv, "--prob", "p=3", "--onehot", "y=3"]) == 0
    assert "RIGHT" in capsys.readouterr().out


@pytest.mark.parametrize(
    "f, grad, param",
    [
        ("x[5]", "x*0+1", "f"),
        ("sum(x)", "x[7]", "grads"),
        ("x.__class__", "x", "f"),
        ("sum(x)", "__import__('os')", "grads"),
        ("x", "x", "f"),
    ],
)
def test_the_checker_names_the_failing_formula_as_data(f, grad, param):
    from verigrad._checks import ParameterError

    with pytest.raises(ParameterError) as info:
        check_gradients(f, ["x"], [grad], [parse_shape("x=3")], trials=1)
    assert info.value.param == param
    assert "--" not in info.value.reason


def test_a_check_is_bounded_by_its_time_budget():
    from verigrad.formula.checker import check_gradients

    variables = [parse_shape("A=30x20")]
    with pytest.raises(ValueError, match=r"^trials: the check would take about .* budget") as info:
        check_gradients(
            "sum((A @ T(A)) @ (A @ T(A)))", ["A"], ["A"], variables, trials=50, time_budget=1e-6
        )
    assert info.value.param == "trials"
    checks, _ = check_gradients("sum(A * A)", ["A"], ["2 * A"], variables, trials=3)
    assert all(c.agrees for c in checks)


def test_an_empty_shape_is_not_a_scalar():
    with pytest.raises(ValueError, match="^spec: no dimensions for x in 'x='"):
        parse_shape("x=")
    assert parse_shape("x=()").shape == ()
