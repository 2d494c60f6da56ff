"""``verigrad optimize``: the playground's maths, its table, its figure and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from verigrad import Tensor, gradcheck
from verigrad.cli import main
from verigrad.commands.optimize import DEFAULT_LR, FUNCTIONS, OPTIMIZERS, run_optimizer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _table_rows(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("optimizer"))
    rows = {}
    for line in lines[start + 2 :]:
        if line.startswith("wrote"):
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functions_have_value_zero_at_their_minima_and_autograd_gradients(name):
    function = FUNCTIONS[name]
    for x, y in function.minima:
        assert abs(function.formula(x, y)) < 1e-12
    point = Tensor(np.array(function.start, dtype=float) + 0.1, requires_grad=True)
    assert gradcheck(lambda p: function.formula(p[0], p[1]), point)


def test_sgd_path_on_the_quadratic_is_the_closed_form():
    """f = x^2/2 + 10 y^2: SGD multiplies x by (1 - lr) and y by (1 - 20 lr) each step."""
    lr, steps = 0.03, 50
    run = run_optimizer(FUNCTIONS["quadratic"], "sgd", lr, steps, (-4.0, 2.0))
    k = np.arange(steps + 1)
    expected = np.column_stack([-4.0 * (1 - lr) ** k, 2.0 * (1 - 20 * lr) ** k])
    np.testing.assert_allclose(run.path, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        run.losses, 0.5 * expected[:, 0] ** 2 + 10 * expected[:, 1] ** 2, rtol=1e-12
    )


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_default_learning_rates_make_progress(name):
    function = FUNCTIONS[name]
    for optimizer in OPTIMIZERS:
        run = run_optimizer(
            function, optimizer, DEFAULT_LR[name][optimizer], function.steps, function.start
        )
        assert not run.diverged, optimizer
        assert run.losses[-1] < 1e-3 * run.losses[0], (optimizer, run.losses[0], run.losses[-1])


def test_playground_writes_png_and_table(tmp_path, capsys):
    out = tmp_path / "quad.png"
    code = main(["optimize", "--function", "quadratic", "--steps", "300", "--out", str(out)])
    assert code == 0
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 20_000
    text = capsys.readouterr().out
    rows = _table_rows(text)
    assert list(rows) == list(OPTIMIZERS)
    for name, (lr, final, distance, steps) in rows.items():
        assert float(lr) == DEFAULT_LR["quadratic"][name]
        assert float(final) <= 1e-6 and float(distance) < 1e-2, name
        assert steps != "-" and 0 < int(steps) <= 300, name
    assert f"wrote {out}" in text


def test_lr_override_start_and_unreached_tolerance(tmp_path, capsys):
    out = tmp_path / "r.png"
    code = main(
        [
            "optimize",
            "--function",
            "rosenbrock",
            "--optimizers",
            "sgd, adam",
            "--lr",
            "0.001",
            "--steps",
            "20",
            "--start=-1,1.5",
            "--tol",
            "1e-12",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and out.exists()
    text = capsys.readouterr().out
    rows = _table_rows(text)
    assert list(rows) == ["sgd", "adam"]
    assert all(r[0] == "0.001" and r[3] == "-" for r in rows.values())
    assert "start (-1, 1.5)" in text


def test_diverging_run_is_reported(tmp_path, capsys):
    code = main(
        [
            "optimize",
            "--function",
            "quadratic",
            "--optimizers",
            "sgd",
            "--lr",
            "5",
            "--steps",
            "400",
            "--out",
            str(tmp_path / "d.png"),
        ]
    )
    assert code == 0
    assert _table_rows(capsys.readouterr().out)["sgd"][1] == "diverged"


def test_default_output_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["optimize", "--function", "matyas", "--optimizers", "adam", "--steps", "30"]) == 0
    assert (tmp_path / "optimize-matyas.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--function", "nope"], "--function"),
        (["--optimizers", "sgd,lbfgs"], "--optimizers"),
        (["--optimizers", ","], "--optimizers"),
        (["--optimizers", "adam,adam"], "--optimizers"),
        (["--steps", "0"], "--steps"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "0"], "--lr"),
        (["--start", "1"], "--start"),
        (["--start", "a,b"], "--start"),
        (["--start", "1,nan"], "--start"),
        (["--tol", "0"], "--tol"),
        (["--out", "figure.jpg"], "--out"),
    ],
)
def test_bad_options_exit_2_naming_the_option(argv, option, tmp_path, capsys):
    code = main(["optimize", "--steps", "5", "--out", str(tmp_path / "x.png"), *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_subprocess_run(tmp_path):
    out = tmp_path / "b.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verigrad",
            "optimize",
            "--function",
            "beale",
            "--optimizers",
            "momentum,adam",
            "--steps",
            "100",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "momentum" in result.stdout and out.read_bytes()[:8] == PNG_MAGIC
