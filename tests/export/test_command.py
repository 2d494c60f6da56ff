"""verigrad export CHECKPOINT --to onnx|torch --out FILE."""

import subprocess
import sys

import numpy as np
import pytest

from verigrad import Tensor
from verigrad.cli import main
from verigrad.data import load_dataset
from verigrad.training import load_model

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def test_images():
    _, _, X_test, _, _ = load_dataset("digits", 0, 0.2)
    return X_test.astype(np.float32)


def test_onnx(checkpoint, test_images, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert main(["export", checkpoint, "--to", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}: ONNX opset 17 of the cnn model (epoch 1")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": test_images})[0]
    want = load_model(checkpoint)(Tensor(test_images)).data
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_torch(checkpoint, test_images, tmp_path, capsys):
    out = tmp_path / "model.pt2"
    assert main(["export", checkpoint, "--to", "torch", "--out", str(out)]) == 0
    assert "torch.export program" in capsys.readouterr().out
    with torch.no_grad():
        got = torch.export.load(out).module()(torch.from_numpy(test_images)).numpy()
    want = load_model(checkpoint)(Tensor(test_images)).data
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_bad_input_is_one_line_and_exit_2(checkpoint, tmp_path, capsys, monkeypatch):
    missing = str(tmp_path / "none.npz")
    assert main(["export", missing, "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CHECKPOINT" in err and missing in err
    assert main(["export", checkpoint, "--to", "tflite", "--out", "m"]) == 2
    assert "--to" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)
    out = tmp_path / "m.onnx"
    assert main(["export", checkpoint, "--to", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "verigrad export: error: onnx is not installed: pip install onnx (from a clone: pip install -e '.[export]')\n"
    )
    assert not out.exists()


def test_as_a_subprocess(checkpoint, tmp_path):
    out = tmp_path / "model.onnx"
    done = subprocess.run(
        [sys.executable, "-m", "verigrad", "export", checkpoint, "--to", "onnx", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000  # the weights (about 6,000 float32 parameters)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--to", "torch", "--out", "m.onnx"], "--out: m.onnx: --to torch writes a .pt2 file"),
        (["--to", "onnx", "--out", "m.pt2"], "--out: m.pt2: --to onnx writes a .onnx file"),
        (["--to", "onnx", "--out", "model.npz"], "--out: model.npz: --to onnx writes a .onnx"),
        (["--to", "torch", "--out", "m"], "not one without a suffix; use m.pt2"),
        (["--out", "m.bin"], "--to: give --to onnx or --to torch"),
    ],
)
def test_a_suffix_that_contradicts_the_format_is_refused(
    checkpoint, tmp_path, capsys, monkeypatch, argv, needle
):
    monkeypatch.chdir(tmp_path)
    assert main(["export", checkpoint, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_without_to_the_suffix_chooses_the_format(checkpoint, tmp_path, capsys):
    assert main(["export", checkpoint, "--out", str(tmp_path / "m.onnx")]) == 0
    assert "ONNX opset 17" in capsys.readouterr().out
    assert main(["export", checkpoint, "--out", str(tmp_path / "m.pt2")]) == 0
    assert "torch.export program" in capsys.readouterr().out
    assert torch.export.load(tmp_path / "m.pt2") is not None
