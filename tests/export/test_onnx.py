"""ONNX export: onnxruntime's outputs equal verigrad's, onnx.checker passes, refusals name the layer."""

import sys

import numpy as np
import pytest

import verigrad.nn as nn
from verigrad import Tensor
from verigrad._checks import ParameterError
from verigrad.data import load_digits, train_test_split
from verigrad.export.onnx import export_onnx, to_onnx
from verigrad.nn.models import POOLS, build_model

from .cases import LAYERS, sample_input

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(proto_or_path, x):
    source = proto_or_path if isinstance(proto_or_path, str) else proto_or_path.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.fixture(scope="module")
def digits_test():
    X, y = load_digits()
    _, X_test, _, _ = train_test_split(X, y, test_size=0.2, rng=0)
    return X_test.astype(np.float32)


def _trained_looking(model, dtype=np.float32):
    """Softmax regression starts at zero: give every model non-trivial weights."""
    rng = np.random.default_rng(7)
    if isinstance(model, nn.SoftmaxRegression):
        for p in model.parameters():
            p.data = rng.normal(size=p.shape).astype(dtype)
    return model


@pytest.mark.parametrize(
    "model, pool", [("cnn", p) for p in POOLS] + [("mlp", "max"), ("softmax", "max")]
)
def test_training_models_on_the_digits_test_set(model, pool, digits_test):
    vg = _trained_looking(build_model(model, (1, 8, 8), 10, pool, rng=3)).eval()
    if pool == "mixed":
        vg[2].alpha_logit.data[...] = -0.8  # a learned alpha (0.31), not the initial 0.5
    proto = to_onnx(vg, (1, 8, 8))
    onnx.checker.check_model(proto, full_check=True)
    got = run_onnx(proto, digits_test)
    want = vg(Tensor(digits_test)).data
    assert got.shape == want.shape == (len(digits_test), 10)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("pool", POOLS)
def test_lenet5(pool, digits_test):
    # digits upsampled x3 and padded to 28x28: LeNet-5 is what build_model gives for them
    images = np.pad(
        np.kron(digits_test[:64], np.ones((1, 1, 3, 3), np.float32)), 2 * [(0, 0)] + 2 * [(2, 2)]
    )
    vg = build_model("cnn", (1, 28, 28), 10, pool, rng=4).eval()
    assert isinstance(vg, nn.LeNet5)
    np.testing.assert_allclose(
        run_onnx(to_onnx(vg, (1, 28, 28)), images), vg(Tensor(images)).data, rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("name, factory, shape", LAYERS, ids=[case[0] for case in LAYERS])
def test_each_layer(name, factory, shape):
    layer = factory(np.float32).eval()
    x = sample_input(shape, np.float32)
    proto = to_onnx(layer, shape[1:])
    got = run_onnx(proto, x)
    want = layer(Tensor(x)).data
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["linear", "maxpool-ceil", "relu", "flatten-middle"])
def test_float64_layers(name):
    # onnxruntime's CPU kernels have no float64 Conv or AveragePool; these ops it has
    factory, shape = {case[0]: case[1:] for case in LAYERS}[name]
    layer = factory(np.float64).eval()
    x = sample_input(shape, np.float64)
    proto = to_onnx(layer, shape[1:], dtype=np.float64)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    np.testing.assert_allclose(run_onnx(proto, x), layer(Tensor(x)).data, rtol=0, atol=1e-10)


def test_float64_models_pass_the_checker():
    for model in ("cnn", "mlp"):
        vg = build_model(model, (1, 8, 8), 10, "mixed", rng=0, dtype=np.float64)
        proto = to_onnx(vg, (1, 8, 8))
        onnx.checker.check_model(proto, full_check=True)
        assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    np.testing.assert_allclose(
        run_onnx(proto, sample_input((4, 1, 8, 8), np.float64)),
        vg(Tensor(sample_input((4, 1, 8, 8), np.float64))).data,
        rtol=0,
        atol=1e-10,
    )


def test_export_writes_a_file_and_keeps_the_training_mode(tmp_path):
    vg = build_model("cnn", (1, 8, 8), 10, "stochastic", rng=0)
    assert vg.training
    path = tmp_path / "model.onnx"
    export_onnx(vg, path, (1, 8, 8))
    assert vg.training and all(m.training for m in vg.modules())
    x = sample_input((3, 1, 8, 8), np.float32)
    np.testing.assert_allclose(run_onnx(str(path), x), vg.eval()(Tensor(x)).data, rtol=0, atol=1e-5)
    assert [i.name for i in onnx.load(path).graph.input] == ["input"]


class _Custom(nn.Module):
    def forward(self, x):
        return x * 2


def test_a_layer_that_cannot_be_exported_is_named():
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(4, 3), _Custom()))
    with pytest.raises(ParameterError) as info:
        to_onnx(model, (1, 2, 2))
    assert info.value.param == "model"
    assert "1.1 (_Custom)" in str(info.value)


def test_bad_input_shape_names_the_parameter():
    with pytest.raises(ParameterError) as info:
        to_onnx(build_model("cnn", (1, 8, 8), 10, rng=0), (1, 12, 12))
    assert info.value.param == "input_shape"


def test_missing_onnx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install onnx \(from a clone: pip install -e"):
        to_onnx(nn.Linear(2, 2), (2,))


def test_importing_verigrad_imports_neither_torch_nor_onnx():
    import subprocess

    code = (
        "import sys, verigrad, verigrad.nn, verigrad.export, verigrad.commands.export; "
        "print(sorted({'torch', 'onnx', 'onnxruntime'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
