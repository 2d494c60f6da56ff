"""`verigrad check-grad --latex`: LaTeX gradients, index or matrix notation, against autograd."""

import json

import pytest

from verigrad._checks import ParameterError
from verigrad.cli import main
from verigrad.formula import check_latex_gradient, parse_shape

SOFTMAX = [
    "check-grad",
    "--latex",
    "--define",
    "a = Wx + b",
    "--define",
    r"\hat y = \sigma(a)",
    "--f",
    r"-\sum_i y_i \log \hat y_i",
    "--wrt",
    "W",
    "--shape",
    "W=3x4",
    "x=4",
    "b=3",
    "--onehot",
    "y=3",
]


@pytest.mark.parametrize(
    "grad",
    [
        r"(\hat y_i - y_i) x_j",
        r"(\hat y - y) x^\top",
        r"\frac{\partial l}{\partial W_{ij}} = (\hat{y}_i - y_i) x_j",
        r"\frac{\partial l}{\partial W_{ij}} = \sum_k (\hat y_k - y_k) \mathbb{1}[k = i] x_j",
    ],
)
def test_right_gradients_in_latex(capsys, grad):
    assert main([*SOFTMAX, "--grad", grad]) == 0
    assert "RIGHT" in capsys.readouterr().out


@pytest.mark.parametrize(
    "grad",
    [
        r"\frac{\partial l}{\partial W_{ij}} = -X_j y_i (1 - \hat{y}_i)",  # the seed's (10)
        r"(y_i - \hat y_i) x_j",  # sign
        r"\hat y_i - y_i",  # a missing factor
        r"x (\hat y - y)^\top",  # transposed
        r"\frac{\partial l}{\partial W_{ji}} = (\hat{y}_i - y_i) x_j",  # indices swapped
    ],
)
def test_wrong_gradients_in_latex(capsys, grad):
    assert main([*SOFTMAX, "--grad", grad]) == 1
    assert "WRONG" in capsys.readouterr().out


def test_json_counterexample_for_the_seed_formula(capsys):
    grad = r"\frac{\partial l}{\partial W_{ij}} = -X_j y_i (1 - \hat{y}_i)"
    assert main([*SOFTMAX, "--grad", grad, "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    (result,) = record["results"]
    assert result["agrees"] is False and result["entries_wrong"] == 5 * 8
    assert result["worst"]["yours"] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--define", r"a = \input{x}"], "--define: refused"),
        (["--define", "nonsense"], "--define"),
        (["--grad", r"\def\x{1}"], "--grad: refused"),
        (["--grad", "q_i"], "--grad"),
    ],
)
def test_refusals_name_the_option(capsys, argv, needle):
    base = [a for a in SOFTMAX]
    if argv[0] == "--define":
        base = base[:2] + argv + base[2:]
        argv = ["--grad", "x"]
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err


def test_define_needs_latex(capsys):
    argv = ["check-grad", "--f", "sum(x)", "--wrt", "x", "--grad", "x*0+1", "--shape", "x=3"]
    assert main([*argv, "--define", "a = x"]) == 2
    assert "--define" in capsys.readouterr().err


def test_the_library_names_the_parameter():
    variables = [parse_shape("x=3")]
    with pytest.raises(ParameterError) as info:
        check_latex_gradient(r"\sum_i x_i", ["x"], [r"\input{a}"], variables)
    assert info.value.param == "grads"
    with pytest.raises(ParameterError) as info:
        check_latex_gradient(r"\catcode", ["x"], ["1"], variables)
    assert info.value.param == "f"
    (check,) = check_latex_gradient(r"\frac{1}{2}\|x\|^2", ["x"], ["x"], variables)
    assert check.agrees and check.points_tried == 5
