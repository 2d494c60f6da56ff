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
    assert err == "verigrad export: error: onnx is not installed: pip install verigrad[export]\n"
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
