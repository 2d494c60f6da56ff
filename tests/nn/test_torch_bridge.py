"""Module.to_torch() and nn.from_torch(): torch's outputs equal verigrad's, round trips are exact."""

import io

import numpy as np
import pytest

import verigrad.nn as nn
from verigrad import Tensor
from verigrad._checks import ParameterError, ParameterTypeError
from verigrad.nn.models import POOLS, build_model

from ..export.cases import LAYERS, TOLERANCE, sample_input

torch = pytest.importorskip("torch")


def _torch_out(torch_model, x):
    with torch.no_grad():
        return torch_model(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, factory, shape", LAYERS, ids=[case[0] for case in LAYERS])
def test_each_layer_gives_verigrads_output_in_torch(name, factory, shape, dtype):
    layer = factory(dtype).eval()
    x = sample_input(shape, dtype)
    converted = layer.to_torch()
    got = _torch_out(converted, x)
    want = layer(Tensor(x)).data
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype])
    for key, value in layer.state_dict().items():
        assert converted.state_dict()[key].numpy().dtype == value.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "model, pool, image",
    [("cnn", p, (1, 8, 8)) for p in POOLS]
    + [("cnn", "max", (1, 28, 28)), ("cnn", "mixed", (1, 28, 28))]
    + [("mlp", "max", (1, 8, 8)), ("softmax", "max", (1, 8, 8))],
)
def test_training_models_give_verigrads_output_in_torch(model, pool, image, dtype):
    vg = build_model(model, image, 10, pool, rng=1, dtype=dtype).eval()
    if model == "softmax":  # starts at zero: give it weights
        vg.weight.data = np.random.default_rng(2).normal(size=vg.weight.shape).astype(dtype)
        vg.bias.data = np.random.default_rng(3).normal(size=vg.bias.shape).astype(dtype)
    converted = vg.to_torch()
    assert list(converted.state_dict()) == list(vg.state_dict())
    assert not converted.training
    x = sample_input((5, *image), dtype, seed=4)
    np.testing.assert_allclose(
        _torch_out(converted, x), vg(Tensor(x)).data, rtol=0, atol=TOLERANCE[dtype]
    )


def test_gradients_agree_with_verigrads():
    vg = build_model("cnn", (1, 8, 8), 10, "mixed", rng=0)
    converted = vg.to_torch()
    x = sample_input((6, 1, 8, 8), np.float32)
    y = np.arange(6) % 10
    loss = nn.CrossEntropyLoss()(vg(Tensor(x)), y)
    loss.backward()
    torch_loss = torch.nn.functional.cross_entropy(
        converted(torch.from_numpy(x)), torch.from_numpy(y)
    )
    torch_loss.backward()
    assert abs(loss.item() - torch_loss.item()) < 1e-6
    grads = dict(converted.named_parameters())
    for name, param in vg.named_parameters():
        np.testing.assert_allclose(grads[name].grad.numpy(), param.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, factory, shape", LAYERS, ids=[case[0] for case in LAYERS])
def test_round_trip_gives_identical_weights(name, factory, shape, dtype):
    layer = factory(dtype)
    back = nn.from_torch(layer.to_torch())
    # torch has no global pooling layer: it comes back as its adaptive equivalent
    adaptive = {nn.GlobalAvgPool2d: nn.AdaptiveAvgPool2d, nn.GlobalMaxPool2d: nn.AdaptiveMaxPool2d}
    assert type(back) is adaptive.get(type(layer), type(layer))
    before, after = layer.state_dict(), back.state_dict()
    assert list(before) == list(after)
    for key in before:
        assert after[key].dtype == before[key].dtype
        np.testing.assert_array_equal(after[key], before[key])
    x = sample_input(shape, dtype)
    np.testing.assert_allclose(
        back.eval()(Tensor(x)).data, layer.eval()(Tensor(x)).data, rtol=0, atol=TOLERANCE[dtype]
    )


@pytest.mark.parametrize("model, pool", [("cnn", "mixed"), ("cnn", "lp"), ("mlp", "max")])
def test_model_round_trip_gives_identical_weights(model, pool):
    vg = build_model(model, (1, 8, 8), 10, pool, rng=5)
    if pool == "mixed":
        vg[2].alpha_logit.data[...] = 0.731  # a learned alpha, not the initial 0.5
    back = nn.from_torch(vg.to_torch())
    assert isinstance(back, nn.Sequential)
    for key, value in vg.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)
    assert back[2].__class__ is vg[2].__class__


def test_from_torch_of_a_torch_model_gives_torchs_outputs():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(inplace=True),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=1, padding=1, bias=False),
        torch.nn.Tanh(),
        torch.nn.AdaptiveAvgPool2d((2, 3)),
        torch.nn.Flatten(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(36, 5),
        torch.nn.Sigmoid(),
    ).eval()
    x = sample_input((3, 1, 10, 12), np.float32)
    vg = nn.from_torch(model)
    assert not vg.training
    np.testing.assert_allclose(vg(Tensor(x)).data, _torch_out(model, x), rtol=0, atol=1e-6)
    assert type(vg[1]) is nn.ReLU


def test_training_mode_is_kept_and_stochastic_training_picks_window_entries():
    layer = nn.StochasticPool2d(2)
    converted = layer.to_torch()
    assert converted.training
    x = sample_input((2, 3, 6, 6), np.float32)
    x[..., :2, :] = 0  # the first row of windows is all zero
    torch.manual_seed(0)
    out = converted(torch.from_numpy(x)).numpy()
    windows = x.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4)
    assert (windows == out[..., None]).any(axis=-1).all()  # one entry of each window
    assert (out[..., 0, :] == 0).all()  # the all-zero windows pool to 0


def test_converted_model_pickles_with_torch_save():
    vg = build_model("cnn", (1, 8, 8), 10, "mixed", rng=0).eval()
    buffer = io.BytesIO()
    torch.save(vg.to_torch(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x = sample_input((2, 1, 8, 8), np.float32)
    np.testing.assert_allclose(_torch_out(loaded, x), vg(Tensor(x)).data, atol=1e-5)


class _Custom(nn.Module):
    def forward(self, x):
        return x * 2


def test_to_torch_names_a_layer_it_cannot_convert():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), _Custom()))
    with pytest.raises(ParameterError) as info:
        model.to_torch()
    assert info.value.param == "module"
    assert "1.1 (_Custom)" in str(info.value)


class _Doubled(nn.Sequential):
    def forward(self, x):  # a Sequential with its own forward is not a plain chain
        return super().forward(x) * 2


def test_a_sequential_with_its_own_forward_is_refused():
    with pytest.raises(ParameterError, match=r"1 \(_Doubled\)"):
        nn.Sequential(nn.ReLU(), _Doubled(nn.Linear(2, 2))).to_torch()


def test_from_torch_names_a_layer_verigrad_lacks():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    with pytest.raises(ParameterError) as info:
        nn.from_torch(model)
    assert info.value.param == "module"
    assert "1 (BatchNorm2d)" in str(info.value)
    with pytest.raises(ParameterError, match="reflect"):
        nn.from_torch(torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ParameterTypeError):
        nn.from_torch(nn.Linear(2, 2))
