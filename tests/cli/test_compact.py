"""``verigrad compact``: a smaller checkpoint with the same predictions, and its errors."""

import json

import numpy as np
import pytest

from verigrad.cli import main
from verigrad.data import load_dataset
from verigrad.training import load_model
from verigrad.training.compact import load_compacted_model
from verigrad.training.evaluation import forward_in_batches

FAST = ["--no-progress", "--quiet", "--no-tsne"]


@pytest.fixture(scope="module")
def group_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compact") / "run"
    argv = ["train", "--epochs", "2", "--group-l1", "3e-3", "--out", str(out), *FAST]
    assert main(argv) == 0
    return out


def test_compact_prints_sizes_and_times_and_keeps_predictions(group_run, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "small.npz"
    assert main(["compact", str(group_run / "model.npz"), "--out", str(out), "--repeats", "1"]) == 0
    text = capsys.readouterr().out
    assert "parameters 6,090 -> " in text and "% fewer" in text
    assert "inference on the 359 test images of digits: " in text and " ms -> " in text
    assert "predictions identical" in text and "layer 3: filters 32 -> " in text
    metrics = json.loads((group_run / "metrics.json").read_text())
    assert metrics["final"]["zero_filters"] > 0
    original, small = load_model(group_run / "model.npz"), load_compacted_model(out)
    assert small.n_parameters() < original.n_parameters()
    _, _, X, _, _ = load_dataset("digits", 0, 0.2)
    a, b = forward_in_batches(original, X), forward_in_batches(small, X)
    assert np.array_equal(a.argmax(axis=1), b.argmax(axis=1))
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_evaluate_and_load_model_read_the_compacted_checkpoint(group_run, tmp_path, capsys):
    out = tmp_path / "small.npz"
    assert main(["compact", str(group_run / "model.npz"), "--out", str(out), "--repeats", "1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((group_run / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["final"]["test_accuracy"])
    assert load_model(out).n_parameters() < metrics["final"]["n_parameters"]


def _one_line(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def test_compact_errors(group_run, tmp_path, capsys):
    ckpt = str(group_run / "model.npz")
    assert main(["compact", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o.npz")]) == 2
    _one_line(capsys, "CHECKPOINT", "no such file")
    assert main(["compact", str(group_run), "--out", str(tmp_path / "o.npz")]) == 2
    _one_line(capsys, "CHECKPOINT", "is a directory")
    assert main(["compact", ckpt, "--out", ckpt]) == 2
    _one_line(capsys, "--out", "would overwrite")
    link = tmp_path / "link.npz"  # the checkpoint under another name: still refused
    link.symlink_to(ckpt)
    assert main(["compact", ckpt, "--out", str(link)]) == 2
    _one_line(capsys, "--out", "would overwrite")
    assert main(["compact", ckpt, "--out", str(tmp_path / "o.txt")]) == 2
    _one_line(capsys, "--out", ".npz")
    assert main(["compact", ckpt, "--out", str(tmp_path / "o.npz"), "--repeats", "0"]) == 2
    _one_line(capsys, "--repeats")
    assert not (tmp_path / "o.npz").exists()
