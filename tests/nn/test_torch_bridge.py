"""Module.to_torch() and nn.from_torch(): torch's outputs equal verigrad's, round trips are exact."""

import io

import numpy as np
import pytest

import verigrad.nn as nn
from verigrad import Tensor
from verigrad._checks import ParameterError, ParameterTypeError
from verigrad.nn.models import POOLS, build_model

torch = pytest.importorskip("torch")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}

# (name, factory(dtype), input shape); inputs are non-negative (stochastic pooling needs it)
LAYERS = [
    ("linear", lambda d: nn.Linear(6, 4, rng=0, dtype=d), (3, 6)),
    ("linear-nobias", lambda d: nn.Linear(6, 4, bias=False, rng=0, dtype=d), (3, 6)),
    (
        "conv",
        lambda d: nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=1, rng=0, dtype=d),
        (2, 2, 9, 9),
    ),
    (
        "conv-groups-dilation",
        lambda d: nn.Conv2d(4, 6, (3, 2), padding=(2, 1), dilation=2, groups=2, rng=0, dtype=d),
        (2, 4, 8, 7),
    ),
    ("conv-same", lambda d: nn.Conv2d(2, 3, 4, padding="same", rng=0, dtype=d), (2, 2, 7, 7)),
    (
        "conv-transpose",
        lambda d: nn.ConvTranspose2d(
            4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, rng=0, dtype=d
        ),
        (2, 4, 5, 5),
    ),
    ("relu", lambda d: nn.ReLU(), (2, 3, 4, 4)),
    ("sigmoid", lambda d: nn.Sigmoid(), (2, 3, 4, 4)),
    ("tanh", lambda d: nn.Tanh(), (2, 3, 4, 4)),
    ("identity", lambda d: nn.Identity(), (2, 3)),
    ("flatten", lambda d: nn.Flatten(), (2, 3, 4, 4)),
    ("flatten-middle", lambda d: nn.Flatten(1, 2), (2, 3, 4, 5)),
    ("dropout", lambda d: nn.Dropout(0.3), (2, 8)),
    ("maxpool", lambda d: nn.MaxPool2d(2), (2, 3, 8, 8)),
    (
        "maxpool-ceil",
        lambda d: nn.MaxPool2d(3, 2, padding=1, dilation=1, ceil_mode=True),
        (2, 3, 8, 8),
    ),
    ("maxpool-dilated", lambda d: nn.MaxPool2d(2, 1, dilation=2), (2, 3, 7, 7)),
    ("avgpool", lambda d: nn.AvgPool2d(2), (2, 3, 8, 8)),
    (
        "avgpool-pad-ceil",
        lambda d: nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 3, 8, 8),
    ),
    ("avgpool-pad-count", lambda d: nn.AvgPool2d(3, 2, padding=1), (2, 3, 7, 7)),
    ("lppool", lambda d: nn.LPPool2d(2, 2), (2, 3, 8, 8)),
    ("lppool-3-ceil", lambda d: nn.LPPool2d(3, 3, 2, ceil_mode=True), (2, 3, 8, 8)),
    ("adaptive-avg", lambda d: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    ("adaptive-max", lambda d: nn.AdaptiveMaxPool2d(3), (2, 3, 7, 8)),
    ("global-avg", lambda d: nn.GlobalAvgPool2d(), (2, 3, 5, 5)),
    ("global-max", lambda d: nn.GlobalMaxPool2d(), (2, 3, 5, 5)),
    ("stochastic", lambda d: nn.StochasticPool2d(2), (2, 3, 8, 8)),
    ("stochastic-overlap", lambda d: nn.StochasticPool2d(3, 2), (2, 3, 9, 9)),
    ("mixed", lambda d: nn.MixedPool2d(2, alpha=0.3, dtype=d), (2, 3, 8, 8)),
    ("mixed-pad", lambda d: nn.MixedPool2d(3, 2, padding=1, alpha=0.8, dtype=d), (2, 3, 7, 7)),
]


def _input(shape, dtype, seed=0):
    x = np.random.default_rng(seed).random(shape).astype(dtype)
    x[..., 0, :] = 0  # zeros: ties for max, empty windows for stochastic pooling
    return x


def _torch_out(torch_model, x):
    with torch.no_grad():
        return torch_model(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, factory, shape", LAYERS, ids=[case[0] for case in LAYERS])
def test_each_layer_gives_verigrads_output_in_torch(name, factory, shape, dtype):
    layer = factory(dtype).eval()
    x = _input(shape, dtype)
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
    x = _input((5, *image), dtype, seed=4)
    np.testing.assert_allclose(
        _torch_out(converted, x), vg(Tensor(x)).data, rtol=0, atol=TOLERANCE[dtype]
    )


def test_gradients_agree_with_verigrads():
    vg = build_model("cnn", (1, 8, 8), 10, "mixed", rng=0)
    converted = vg.to_torch()
    x = _input((6, 1, 8, 8), np.float32)
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
    x = _input(shape, dtype)
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
    x = _input((3, 1, 10, 12), np.float32)
    vg = nn.from_torch(model)
    assert not vg.training
    np.testing.assert_allclose(vg(Tensor(x)).data, _torch_out(model, x), rtol=0, atol=1e-6)
    assert type(vg[1]) is nn.ReLU


def test_training_mode_is_kept_and_stochastic_training_picks_window_entries():
    layer = nn.StochasticPool2d(2)
    converted = layer.to_torch()
    assert converted.training
    x = _input((2, 3, 6, 6), np.float32)
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
    x = _input((2, 1, 8, 8), np.float32)
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
