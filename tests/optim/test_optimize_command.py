"""``verigrad optimize``: the playground's table, its figure and its errors (its maths:
test_test_functions.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from verigrad.cli import main
from verigrad.optim.registry import OPTIMIZERS
from verigrad.optim.test_functions import TUNED_LR as DEFAULT_LR

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
