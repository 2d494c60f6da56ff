"""``verigrad evaluate``: which samples it uses, and its bad input."""

import json

import numpy as np
import pytest

from verigrad.cli import main

FAST = ["--no-progress", "--quiet", "--no-tsne", "--model", "softmax", "--epochs", "1"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--out", str(out), *FAST]) == 0
    return str(out / "model.npz")


def _npz(path, n):
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.random((n, 8, 8)).astype(np.float32), y=np.arange(n) % 10)
    return str(path)


def _report(capsys, *argv):
    capsys.readouterr()
    assert main(["evaluate", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_own_data_uses_its_test_split_other_data_all_of_it(checkpoint, tmp_path, capsys):
    own = _report(capsys, "--checkpoint", checkpoint)
    assert own["split"] == "test" and own["n"] == 360 - 1  # stratified 20% of 1,797 digits
    other = _npz(tmp_path / "d100.npz", 100)
    assert _report(capsys, "--checkpoint", checkpoint, "--data", other)["n"] == 100
    test = _report(capsys, "--checkpoint", checkpoint, "--data", other, "--split", "test")
    assert test["split"] == "test" and test["n"] == 20
    everything = _report(capsys, "--checkpoint", checkpoint, "--split", "all")
    assert everything["n"] == 1797
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", other]) == 0
    assert f"all 100 samples of {other}" in capsys.readouterr().out


def test_same_file_by_another_path_counts_as_the_training_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _npz(tmp_path / "d.npz", 100)
    assert main(["train", "--data", "d.npz", "--out", "r", *FAST]) == 0
    report = _report(capsys, "--checkpoint", "r/model.npz", "--data", data)
    assert report["split"] == "test" and report["n"] == 20


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--k", "11"], "--k: must be <= 10"),
        (["--k", "0"], "--k"),
        (["--data", "nowhere.npz"], "--data:"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(checkpoint, capsys, argv, needle):
    assert main(["evaluate", "--checkpoint", checkpoint, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_too_little_data_names_data(checkpoint, tmp_path, capsys):
    np.savez(tmp_path / "e.npz", X=np.zeros((0, 1, 8, 8)), y=np.zeros(0, np.int64))
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", str(tmp_path / "e.npz")]) == 2
    err = capsys.readouterr().err
    assert "--data:" in err and "holds no samples" in err and len(err.strip().splitlines()) == 1


def test_same_source_is_judged_by_the_file_not_the_working_directory(tmp_path, capsys, monkeypatch):
    train_dir, other_dir = tmp_path / "train", tmp_path / "other"
    train_dir.mkdir(), other_dir.mkdir()
    _npz(train_dir / "d.npz", 100)
    np.savez(  # another file with the same name, elsewhere
        other_dir / "d.npz", X=np.ones((50, 8, 8), np.float32), y=np.arange(50) % 10
    )
    monkeypatch.chdir(train_dir)
    assert main(["train", "--data", "d.npz", "--out", "r", *FAST]) == 0
    # the same file from another directory: its test split (the run recorded an absolute path)
    monkeypatch.chdir(tmp_path)
    same = _report(capsys, "--checkpoint", "train/r/model.npz", "--data", "train/d.npz")
    assert same["split"] == "test" and same["n"] == 20
    assert _report(capsys, "--checkpoint", "train/r/model.npz")["n"] == 20  # no --data needed
    # a different d.npz: all of it, although the text "d.npz" matches what was typed
    monkeypatch.chdir(other_dir)
    other = _report(capsys, "--checkpoint", "../train/r/model.npz", "--data", "d.npz")
    assert other["split"] == "all" and other["n"] == 50


def test_checkpoint_is_positional_like_export_and_compact(checkpoint, capsys):
    by_position = _report(capsys, checkpoint)
    by_option = _report(capsys, "--checkpoint", checkpoint)
    assert by_position == by_option and by_position["checkpoint"] == checkpoint
    assert main(["evaluate", checkpoint, "--k", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{checkpoint} (epoch 1) on the test split")


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([], "CHECKPOINT: give the checkpoint to evaluate"),
        (["CKPT", "--checkpoint", "CKPT"], "CHECKPOINT: given twice"),
        (["missing.npz"], "CHECKPOINT: missing.npz: no such file"),
        (["--checkpoint", "missing.npz"], "--checkpoint: missing.npz: no such file"),
    ],
)
def test_checkpoint_given_once_errors_name_the_spelling_used(checkpoint, capsys, argv, needle):
    argv = [checkpoint if a == "CKPT" else a for a in argv]
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
