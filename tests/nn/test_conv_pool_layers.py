"""Conv and pooling layers: torch's initialisation, parity with torch.nn, modes, alpha."""

import math

import numpy as np
import pytest

import verigrad.functional as F
import verigrad.nn as nn
from tests.helpers import assert_backward_dtypes, assert_close, to_torch, torch
from verigrad import Tensor


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_initialisation_and_parity_with_torch(groups):
    layer = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=groups, rng=0)
    assert layer.weight.shape == (6, 4 // groups, 3, 2) and layer.bias.shape == (6,)
    assert layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(4 // groups * 3 * 2)
    ref = torch().nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=groups)
    # torch's bound: the largest |w| over many draws approaches the same 1/sqrt(fan_in)
    big = nn.Conv2d(4, 6, (3, 2), groups=groups, rng=1, dtype=np.float64)
    assert np.abs(big.weight.data).max() <= bound
    assert np.abs(big.weight.data).max() > 0.9 * bound and np.abs(big.bias.data).max() <= bound
    assert float(ref.weight.detach().abs().max()) <= bound + 1e-7
    with torch().no_grad():
        ref.weight.copy_(to_torch(layer.weight.data))
        ref.bias.copy_(to_torch(layer.bias.data))
    x = np.random.default_rng(2).normal(size=(2, 4, 7, 6)).astype(np.float32)
    y = layer(Tensor(x))
    assert_close(y.data, ref(to_torch(x)), np.float32)
    y.sum().backward()
    ref(to_torch(x)).sum().backward()
    assert_close(layer.weight.grad, ref.weight.grad, np.float32)
    assert_close(layer.bias.grad, ref.bias.grad, np.float32)


def test_conv_transpose2d_initialisation_and_parity_with_torch():
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, rng=0)
    assert layer.weight.shape == (4, 3, 3, 3)
    bound = 1 / math.sqrt(3 * 3 * 3)  # torch: fan_in from weight dim 1 = out_channels / groups
    assert (
        np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.8 * bound
    )
    ref = torch().nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert float(ref.weight.detach().abs().max()) <= bound + 1e-7
    with torch().no_grad():
        ref.weight.copy_(to_torch(layer.weight.data))
        ref.bias.copy_(to_torch(layer.bias.data))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 4, 5)).astype(np.float32)
    xt, rx = Tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    y, r = layer(xt), ref(rx)
    assert y.shape == (2, 6, 8, 10)
    assert_close(y.data, r, np.float32)
    g = rng.normal(size=y.shape).astype(np.float32)  # not all ones: position matters
    assert_backward_dtypes(y)
    y.backward(g)
    r.backward(to_torch(g))
    assert xt.grad.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32
    assert_close(xt.grad, rx.grad, np.float32)
    assert_close(layer.weight.grad, ref.weight.grad, np.float32)
    assert_close(layer.bias.grad, ref.bias.grad, np.float32)


def test_conv_layer_errors_and_state_dict():
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, 0)
    a, b = nn.Conv2d(3, 4, 3, rng=0), nn.Conv2d(3, 4, 3, rng=1)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert nn.Conv2d(3, 4, 3, bias=False).bias is None
    assert sum(p.size for p in a.parameters()) == 4 * 3 * 9 + 4


POOLS = [
    (
        lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda t: t.nn.MaxPool2d(3, 2, 1, ceil_mode=True),
    ),
    (lambda: nn.MaxPool2d(2, dilation=2), lambda t: t.nn.MaxPool2d(2, dilation=2)),
    (
        lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        lambda t: t.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    ),
    (lambda: nn.LPPool2d(2, 2), lambda t: t.nn.LPPool2d(2, 2)),
    (lambda: nn.AdaptiveAvgPool2d((3, 2)), lambda t: t.nn.AdaptiveAvgPool2d((3, 2))),
    (lambda: nn.AdaptiveMaxPool2d(3), lambda t: t.nn.AdaptiveMaxPool2d(3)),
]


@pytest.mark.parametrize("ours, ref", POOLS)
def test_pool_layers_match_torch(ours, ref):
    x = np.random.default_rng(4).uniform(0.1, 2.0, size=(2, 3, 7, 7))
    layer, ref_layer = ours(), ref(torch())
    xt = Tensor(x, requires_grad=True)
    rt = to_torch(x, requires_grad=True)
    y, r = layer(xt), ref_layer(rt)
    assert_close(y.data, r)
    y.sum().backward()
    r.sum().backward()
    assert_close(xt.grad, rt.grad)
    assert repr(layer).startswith(type(layer).__name__)


def test_global_pool_layers():
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(nn.pool.GlobalAvgPool2d()(x).data[..., 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_array_equal(nn.pool.GlobalMaxPool2d()(x).data[..., 0, 0], x.max(axis=(2, 3)))


def test_stochastic_pool_layer_modes():
    x = np.random.default_rng(6).uniform(0, 1, size=(2, 3, 6, 6))
    layer = nn.StochasticPool2d(2, rng=7)
    first, second = layer(x).data, layer(x).data
    assert not np.array_equal(first, second)  # the Generator advances between calls
    # every training output is one of its window's entries
    windows = x.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4)
    assert np.all(np.any(windows == first[..., None], axis=-1))
    np.testing.assert_array_equal(nn.StochasticPool2d(2, rng=7)(x).data, first)
    layer.eval()
    expected = (windows**2).sum(-1) / windows.sum(-1)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12)


def test_mixed_pool_layer_alpha_is_learnable_and_stays_in_unit_interval():
    from verigrad.optim import SGD

    layer = nn.MixedPool2d(2, alpha=0.25, dtype=np.float64)
    assert abs(layer.alpha - 0.25) < 1e-12
    x = np.random.default_rng(8).normal(size=(2, 2, 4, 4))
    y = layer(x)
    maxed, averaged = F.max_pool2d(x, 2).data, F.avg_pool2d(x, 2).data
    np.testing.assert_allclose(y.data, 0.25 * maxed + 0.75 * averaged, rtol=1e-12)
    y.sum().backward()
    # d/dlogit = sum(max - avg) * alpha (1 - alpha)
    np.testing.assert_allclose(
        layer.alpha_logit.grad, (maxed - averaged).sum() * 0.25 * 0.75, rtol=1e-10
    )
    assert [name for name, _ in layer.named_parameters()] == ["alpha_logit"]
    optimizer = SGD(layer.parameters(), lr=100.0)
    for _ in range(20):  # push alpha up hard: it approaches 1 but never leaves (0, 1)
        optimizer.zero_grad()
        (-layer(x).sum()).backward()
        optimizer.step()
    assert 0.99 < layer.alpha <= 1.0
    with pytest.raises(ValueError, match="alpha"):
        nn.MixedPool2d(2, alpha=1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["max", "avg", "lp", "stochastic", "mixed"])
def test_models_pools_take_the_model_dtype(kind, dtype):
    """build_model(dtype=float64) gives float64 parameters everywhere, mixed pooling's alpha
    included (make_pool passes the dtype on), and a float64 forward."""
    from verigrad.nn.models import build_model, make_pool

    for model in (
        build_model("cnn", (1, 8, 8), 10, kind, rng=0, dtype=dtype),
        build_model("cnn", (1, 28, 28), 10, kind, rng=0, dtype=dtype),
    ):
        assert {p.dtype for p in model.parameters()} == {np.dtype(dtype)}
        x = np.random.default_rng(0).random((2,) + ((1, 8, 8) if len(model) < 10 else (1, 28, 28)))
        assert model(x.astype(dtype)).dtype == dtype
    layer = make_pool(kind, 2, rng=0, dtype=dtype)
    assert all(p.dtype == dtype for p in layer.parameters())


def test_small_cnn_matches_torch_end_to_end():
    tch = torch()
    rng = np.random.default_rng(9)
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, rng=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3, rng=2),
    )
    ours.double()
    ref = tch.nn.Sequential(
        tch.nn.Conv2d(1, 4, 3, padding=1),
        tch.nn.ReLU(),
        tch.nn.MaxPool2d(2),
        tch.nn.Conv2d(4, 6, 3),
        tch.nn.ReLU(),
        tch.nn.AdaptiveAvgPool2d(1),
        tch.nn.Flatten(),
        tch.nn.Linear(6, 3),
    ).double()
    ours_params = list(ours.parameters())
    ref_params = list(ref.parameters())
    with tch.no_grad():
        for p, q in zip(ours_params, ref_params, strict=True):
            q.copy_(to_torch(p.data))
    x = rng.normal(size=(5, 1, 10, 10))
    labels = rng.integers(0, 3, size=5)
    loss = F.cross_entropy(ours(x), labels)
    ref_loss = tch.nn.functional.cross_entropy(ref(to_torch(x)), to_torch(labels))
    assert_close(loss.data, ref_loss)
    loss.backward()
    ref_loss.backward()
    for p, q in zip(ours_params, ref_params, strict=True):
        assert_close(p.grad, q.grad)


@pytest.mark.parametrize(
    "make",
    [
        "MaxPool2d(2)",
        "MaxPool2d((2, 3))",
        "MaxPool2d(3, 1, 1, 2)",
        "MaxPool2d(3, ceil_mode=True)",
        "AvgPool2d(2)",
        "AvgPool2d((2, 3), padding=1, ceil_mode=True, count_include_pad=False)",
        "AvgPool2d(3, stride=1)",
        "LPPool2d(2, 3)",
        "LPPool2d(2, 3, 1)",
        "AdaptiveAvgPool2d((2, None))",
        "AdaptiveMaxPool2d(3)",
    ],
)
def test_pool_layer_repr_matches_torch(make):
    """torch shows the effective stride (the kernel size when stride is None)."""
    assert repr(eval(f"nn.{make}")) == repr(eval(f"torch().nn.{make}"))


def test_non_torch_pool_layers_show_the_effective_stride():
    assert repr(nn.StochasticPool2d(2)) == "StochasticPool2d(kernel_size=2, stride=2)"
    assert repr(nn.MixedPool2d((2, 3))).startswith(
        "MixedPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0"
    )


def test_max_pool_layer_takes_torch_positional_order():
    # torch.nn.MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
    x = np.random.default_rng(0).normal(size=(1, 1, 7, 7))
    ours = nn.MaxPool2d(3, 2, 0, 1, False, True)
    theirs = torch().nn.MaxPool2d(3, 2, 0, 1, False, True)
    assert ours.ceil_mode and repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ours(x).data, theirs(to_torch(x)).numpy())
    with pytest.raises(ValueError, match="^return_indices"):
        nn.MaxPool2d(2, return_indices=True)


def test_conv2d_layer_algorithm_argument_forces_the_path_with_the_same_result():
    from verigrad._checks import ParameterError

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6)).astype(np.float32)
    layers = {a: nn.Conv2d(3, 4, 3, padding=1, rng=0, algorithm=a) for a in ("im2col", "winograd")}
    ys = {a: layer(x).data for a, layer in layers.items()}
    np.testing.assert_allclose(ys["winograd"], ys["im2col"], rtol=1e-5, atol=1e-5)
    with pytest.raises(ParameterError, match="algorithm"):
        nn.Conv2d(3, 4, 3, algorithm="fft")
