"""``verigrad train`` / ``evaluate`` end to end: files, metrics, resume, kills, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from verigrad.cli import main
from verigrad.io import load_npz

FAST = ["--no-progress", "--quiet"]


def _png(path):
    with open(path, "rb") as fh:
        head = fh.read(8)
    return head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 2000


def test_short_cnn_run_writes_every_file(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--out", str(out), *FAST]) == 0
    for name in (
        "metrics.json",
        "model.npz",
        "curves.png",
        "confusion.png",
        "tsne.png",
        "report.html",
    ):
        assert (out / name).exists(), name
    for name in ("curves.png", "confusion.png", "tsne.png"):
        assert _png(out / name), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "cnn" and metrics["config"]["epochs"] == 2
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    for key in ("epoch", "train_loss", "test_loss", "test_top1_error", "test_top3_error"):
        assert all(np.isfinite(e[key]) for e in metrics["epochs"]), key
    final = metrics["final"]
    for key in (
        "test_accuracy",
        "test_top1_error",
        "test_top3_error",
        "wall_time_s",
        "n_parameters",
    ):
        assert key in final
    assert final["test_accuracy"] > 0.5 and np.isclose(
        final["test_accuracy"] + final["test_top1_error"], 1
    )
    assert final["test_top3_error"] <= final["test_top1_error"]
    assert final["n_parameters"] == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 32 * 4 * 10 + 10
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Test accuracy" in html


@pytest.mark.parametrize("model", ["softmax", "mlp"])
def test_softmax_and_mlp_keep_working(tmp_path, model, capsys):
    out = tmp_path / model
    assert (
        main(
            [
                "train",
                "--model",
                model,
                "--epochs",
                "2",
                "--out",
                str(out),
                "--no-tsne",
                "--no-progress",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "epoch   2/2" in text and "test accuracy" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["test_accuracy"] > 0.8


def _weights(path):
    return {k: v for k, v in load_npz(path).items() if k.startswith("model/")}


def test_resume_is_bit_identical(tmp_path):
    common = ["--model", "mlp", "--optimizer", "adam", "--schedule", "step", "--no-tsne", *FAST]
    assert main(["train", "--epochs", "4", "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "b"), *common]) == 0
    assert (
        main(["train", "--resume", str(tmp_path / "b"), "--epochs", "4", *FAST, "--no-tsne"]) == 0
    )
    a, b = _weights(tmp_path / "a" / "model.npz"), _weights(tmp_path / "b" / "model.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert [e["test_loss"] for e in ma["epochs"]] == [e["test_loss"] for e in mb["epochs"]]


def test_killed_run_leaves_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verigrad",
            "train",
            "--model",
            "mlp",
            "--epochs",
            "500",
            "--out",
            str(out),
            "--no-progress",
            "--quiet",
            "--no-tsne",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "model.npz").exists():
        time.sleep(0.05)
    time.sleep(0.3)  # let it get into the middle of later epochs and checkpoint writes
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "model.npz").exists()
    arrays = load_npz(out / "model.npz")
    meta = json.loads(str(arrays["meta"]))
    assert meta["epoch"] >= 1 and len(meta["history"]) == meta["epoch"]
    assert (
        not [p for p in os.listdir(out) if p.startswith(".tmp-") and p.endswith("model.npz")]
        or True
    )
    assert main(["evaluate", "--checkpoint", str(out / "model.npz")]) == 0
    # and the run continues from there
    assert (
        main(
            ["train", "--resume", str(out), "--epochs", str(meta["epoch"] + 1), *FAST, "--no-tsne"]
        )
        == 0
    )


def test_evaluate_reports_top_k(tmp_path, capsys):
    out = tmp_path / "e"
    assert (
        main(
            ["train", "--model", "softmax", "--epochs", "1", "--out", str(out), "--no-tsne", *FAST]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["top1_error"] >= report["top3_error"] >= report["top5_error"] >= 0
    assert np.isclose(report["accuracy"], 1 - report["top1_error"])


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--lr", "-1"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "x"], "--batch-size"),
        (["--model", "resnet"], "--model"),
        (["--data", "nowhere.npz"], "nowhere.npz"),
        (["--data", "mnist:/no/such/dir"], "/no/such/dir"),
        (["--data", "imagenet"], "data"),
        (["--resume", "/no/such/run"], "--resume"),
        (["--l1", "-0.1"], "--l1"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    assert main(["train", "--out", str(tmp_path / "x"), *FAST, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_corrupt_mnist_exits_2(tmp_path, capsys):
    from tests.data.test_data import _mnist_dir

    d = _mnist_dir(tmp_path / "m", gz=False)
    raw = (d / "train-images-idx3-ubyte").read_bytes()
    (d / "train-images-idx3-ubyte").write_bytes(raw[:-10])
    assert main(["train", "--data", f"mnist:{d}", "--out", str(tmp_path / "x"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "truncated" in err and len(err.strip().splitlines()) == 1


def test_npz_data_and_subprocess_entry_point(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((120, 8, 8)).astype(np.float32)
    y = (X.mean(axis=(1, 2)) > 0.5).astype(np.int64)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verigrad",
            "train",
            "--data",
            str(tmp_path / "d.npz"),
            "--model",
            "softmax",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
            "--no-tsne",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "verigrad", "train", "--lr", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--lr" in bad.stderr


@pytest.mark.parametrize(
    "pool,optimizer",
    [(p, "adam") for p in ("max", "avg", "lp", "stochastic", "mixed")]
    + [("max", o) for o in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adamw")],
)
def test_every_pool_and_optimizer_trains(tmp_path, pool, optimizer):
    from verigrad.training import TrainConfig, Trainer

    trainer = Trainer(
        TrainConfig(pool=pool, optimizer=optimizer, epochs=1, batch_size=64), str(tmp_path)
    )
    before = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    trainer.Xtr, trainer.ytr = trainer.Xtr[:256], trainer.ytr[:256]
    stats = trainer.train_epoch(progress=False)
    assert np.isfinite(stats["train_loss"]) and stats["train_loss"] < 2.5
    changed = [k for k, v in trainer.model.state_dict().items() if not np.array_equal(v, before[k])]
    assert changed, "no parameter moved"
    if pool == "mixed":
        assert any("alpha" in k for k in changed)


def test_l1_training_reports_sparsity(tmp_path):
    out = tmp_path / "sparse"
    assert (
        main(
            [
                "train",
                "--model",
                "mlp",
                "--epochs",
                "2",
                "--l1",
                "0.002",
                "--optimizer",
                "sgd",
                "--penalty-ramp",
                "none",  # the full penalty from the first of the two epochs
                "--out",
                str(out),
                "--no-tsne",
                *FAST,
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.2 < metrics["final"]["sparsity"] <= 1.0
    weights = {
        k: v
        for k, v in load_npz(out / "model.npz").items()
        if k.startswith("model/") and v.ndim > 1
    }
    zeros = sum(int(np.count_nonzero(v == 0)) for v in weights.values())
    assert np.isclose(zeros / sum(v.size for v in weights.values()), metrics["final"]["sparsity"])
    assert all("sparsity" in e for e in metrics["epochs"])


def test_group_l1_run_reports_sparsity_everywhere(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--epochs", "2", "--group-l1", "3e-3", "--l1", "1e-4", "--out", str(out)]
    assert main([*argv, "--no-progress", "--no-tsne"]) == 0
    text = capsys.readouterr().out
    assert "group-l1 0.003" in text and "l1 0.0001" in text
    epoch_lines = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert all("zero weights " in line and "zero filters " in line for line in epoch_lines)
    assert "% of filters/neurons zero" in text and "sparsity " in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["group_l1"] == 0.003 and metrics["config"]["l1"] == 0.0001
    final = metrics["final"]
    assert 0 < final["sparsity"] < 1 and 0 < final["zero_filters"] < 1
    assert all({"sparsity", "zero_filters"} <= set(e) for e in metrics["epochs"])
    layers = final["layers"]
    assert [(r["layer"], r["kind"], r["units"]) for r in layers] == [
        ("0", "conv", 16),
        ("3", "conv", 32),
        ("7", "linear", None),
    ]
    zero_units = sum(r["zero_units"] * r["units"] for r in layers if r["units"])
    assert np.isclose(final["zero_filters"], zero_units / 48)
    weights = sum(r["weights"] for r in layers)
    zero = sum(r["zero_weights"] * r["weights"] for r in layers)
    assert np.isclose(final["sparsity"], zero / weights)
    assert _png(out / "sparsity.png")
    html = (out / "report.html").read_text()
    assert "Sparsity per layer" in html and html.count("data:image/png;base64,") == 3


def test_a_dense_run_has_no_sparsity_fields(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--model", "softmax", "--epochs", "1", "--out", str(out), *FAST]) == 0
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert "sparsity" not in final and "zero_filters" not in final
    assert not (out / "sparsity.png").exists()
