"""Trainer(config, run_dir): complete when made, no directory left by bad input, checkpoints
that load_model reads back."""

import os
import time

import numpy as np
import pytest

from verigrad import Tensor
from verigrad._checks import MissingFileError, ParameterError
from verigrad.training import (
    CHECKPOINT,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    load_checkpoint,
    load_model,
)
from verigrad.training.checkpoint import make_run_directory


def _npz(path, n=60, classes=3):
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.random((n, 8, 8)).astype(np.float32), y=np.arange(n) % classes)
    return str(path)


def _config(data, **kw):
    return TrainConfig(**{"data": data, "model": "softmax", "epochs": 1, **kw})


@pytest.mark.parametrize("case", ["missing", "one-class", "too-few"])
def test_bad_input_raises_naming_data_and_leaves_no_directory(tmp_path, case):
    data = {
        "missing": str(tmp_path / "none.npz"),
        "one-class": _npz(tmp_path / "one.npz", 6, classes=1),
        "too-few": _npz(tmp_path / "few.npz", 3),
    }[case]
    with pytest.raises((ParameterError, MissingFileError)) as info:
        Trainer(_config(data), tmp_path / "r")
    assert info.value.param == "data"
    assert not (tmp_path / "r").exists()


def test_trainer_is_complete_when_constructed(tmp_path):
    trainer = Trainer(_config(_npz(tmp_path / "d.npz")), tmp_path / "a" / "b")
    assert os.path.isdir(tmp_path / "a" / "b")
    assert trainer.checkpoint_path == os.path.join(tmp_path / "a" / "b", CHECKPOINT)
    final = trainer.run(progress=False, log=None)
    assert os.path.isfile(trainer.checkpoint_path)
    assert trainer.epoch == 1 and len(trainer.history) == 1
    assert final["n_train"] + final["n_test"] == 60


def test_no_run_dir_claims_a_new_timestamped_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "strftime", lambda *a: "20260101-000000")
    data = _npz(tmp_path / "d.npz")
    dirs = [Trainer(_config(data)).run_dir for _ in range(2)]
    assert dirs == [
        os.path.join("runs", "20260101-000000"),
        os.path.join("runs", "20260101-000000-2"),
    ]
    assert all(os.path.isdir(d) for d in dirs)


def test_run_dir_that_cannot_be_a_directory_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    for run_dir, needle in ((tmp_path / "file", "is not a directory"), ("/dev/null/x", "cannot")):
        with pytest.raises(ParameterError) as info:
            make_run_directory(run_dir)
        assert info.value.param == "run_dir" and needle in str(info.value)
    assert make_run_directory(tmp_path) == (str(tmp_path), False)
    assert make_run_directory(tmp_path / "new") == (str(tmp_path / "new"), True)


def test_divergence_before_the_first_checkpoint_removes_only_a_directory_it_made(tmp_path):
    config = _config(_npz(tmp_path / "d.npz"), optimizer="sgd", lr=1e300)
    made = Trainer(config, tmp_path / "made")
    with pytest.raises(TrainingDiverged) as info:
        made.run(progress=False, log=None)
    exc = info.value
    assert (exc.epoch, exc.lr, exc.weight_decay, exc.l1) == (1, 1e300, 0.0, 0.0)
    assert "diverged" in str(exc) and "--" not in str(exc)
    assert not (tmp_path / "made").exists()
    (tmp_path / "given").mkdir()
    with pytest.raises(TrainingDiverged):
        Trainer(config, tmp_path / "given").run(progress=False, log=None)
    assert (tmp_path / "given").is_dir()


def test_load_model_returns_the_trained_model_in_eval_mode(tmp_path):
    trainer = Trainer(
        TrainConfig(data="digits", model="mlp", epochs=1, batch_size=64), tmp_path / "r"
    )
    trainer.Xtr, trainer.ytr = trainer.Xtr[:200], trainer.ytr[:200]
    trainer.run(progress=False, log=None)
    model = load_model(trainer.checkpoint_path)
    assert type(model) is type(trainer.model) and not model.training
    for key, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    trainer.model.eval()
    X = trainer.Xte[:20]
    np.testing.assert_array_equal(model(Tensor(X)).data, trainer.model(Tensor(X)).data)


def test_checkpoint_errors_name_the_checkpoint(tmp_path):
    with pytest.raises(MissingFileError) as info:
        load_checkpoint(tmp_path / "none.npz")
    assert info.value.param == "checkpoint"
    with pytest.raises(ParameterError) as info:
        load_model(tmp_path)
    assert info.value.param == "checkpoint" and "is a directory" in str(info.value)
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(ParameterError) as info:
        load_model(tmp_path / "plain.npz")
    assert "not a verigrad checkpoint" in str(info.value)


def test_resume_continues_and_refuses_fewer_epochs(tmp_path):
    data = _npz(tmp_path / "d.npz")
    Trainer(_config(data, epochs=2), tmp_path / "r").run(progress=False, log=None)
    with pytest.raises(ParameterError) as info:
        Trainer.resume(tmp_path / "r", epochs=1)
    assert info.value.param == "epochs" and "--" not in str(info.value)
    trainer = Trainer.resume(tmp_path / "r", epochs=3)
    # the saved (resolved) rate: the softmax model's default, default_lr("adam", "softmax")
    assert trainer.epoch == 2 and trainer.config.epochs == 3 and trainer.config.lr == 0.03
    trainer.run(progress=False, log=None)
    _, meta = load_checkpoint(trainer.checkpoint_path)
    assert meta["epoch"] == 3 and [h["epoch"] for h in meta["history"]] == [1, 2, 3]


def test_a_run_starting_in_a_directory_removes_stale_checkpoint_temporaries(tmp_path):
    from verigrad.io import TEMPORARY_PREFIX

    (tmp_path / "r").mkdir()
    stale = tmp_path / "r" / f"{TEMPORARY_PREFIX}abc{CHECKPOINT}"
    stale.write_bytes(b"half a checkpoint")
    keep = tmp_path / "r" / "notes.txt"
    keep.write_text("mine")
    Trainer(_config(_npz(tmp_path / "d.npz")), tmp_path / "r")
    assert not stale.exists() and keep.exists()
