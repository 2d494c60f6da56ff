"""``verigrad train`` / ``evaluate``: bad input and failing runs end in one line and exit 2."""

import pytest

from verigrad.cli import main

FAST = ["--no-progress", "--quiet", "--no-tsne", "--model", "softmax", "--epochs", "1"]


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize("option", ["--lr", "--weight-decay", "--l1"])
@pytest.mark.parametrize("value", ["inf", "nan"])
def test_non_finite_float_options_are_refused_up_front(tmp_path, capsys, option, value):
    assert main(["train", "--out", str(tmp_path / "r"), *FAST, option, value]) == 2
    _one_line_error(capsys, option)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv", [["--lr", "1e300"], ["--weight-decay", "1e6"]], ids=["lr", "weight-decay"]
)
def test_diverging_run_is_one_line_naming_every_step_option(tmp_path, capsys, argv):
    out = tmp_path / "r"
    assert main(["train", "--out", str(out), *FAST, "--optimizer", "sgd", *argv]) == 2
    _one_line_error(capsys, "diverged", "--lr", "--weight-decay", "--l1")
    assert not (out / "model.npz").exists()
