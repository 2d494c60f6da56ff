"""Both conv2d algorithms, forced, against torch; Winograd against im2col; the choice rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verigrad.functional as F
from tests.helpers import assert_close, strict_gradcheck, to_torch, torch
from verigrad import Tensor
from verigrad._checks import ParameterError
from verigrad.functional import conv as conv_module
from verigrad.functional._winograd import winograd_backward, winograd_forward

ALGORITHMS = ["im2col", "winograd"]


@st.composite
def three_by_three(draw):
    """Stride-1 3x3 layers: odd and even sizes (tiles that overhang), batch 1, one channel."""
    n = draw(st.integers(1, 3))
    c = draw(st.sampled_from([1, 2, 3, 5]))
    o = draw(st.sampled_from([1, 2, 4]))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, 3 - 2 * pad[0]), 9))
    w = draw(st.integers(max(1, 3 - 2 * pad[1]), 9))
    return n, c, o, h, w, pad, draw(st.booleans())


def _arrays(cfg, dtype, seed=0):
    n, c, o, h, w, _, bias = cfg
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, 3, 3))]
    if bias:
        arrays.append(rng.normal(size=o))
    return [a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=30, deadline=None)
@given(cfg=three_by_three())
def test_forced_path_matches_torch_forward_and_gradients(cfg, dtype, algorithm):
    arrays = _arrays(cfg, dtype)
    pad = cfg[5]
    ours_in = [Tensor(a, requires_grad=True) for a in arrays]
    ref_in = [to_torch(a, requires_grad=True) for a in arrays]
    y = F.conv2d(*ours_in, padding=pad, algorithm=algorithm)
    ref = torch().nn.functional.conv2d(*ref_in, padding=pad)
    assert y.dtype == dtype
    assert_close(y.data, ref, dtype)
    g = np.random.default_rng(1).normal(size=y.shape).astype(dtype)
    y.backward(g)
    ref.backward(to_torch(g))
    for ours_t, ref_t in zip(ours_in, ref_in, strict=True):
        assert ours_t.grad.dtype == dtype
        assert_close(ours_t.grad, ref_t.grad, dtype)


@settings(max_examples=20, deadline=None)
@given(cfg=three_by_three())
def test_winograd_kernels_match_im2col_kernels(cfg):
    x, w = _arrays(cfg, np.float64)[:2]
    pad = cfg[5]
    pads = (pad[0], pad[0], pad[1], pad[1])
    y_ref, plan_ref = conv_module.conv2d_forward(x, w, (1, 1), pads, keep_columns=True)
    y, plan = winograd_forward(x, w, pads, keep=True)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(2).normal(size=y.shape)
    dx_ref, dw_ref = conv_module.conv2d_backward(g, x, w, plan_ref)
    dx, dw = winograd_backward(g, x, w, plan)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-12, atol=1e-12)
    # without the kept transformed input, the weight gradient rebuilds it
    _, plan = winograd_forward(x, w, pads, keep=False)
    np.testing.assert_allclose(winograd_backward(g, x, w, plan)[1], dw_ref, atol=1e-12)


def test_winograd_gradcheck():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(2, 2, 5, 4)), requires_grad=True)
    w = Tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
    b = Tensor(rng.normal(size=3), requires_grad=True)
    assert strict_gradcheck(
        lambda x, w, b: (F.conv2d(x, w, b, padding=1, algorithm="winograd") ** 2).sum(), x, w, b
    )


def test_large_layer_float32_error_is_direct_convolution_sized():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 64, 16, 16)).astype(np.float32)
    w = (rng.normal(size=(32, 64, 3, 3)) / 24).astype(np.float32)
    exact = F.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1).data
    y = F.conv2d(x, w, padding=1, algorithm="winograd").data
    assert np.abs(y - exact).max() / np.abs(exact).max() < 2e-6


def test_choice_rule_argument_environment_and_errors(monkeypatch):
    choose = conv_module.choose_algorithm
    big, small = ((32, 64, 32, 32), (128, 64, 3, 3)), ((64, 1, 28, 28), (32, 1, 3, 3))
    monkeypatch.delenv(conv_module.ALGORITHM_VARIABLE, raising=False)
    assert choose(None, *big, (1, 1), (1, 1), 1) == "winograd"
    assert choose(None, (64, 32, 14, 14), (64, 32, 3, 3), (1, 1), (1, 1), 1) == "winograd"
    assert choose(None, *small, (1, 1), (1, 1), 1) == "im2col"
    assert choose(None, (64, 16, 14, 14), (32, 16, 3, 3), (1, 1), (1, 1), 1) == "im2col"
    assert choose(None, (8, 64, 3, 3), (64, 64, 3, 3), (1, 1), (1, 1), 1) == "im2col"  # tiny
    assert choose(None, *big, (2, 2), (1, 1), 1) == "im2col"  # stride 2: never
    assert choose("im2col", *big, (1, 1), (1, 1), 1) == "im2col"
    monkeypatch.setenv(conv_module.ALGORITHM_VARIABLE, "winograd")
    assert choose(None, *small, (1, 1), (1, 1), 1) == "winograd"
    assert choose(None, *big, (1, 1), (2, 2), 1) == "im2col"  # where it cannot apply
    monkeypatch.setenv(conv_module.ALGORITHM_VARIABLE, "fft")
    with pytest.raises(ParameterError, match="VERIGRAD_CONV_ALGO"):
        choose(None, *small, (1, 1), (1, 1), 1)
    x, w = np.ones((1, 2, 6, 6)), np.ones((2, 2, 3, 3))
    with pytest.raises(ParameterError, match="algorithm"):
        F.conv2d(x, w, stride=2, algorithm="winograd")
    with pytest.raises(ParameterError, match="algorithm"):
        F.conv2d(x, w, algorithm="direct")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_environment_variable_forces_the_path(monkeypatch, algorithm):
    calls = []
    real = conv_module.winograd_forward

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_module, "winograd_forward", spy)
    monkeypatch.setenv(conv_module.ALGORITHM_VARIABLE, algorithm)
    F.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)))
    assert bool(calls) == (algorithm == "winograd")


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_kernel_passes_split_over_threads_give_the_same_bits(monkeypatch, threads):
    from verigrad.functional import _parallel

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 5, 9, 8)).astype(np.float32)
    w = rng.normal(size=(4, 5, 3, 3)).astype(np.float32)
    g = rng.normal(size=(3, 4, 9, 8)).astype(np.float32)

    def run():
        y, plan = winograd_forward(x, w, (1, 1, 1, 1), keep=True)
        y = y.copy()
        dx, dw = winograd_backward(g, x, w, plan)
        return y, dx.copy(), dw

    monkeypatch.setenv("VERIGRAD_NUM_THREADS", "1")
    expected = run()
    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 0)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", threads)
    for got, want in zip(run(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
