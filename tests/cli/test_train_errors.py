"""``verigrad train`` / ``evaluate``: bad input and failing runs end in one line and exit 2."""

import numpy as np
import pytest

from verigrad.cli import main

FAST = ["--no-progress", "--quiet", "--no-tsne", "--model", "softmax", "--epochs", "1"]


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize("option", ["--lr", "--weight-decay", "--l1", "--group-l1"])
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
    _one_line_error(capsys, "diverged", "--lr", "--weight-decay", "--l1", "start a new run")
    assert not out.exists()  # nothing was saved, so no empty run directory is left behind


def test_resume_accepts_the_data_file_spelled_another_way_and_from_elsewhere(
    tmp_path, capsys, monkeypatch
):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.random((60, 8, 8)).astype(np.float32), y=np.arange(60) % 3)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "d.npz", "--out", "r", *FAST]) == 0
    assert main(["train", "--resume", "r", "--epochs", "2", "--data", "./d.npz", *FAST[:3]]) == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the run recorded d.npz's absolute path
    assert main(["train", "--resume", "../r", "--epochs", "3", *FAST[:3]]) == 0
    other = tmp_path / "elsewhere" / "e.npz"
    np.savez(other, X=rng.random((60, 8, 8)).astype(np.float32), y=np.arange(60) % 3)
    assert main(["train", "--resume", "../r", "--epochs", "4", "--data", "e.npz"]) == 2
    assert "--data: the run in ../r was trained with" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--out", str(out), *FAST]) == 0
    return out


def test_truncated_checkpoint_names_checkpoint_and_resume(run_dir, tmp_path, capsys):
    (tmp_path / "cut").mkdir()
    cut = tmp_path / "cut" / "model.npz"
    cut.write_bytes((run_dir / "model.npz").read_bytes()[:1000])
    assert main(["evaluate", "--checkpoint", str(cut)]) == 2
    _one_line_error(capsys, "--checkpoint:", "truncated or corrupt")
    assert main(["train", "--resume", str(cut.parent), *FAST[:3]]) == 2
    _one_line_error(capsys, "--resume:", "truncated or corrupt")


def test_checkpoint_and_resume_say_what_is_wrong_with_the_path(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 2
    _one_line_error(capsys, "--checkpoint:", "is a directory", str(run_dir / "model.npz"))
    other = tmp_path / "other.npz"
    other.write_bytes(b"")
    assert main(["train", "--resume", str(other), *FAST[:3]]) == 2
    _one_line_error(capsys, "--resume:", "give the run directory")
    assert main(["train", "--resume", str(tmp_path), *FAST[:3]]) == 2
    _one_line_error(capsys, "--resume:", "holds no model.npz")


def test_resume_accepts_the_model_npz_itself(run_dir, capsys):
    assert main(["train", "--resume", str(run_dir / "model.npz"), "--epochs", "2", *FAST[:3]]) == 0
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--optimizer", "sgd"], "--optimizer adam"),
        (["--lr", "0.5"], "--lr 0.03"),  # the softmax model's default rate
        (["--model", "mlp"], "--model softmax"),
        (["--seed", "1"], "--seed 0"),
        (["--weight-decay", "0.1"], "--weight-decay 0.0"),
        (["--out", "elsewhere"], "--out"),
    ],
)
def test_resume_refuses_options_that_conflict_with_the_saved_run(run_dir, capsys, argv, needle):
    before = (run_dir / "model.npz").read_bytes()
    assert main(["train", "--resume", str(run_dir), "--epochs", "3", *argv, *FAST[:3]]) == 2
    _one_line_error(capsys, argv[0], needle)
    assert (run_dir / "model.npz").read_bytes() == before


def test_resume_allows_the_saved_values_and_options_that_change_no_weight(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--out", str(out), *FAST]) == 0
    again = ["--model", "softmax", "--lr", "0.03", "--optimizer", "adam", "--out", str(out)]
    assert main(["train", "--resume", str(out), "--epochs", "2", *again, *FAST[:3]]) == 0
    capsys.readouterr()


def _npz(path, n, labels=None):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 10 if labels is None else np.asarray(labels)
    np.savez(path, X=rng.random((n, 1, 8, 8)).astype(np.float32), y=y.astype(np.int64))
    return str(path)


@pytest.mark.parametrize(
    "n,labels,needle",
    [
        (0, None, "holds no samples"),
        (3, [0, 1, 2], "give at least 3 samples of one class"),
        (6, [1] * 6, "at least 2 classes"),
    ],
    ids=["empty", "tiny", "one-class"],
)
def test_too_little_data_names_data_and_the_minimum(tmp_path, capsys, n, labels, needle):
    data = _npz(tmp_path / "d.npz", n, labels)
    assert main(["train", "--data", data, "--out", str(tmp_path / "r"), *FAST]) == 2
    _one_line_error(capsys, "--data:", needle)


@pytest.mark.parametrize("option", ["--l1", "--group-l1"])
def test_negative_penalties_are_refused_up_front(tmp_path, capsys, option):
    argv = ["train", "--out", str(tmp_path / "r"), *FAST[:3], "--epochs", "1", option, "-0.5"]
    assert main(argv) == 2
    _one_line_error(capsys, option, ">= 0")
    assert not (tmp_path / "r").exists()


def test_group_l1_on_softmax_is_refused_naming_the_option(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), *FAST, "--group-l1", "0.1"]) == 2
    _one_line_error(capsys, "--group-l1", "no conv filters or hidden neurons")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv", [["--l1", "1e6"], ["--group-l1", "1e6"], ["--l1", "1e300", "--group-l1", "1e300"]]
)
def test_absurd_penalties_stop_with_model_collapsed(tmp_path, capsys, argv):
    out = tmp_path / "r"
    base = ["train", "--out", str(out), *FAST[:3], "--model", "mlp", "--epochs", "2"]
    assert main([*base, *argv]) == 2
    _one_line_error(capsys, "collapsed to zero at epoch 1", argv[0], "smaller values")
    assert not out.exists()  # nothing was saved: no empty run directory


def test_finetune_epochs_without_a_penalty_is_refused(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), *FAST, "--finetune-epochs", "2"]) == 2
    _one_line_error(capsys, "--finetune-epochs", "give the l1 or the group-l1 penalty")
    assert not (tmp_path / "r").exists()


def test_a_finite_divergence_is_warned_about(tmp_path, capsys):
    """--lr 1e9 with Adam ends with a loss near 1e26, finite, at chance accuracy: the run is
    saved as asked (exit 0) but stderr says it diverged; a normal run says nothing."""
    assert main(["train", *FAST, "--lr", "1e9", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("verigrad train: warning: the final training loss")
    assert "--lr" in err[0]
    assert main(["train", *FAST, "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""
