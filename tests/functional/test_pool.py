"""Pooling: torch parity (forward + gradient), finite differences, policies and errors."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import verigrad.functional as F
from tests.helpers import assert_backward_dtypes, assert_close, strict_gradcheck, to_torch, torch
from verigrad import Tensor, no_grad
from verigrad.functional import _maxpool as maxpool_module
from verigrad.functional import pool as pool_module
from verigrad.functional.pool import global_avg_pool2d, global_max_pool2d


@st.composite
def pool_configs(draw, dilation=True, padding=True):
    """Valid pooling configurations only (torch's errors have their own test): padding at most
    half the kernel, and an input covering at least one padded window."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    pad = tuple(draw(st.integers(0, k // 2)) for k in kernel) if padding else (0, 0)
    sides = [
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 8))
        for k, d, p in zip(kernel, dil, pad, strict=True)
    ]
    return dict(
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *sides),
        kernel=kernel,
        # None (= kernel: disjoint windows) in about one draw in eight, so most examples
        # have a stride below the kernel along some axis: overlapping windows
        stride=draw(
            st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3)))
            if draw(st.integers(0, 3)) == 0
            else st.tuples(st.integers(1, 3), st.integers(1, 3))
        ),
        padding=pad,
        dilation=dil,
        ceil_mode=draw(st.booleans()),
        ties=draw(st.booleans()),
    )


def _config(shape, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=True, ties=False):
    return dict(
        shape=shape,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        ties=ties,
    )


#: overlapping windows (stride < kernel) whose last window overhangs the padded input under
#: ceil_mode, along both axes (checked by test_overhang_examples_do_overhang)
OVERHANG = [
    _config((2, 3, 8, 6), (3, 3), (2, 2), (1, 1)),
    _config((1, 2, 8, 10), (3, 3), (2, 2), (1, 0)),
    _config((2, 2, 8, 8), (3, 3), (2, 2), (0, 1), ties=True),
]


def _sizes(cfg):
    """Output sizes (floor mode, torch's ceil mode) of ``cfg``."""
    floor, ceil = [], []
    stride = cfg["stride"] or cfg["kernel"]
    for n, k, s, p, d in zip(
        cfg["shape"][2:], cfg["kernel"], stride, cfg["padding"], cfg["dilation"], strict=True
    ):
        span = n + 2 * p - d * (k - 1) - 1
        floor.append(span // s + 1)
        out = -(-span // s) + 1
        ceil.append(out - 1 if (out - 1) * s >= n + p else out)
    return floor, ceil


def test_overhang_examples_do_overhang():
    for cfg in OVERHANG:
        floor, ceil = _sizes(cfg)
        assert all(c > f for c, f in zip(ceil, floor, strict=True)), cfg
        assert all(s < k for s, k in zip(cfg["stride"], cfg["kernel"], strict=True)), cfg


def _input(cfg, dtype, low=-3.0):
    rng = np.random.default_rng(0)
    if cfg["ties"]:  # few distinct values: exercises the first-maximum rule
        return rng.integers(-2, 3, size=cfg["shape"]).astype(dtype)
    return rng.uniform(low, 3.0, size=cfg["shape"]).astype(dtype)


def _parity(ours_fn, torch_fn, x, dtype):
    """Same forward and input gradient as torch."""
    ref_x = to_torch(x, requires_grad=True)
    ref = torch_fn(ref_x)
    ours_x = Tensor(x, requires_grad=True)
    y = ours_fn(ours_x)
    assert y.dtype == dtype and y.shape == tuple(ref.shape)
    assert_close(y.data, ref, dtype)
    g = np.random.default_rng(1).normal(size=y.shape).astype(dtype)
    # a dilated max window lying wholly in the padding outputs -inf; torch sends its gradient
    # to an arbitrary input entry, we drop it: leave those windows out of the comparison
    g[np.isneginf(y.data)] = 0
    if dtype == np.float32:
        assert_backward_dtypes(y)
    y.backward(g)
    ref.backward(to_torch(g))
    assert_close(ours_x.grad, ref_x.grad, dtype)


DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32])


@DTYPES
@settings(max_examples=30)
@given(cfg=pool_configs())
@example(cfg=OVERHANG[0])
@example(cfg=OVERHANG[2])
@example(cfg=dict(OVERHANG[1], dilation=(2, 1), padding=(1, 1)))
def test_max_pool2d_matches_torch(cfg, dtype):
    args = (cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["ceil_mode"])
    _parity(
        lambda x: F.max_pool2d(x, *args),
        lambda x: torch().nn.functional.max_pool2d(x, *args),
        _input(cfg, dtype),
        dtype,
    )


@DTYPES
@settings(max_examples=30)
@given(cfg=pool_configs(dilation=False), count_include_pad=st.booleans())
@example(cfg=OVERHANG[0], count_include_pad=True)
@example(cfg=OVERHANG[0], count_include_pad=False)
@example(cfg=OVERHANG[1], count_include_pad=True)
@example(cfg=OVERHANG[1], count_include_pad=False)
def test_avg_pool2d_matches_torch(cfg, count_include_pad, dtype):
    args = (cfg["kernel"], cfg["stride"], cfg["padding"], cfg["ceil_mode"], count_include_pad)
    _parity(
        lambda x: F.avg_pool2d(x, *args),
        lambda x: torch().nn.functional.avg_pool2d(x, *args),
        _input(cfg, dtype),
        dtype,
    )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 1.5, 4.0, float("inf")])
@DTYPES
@settings(max_examples=8)
@given(cfg=pool_configs(dilation=False, padding=False))
@example(cfg=dict(OVERHANG[0], padding=(0, 0)))
@example(cfg=dict(OVERHANG[1], padding=(0, 0)))
def test_lp_pool2d_matches_torch_on_positive_input(cfg, p, dtype):
    cfg = dict(cfg, ties=False)
    x = _input(cfg, dtype, low=0.1)  # torch is defined (no NaN) for positive input
    args = (p, cfg["kernel"], cfg["stride"], cfg["ceil_mode"])
    _parity(
        lambda x: F.lp_pool2d(x, *args),
        lambda x: torch().nn.functional.lp_pool2d(x, *args),
        x,
        dtype,
    )


#: torch raises RuntimeError on these, we raise ValueError: padding above half the kernel,
#: an input (1, 2, 4, 3) smaller than the (dilated, padded) window
INVALID = [
    ("max_pool2d", (3, 1, 2)),
    ("max_pool2d", ((2, 3), 1, (0, 2))),
    ("max_pool2d", (5,)),
    ("max_pool2d", (3, 1, 0, 2)),
    ("max_pool2d", ((3, 2), 1, 0, (1, 3))),
    ("avg_pool2d", (3, 1, 2)),
    ("avg_pool2d", (2, 1, (2, 0))),
    ("avg_pool2d", ((1, 5), 1)),
    ("avg_pool2d", ((1, 4), 1, (0, 1))),  # padded input 5 wide: valid (control below)
    ("lp_pool2d", (2, 5)),
    ("lp_pool2d", (2, (1, 4))),
]


@pytest.mark.parametrize("op, args", INVALID)
def test_invalid_windows_raise_where_torch_raises(op, args):
    x = np.zeros((1, 2, 4, 3))
    ours, ref = getattr(F, op), getattr(torch().nn.functional, op)
    if op == "avg_pool2d" and args[0] == (1, 4):  # control: the error rule is not "any padding"
        assert_close(ours(x, *args).data, ref(to_torch(x), *args))
        return
    with pytest.raises(RuntimeError):
        ref(to_torch(x), *args)
    with pytest.raises(ValueError):
        ours(Tensor(x, requires_grad=True), *args)


def test_lp_pool2d_even_p_matches_torch_on_signed_input():
    x = np.random.default_rng(2).normal(size=(2, 2, 5, 6))
    _parity(
        lambda t: F.lp_pool2d(t, 2, 2, ceil_mode=True),
        lambda t: torch().nn.functional.lp_pool2d(t, 2, 2, ceil_mode=True),
        x,
        np.float64,
    )


@DTYPES
@settings(max_examples=25)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    oh=st.integers(1, 9),
    ow=st.integers(1, 9),
    ties=st.booleans(),
)
def test_adaptive_pooling_matches_torch(h, w, oh, ow, ties, dtype):
    x = _input(dict(shape=(2, 2, h, w), ties=ties), dtype)
    tnn = torch().nn.functional
    _parity(
        lambda t: F.adaptive_avg_pool2d(t, (oh, ow)),
        lambda t: tnn.adaptive_avg_pool2d(t, (oh, ow)),
        x,
        dtype,
    )
    _parity(
        lambda t: F.adaptive_max_pool2d(t, (oh, ow)),
        lambda t: tnn.adaptive_max_pool2d(t, (oh, ow)),
        x,
        dtype,
    )


@DTYPES
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 1, 7), (3, 4, 5)])
def test_global_pooling_matches_torch(shape, dtype):
    x = _distinct(shape, -3.0, 3.0, np.random.default_rng(11)).astype(dtype)
    tnn, tch = torch().nn.functional, torch()
    # adaptive pooling to 1x1 and the plain reductions: the same numbers, two references
    _parity(global_avg_pool2d, lambda t: tnn.adaptive_avg_pool2d(t, 1), x, dtype)
    _parity(global_avg_pool2d, lambda t: t.mean(dim=(-2, -1), keepdim=True), x, dtype)
    _parity(global_max_pool2d, lambda t: tnn.adaptive_max_pool2d(t, 1), x, dtype)
    _parity(global_max_pool2d, lambda t: tch.amax(t, dim=(-2, -1), keepdim=True), x, dtype)


def _loop_max_pool(x, k, s, p):
    """Plain loops over windows (reference for the offset-loop kernel)."""
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * p, w + 2 * p), -np.inf)
    xp[:, :, p : p + h, p : p + w] = x
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    y = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = xp[:, :, i * s : i * s + k, j * s : j * s + k].max(axis=(2, 3))
    return y


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 3, 0)])
def test_max_pool_matches_loop_reference(k, s, p):
    x = np.random.default_rng(3).normal(size=(2, 3, 9, 7))
    np.testing.assert_array_equal(F.max_pool2d(x, k, s, p).data, _loop_max_pool(x, k, s, p))


def _distinct(shape, low, high, rng):
    """Distinct values (spaced (high - low) / size apart) in random order: no ties or kinks
    within the finite-difference step."""
    return rng.permutation(np.linspace(low, high, int(np.prod(shape)))).reshape(shape)


def test_gradcheck_every_pooling_op():
    rng = np.random.default_rng(4)
    x = Tensor(_distinct((2, 2, 5, 6), 0.2, 2.0, rng), requires_grad=True)
    # signed, at least 0.03 away from 0 (the kink of |x|)
    signed = Tensor(_distinct((1, 2, 5, 6), -2.0, 2.0, rng), requires_grad=True)
    assert np.abs(signed.data).min() > 0.03
    ops = [
        lambda t: F.max_pool2d(t, 3, 2, 1, dilation=1, ceil_mode=True),
        lambda t: F.max_pool2d(t, 2, 1, 0, dilation=2),
        lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=True),
        lambda t: F.lp_pool2d(t, 2, 2, ceil_mode=True),
        lambda t: F.lp_pool2d(t, 1.5, (2, 3), 1),
        lambda t: F.adaptive_avg_pool2d(t, (3, 4)),
        lambda t: F.adaptive_max_pool2d(t, (4, 4)),
        lambda t: global_avg_pool2d(t),
        lambda t: global_max_pool2d(t),
        lambda t: F.stochastic_pool2d(t, 2, training=False),
        lambda t: F.stochastic_pool2d(t, 3, 2, training=False),  # overlapping windows
        lambda t: F.mixed_pool2d(t, 3, 2, 1, alpha=0.3),
    ]
    for op in ops:
        weights = rng.normal(size=op(x).shape)
        assert strict_gradcheck(lambda t, op=op, wt=weights: (op(t) * wt).sum(), x)
    # |x|^p with an odd and a fractional p on signed input (torch gives NaN there)
    for p in (1, 3, 2.5, 1.5):
        for args in ((2,), ((2, 3), 1, True)):
            weights = rng.normal(size=F.lp_pool2d(signed, p, *args).shape)
            assert strict_gradcheck(
                lambda t, p=p, a=args, wt=weights: (F.lp_pool2d(t, p, *a) * wt).sum(), signed
            )


def test_mixed_pool_value_and_gradcheck_wrt_alpha():
    rng = np.random.default_rng(5)
    x = Tensor(_distinct((2, 2, 6, 6), -2.0, 2.0, rng), requires_grad=True)
    alpha = Tensor(np.array(0.3), requires_grad=True)
    tnn = torch().nn.functional
    tx = to_torch(x.data)
    expected = 0.3 * tnn.max_pool2d(tx, 3, 2, 1) + 0.7 * tnn.avg_pool2d(tx, 3, 2, 1)
    assert_close(F.mixed_pool2d(x, 3, 2, 1, alpha=alpha).data, expected)
    weights = rng.normal(size=expected.shape)
    assert strict_gradcheck(
        lambda t, a: (F.mixed_pool2d(t, 3, 2, 1, alpha=a) * weights).sum(), x, alpha
    )
    # torch: the same mixture of its own max and average pools, gradients w.r.t. x and alpha
    ours_y = F.mixed_pool2d(x, 3, 2, 1, alpha=alpha)
    tx, talpha = to_torch(x.data, requires_grad=True), to_torch(alpha.data, requires_grad=True)
    ref = talpha * tnn.max_pool2d(tx, 3, 2, 1) + (1 - talpha) * tnn.avg_pool2d(tx, 3, 2, 1)
    ours_y.backward(weights)
    ref.backward(to_torch(weights))
    assert_close(x.grad, tx.grad)
    assert_close(alpha.grad, talpha.grad)
    x.grad = alpha.grad = None
    y = (F.mixed_pool2d(x, 2, alpha=alpha) * 1.0).sum()
    y.backward()
    diff = F.max_pool2d(x.data, 2).data - F.avg_pool2d(x.data, 2).data
    np.testing.assert_allclose(alpha.grad, diff.sum(), rtol=1e-12)


def test_max_pool_nan_propagates_and_ties_go_to_first():
    x = np.array([[[[1.0, np.nan, 0.0, 5.0], [2.0, 0.0, 5.0, 5.0]]]])
    y = F.max_pool2d(x, 2)
    assert np.isnan(y.data[0, 0, 0, 0]) and y.data[0, 0, 0, 1] == 5.0
    t = Tensor(np.array([[[[3.0, 3.0], [3.0, 1.0]]]]), requires_grad=True)
    F.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad[0, 0], [[1, 0], [0, 0]])


@pytest.fixture(params=["planes", "views"])
def max_path(request, monkeypatch):
    """Run a test on both max-pool paths for overlapping windows (small outputs take the
    strided views, larger ones the phase planes)."""
    monkeypatch.setattr(maxpool_module, "SMALL_OUTPUT", -1 if request.param == "planes" else 10**9)
    return request.param


@pytest.mark.parametrize("block", [1, 7])
@pytest.mark.parametrize(
    "args",
    [(3, 2, 1, 1, False), (3, 1, 1, 1, False), (3, 2, 1, 2, True), ((3, 2), (2, 1), 1, 1, True)],
)
def test_overlapping_max_pool_blocks_nan_and_ties_match_torch(monkeypatch, block, args, max_path):
    # overlapping windows run on phase planes block by block: a tiny block puts block edges
    # everywhere; few distinct values and NaNs exercise the first-maximum and NaN rules
    monkeypatch.setattr(maxpool_module, "BLOCK", block)
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, size=(2, 3, 11, 9)).astype(np.float64)
    x[0, 1, 4, 5] = x[1, 2, 0, 0] = x[1, 2, 0, 1] = np.nan
    ref_x = to_torch(x, requires_grad=True)
    ref = torch().nn.functional.max_pool2d(ref_x, *args)
    ours_x = Tensor(x, requires_grad=True)
    y = F.max_pool2d(ours_x, *args)
    np.testing.assert_array_equal(y.data, ref.detach().numpy())
    g = rng.normal(size=y.shape)
    y.backward(g)
    ref.backward(to_torch(g))
    np.testing.assert_allclose(ours_x.grad, ref_x.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride", [((3, 2), (2, 2)), (3, 2), ((3, 3), (1, 1))])
def test_max_pool_outputs_are_fresh_arrays(kernel, stride, max_path):
    # with one channel and a crop that is already contiguous (here: no overlap along W, or a
    # single output row) the output must still be a copy, not the scratch buffer behind it
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1, 1, 9, 8)), rng.normal(size=(1, 1, 9, 8)) + 100
    ta = Tensor(a, requires_grad=True)
    ya = F.max_pool2d(ta, kernel, stride)
    saved = ya.data.copy()
    yb = F.max_pool2d(Tensor(b, requires_grad=True), kernel, stride)
    yb.backward(np.ones(yb.shape))
    ya.backward(np.ones(ya.shape))
    assert not np.shares_memory(ya.data, yb.data)
    np.testing.assert_array_equal(ya.data, saved)
    np.testing.assert_array_equal(
        ya.data, torch().nn.functional.max_pool2d(to_torch(a), kernel, stride)
    )


@pytest.mark.parametrize("args", [(3, 2), (2, 2), (3, 1, 1)])
@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_max_pool_non_finite_upstream_gradient_stays_where_it_belongs(args, bad, max_path):
    x = np.random.default_rng(1).normal(size=(2, 2, 7, 7))
    ours_x, ref_x = Tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    y, ref = F.max_pool2d(ours_x, *args), torch().nn.functional.max_pool2d(ref_x, *args)
    g = np.ones(y.shape)
    g[0, 1, 0, 0] = bad
    y.backward(g)
    ref.backward(to_torch(g))
    np.testing.assert_array_equal(ours_x.grad, ref_x.grad.numpy())


def test_max_pool_with_more_than_127_offsets_uses_a_wide_index(max_path):
    # a 12x12 window has 144 offsets: the chosen offset no longer fits in int8
    x = np.random.default_rng(2).integers(-3, 4, size=(2, 2, 15, 14)).astype(np.float64)
    _parity(
        lambda t: F.max_pool2d(t, 12, 1, 1),
        lambda t: torch().nn.functional.max_pool2d(t, 12, 1, 1),
        x,
        np.float64,
    )


def test_ceil_mode_drops_window_starting_in_right_padding():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    # windows would start at -1, 1, 3: the one at 3 starts in the right padding and is dropped
    y = F.max_pool2d(x, 2, 2, padding=1, ceil_mode=True)
    assert y.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[0, 2], [6, 8]])
    # without padding the overhanging window starts inside the input and is kept
    assert F.max_pool2d(x, 2, 2, ceil_mode=True).shape == (1, 1, 2, 2)
    assert F.max_pool2d(x, 2, 2, ceil_mode=False).shape == (1, 1, 1, 1)


def test_avg_pool_ceil_overhang_not_in_divisor():
    x = np.ones((1, 1, 3, 3))
    for include in (True, False):
        np.testing.assert_array_equal(
            F.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=include).data,
            np.ones((1, 1, 2, 2)),
        )
    # with padding 1 and count_include_pad the corner window (1 real + 3 pad) averages to 1/4
    y = F.avg_pool2d(x, 2, 2, padding=1, count_include_pad=True)
    assert y.data[0, 0, 0, 0] == 0.25


def test_lp_pool_zero_window_has_zero_gradient_and_inf_is_max():
    x = Tensor(np.zeros((1, 1, 2, 4)), requires_grad=True)
    with no_grad():
        x.data[0, 0, :, 2:] = [[1.0, -2.0], [0.5, 0.0]]
    y = F.lp_pool2d(x, 2, 2)
    np.testing.assert_allclose(y.data[0, 0, 0], [0.0, np.sqrt(5.25)])
    y.sum().backward()
    assert np.all(np.isfinite(x.grad)) and np.all(x.grad[0, 0, :, :2] == 0)
    np.testing.assert_array_equal(F.lp_pool2d(x.data, float("inf"), 2).data[0, 0, 0], [0.0, 2.0])
    # odd p uses |x|
    np.testing.assert_allclose(
        F.lp_pool2d(x.data, 3, 2).data[0, 0, 0, 1], (1 + 8 + 0.125) ** (1 / 3)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [200.0, 1000.0, 1e6])
@pytest.mark.parametrize("args", [(2,), ((2, 3), 1, True), (3, 2, True)])
def test_lp_pool_large_norm_type_is_finite_and_near_the_max_pool_limit(p, dtype, args):
    """|x|^200 overflows float64 for |x| ~ 10; scaled by the window maximum it never forms."""
    rng = np.random.default_rng(7)
    x = Tensor((rng.normal(size=(2, 3, 7, 8)) * 10).astype(dtype), requires_grad=True)
    y = F.lp_pool2d(x, p, *args)
    limit = F.lp_pool2d(x.data, float("inf"), *args).data
    geo_bound = 6.0 * (2 * 3)  # kernel size times the largest ceil_mode scale, generously
    assert np.all(np.isfinite(y.data)) and y.dtype == dtype
    assert np.all(y.data >= limit * (1 - 1e-6))
    assert np.all(y.data <= limit * geo_bound ** (1 / p) * (1 + 1e-6))
    weights = rng.normal(size=y.shape)
    (y * weights).sum().backward()
    assert np.all(np.isfinite(x.grad))
    if p >= 1000 and args == (2,):  # the gradient tends to max pooling's of |x|
        ref = Tensor(x.data, requires_grad=True)
        (F.max_pool2d(ref.abs(), 2) * weights).sum().backward()
        np.testing.assert_allclose(x.grad, ref.grad, atol=0.05 * np.abs(weights).max())


@pytest.mark.parametrize("p", [20.0, 60.0])
def test_lp_pool_large_norm_type_matches_torch_where_torch_is_finite(p):
    """Values up to 1.5: torch's x^p stays finite in float64, and both agree."""
    rng = np.random.default_rng(8)
    x = rng.uniform(0.1, 1.5, size=(2, 2, 6, 7))
    for args in ((p, 2), (p, (2, 3), 1, True)):
        _parity(
            lambda t, a=args: F.lp_pool2d(t, *a),
            lambda t, a=args: torch().nn.functional.lp_pool2d(t, *a),
            x,
            np.float64,
        )


def test_lp_pool_large_norm_type_gradcheck_and_non_finite_input():
    rng = np.random.default_rng(9)
    x = Tensor(_distinct((1, 2, 5, 6), -20.0, 20.0, rng), requires_grad=True)
    weights = rng.normal(size=F.lp_pool2d(x, 40.0, 2).shape)
    assert strict_gradcheck(lambda t: (F.lp_pool2d(t, 40.0, 2) * weights).sum(), x)
    # inf in a window gives inf (as |x|^p summed would), NaN propagates; no warnings
    z = np.ones((1, 1, 2, 4))
    z[0, 0, 0, 0], z[0, 0, 0, 2] = np.inf, np.nan
    out = F.lp_pool2d(z, 300.0, 2).data[0, 0, 0]
    assert out[0] == np.inf and np.isnan(out[1])


def test_stochastic_training_frequencies_match_probabilities():
    # 10,000 identical windows [[0, 1], [3, 6]]: p = (0, 0.1, 0.3, 0.6)
    window = np.array([[0.0, 1.0], [3.0, 6.0]])
    x = Tensor(np.tile(window, (100, 100))[None, None], requires_grad=True)
    y = F.stochastic_pool2d(x, 2, training=True, rng=np.random.default_rng(12345))
    values, counts = np.unique(y.data, return_counts=True)
    freq = dict(zip(values.tolist(), (counts / y.data.size).tolist(), strict=True))
    assert 0.0 not in freq  # a zero activation is never picked
    # binomial standard error <= sqrt(0.25 / 10000) = 0.005; tolerance 0.02 is 4 of them
    for value, p in [(1.0, 0.1), (3.0, 0.3), (6.0, 0.6)]:
        assert abs(freq[value] - p) < 0.02
    y.sum().backward()  # the gradient goes to exactly the picked entry of each window
    assert x.grad.sum() == y.data.size
    np.testing.assert_array_equal((x.grad > 0), x.grad == 1)
    np.testing.assert_array_equal(x.data[x.grad == 1].sum(), y.data.sum())


def test_stochastic_eval_zero_window_and_negative_input():
    x = Tensor(np.array([[[[1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 0.0, 0.0]]]]), requires_grad=True)
    y = F.stochastic_pool2d(x, 2, training=False)
    np.testing.assert_allclose(y.data[0, 0, 0], [30.0 / 10.0, 0.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad[0, 0, :, :2], (2 * x.data[0, 0, :, :2] - 3.0) / 10.0)
    np.testing.assert_array_equal(x.grad[0, 0, :, 2:], 0.0)
    t = F.stochastic_pool2d(np.zeros((1, 1, 2, 2)), 2, training=True, rng=0)
    assert t.data.item() == 0.0
    # training: the all-zero window outputs 0 and passes no gradient (its drawn index points
    # at an entry of the window, which must not receive the upstream gradient)
    for seed in range(4):
        xt = Tensor(x.data.copy(), requires_grad=True)
        y = F.stochastic_pool2d(xt, 2, training=True, rng=seed)
        assert y.data[0, 0, 0, 1] == 0.0 and y.data[0, 0, 0, 0] in (1.0, 2.0, 3.0, 4.0)
        y.backward(np.array([[[[2.0, 5.0]]]]))
        np.testing.assert_array_equal(xt.grad[0, 0, :, 2:], 0.0)
        np.testing.assert_array_equal(np.sort(xt.grad[0, 0, :, :2].ravel()), [0, 0, 0, 2.0])
        assert xt.grad[0, 0, :, :2][x.data[0, 0, :, :2] == y.data[0, 0, 0, 0]] == 2.0
    with pytest.raises(ValueError, match="non-negative"):
        F.stochastic_pool2d(-np.ones((1, 1, 2, 2)), 2)
    with pytest.raises(ValueError, match="non-negative"):
        F.stochastic_pool2d(np.full((1, 1, 2, 2), np.nan), 2)


def test_unbatched_and_dtype():
    x = np.random.default_rng(6).normal(size=(3, 6, 6)).astype(np.float32)
    for op in (
        lambda t: F.max_pool2d(t, 2),
        lambda t: F.avg_pool2d(t, 2),
        lambda t: F.lp_pool2d(t, 2, 2),
        lambda t: F.adaptive_avg_pool2d(t, 3),
        lambda t: F.adaptive_max_pool2d(t, 3),
        lambda t: F.mixed_pool2d(t, 2),
    ):
        y = op(x)
        assert y.shape == (3, 3, 3) and y.dtype == np.float32
        np.testing.assert_allclose(y.data, op(x[None]).data[0])
    assert global_avg_pool2d(x).shape == (3, 1, 1)


@pytest.mark.parametrize("args", [(3, 1, 2, 2), (2, 2, (2, 1), (3, 2), True)])
def test_dilated_max_pool_padding_up_to_half_the_effective_kernel(args):
    # documented difference: torch allows padding up to half the kernel, we up to half the
    # dilated kernel; the result is max pooling of the input padded with -inf
    x = _distinct((2, 2, 5, 6), -3.0, 3.0, np.random.default_rng(12))
    tnn = torch().nn.functional
    with pytest.raises(RuntimeError):
        tnn.max_pool2d(to_torch(x), *args)
    ph, pw = (args[2], args[2]) if isinstance(args[2], int) else args[2]
    _parity(
        lambda t: F.max_pool2d(t, *args),
        lambda t: tnn.max_pool2d(
            tnn.pad(t, (pw, pw, ph, ph), value=-np.inf), args[0], args[1], 0, *args[3:]
        ),
        x,
        np.float64,
    )


def test_errors():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="half"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match="half"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"5x5.*4x4"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"5x5.*4x4"):
        F.max_pool2d(x, 3, dilation=2)
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_max_pool2d(x, (2, 0))
    with pytest.raises(ValueError, match="x"):
        F.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="norm_type"):
        F.lp_pool2d(x, 0, 2)
    with pytest.raises(ValueError, match="alpha"):
        F.mixed_pool2d(x, 2, alpha=1.5)
    with pytest.raises(TypeError, match="alpha"):
        F.mixed_pool2d(x, 2, alpha="max")
    with pytest.raises(ValueError, match="kernel_size"):
        F.avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="stride"):
        F.max_pool2d(x, 2, stride=0)


def test_nan_windows_match_torch_forward_and_gradient():
    x = np.array([[[[np.nan, 1.0, np.nan, 3.0, 2.0, 0.5], [4.0, np.nan, 0.0, 1.0, 2.0, 2.0]]]])
    tnn = torch().nn.functional
    for ours, ref in [
        (lambda t: F.max_pool2d(t, 2), lambda t: tnn.max_pool2d(t, 2)),
        (
            lambda t: F.max_pool2d(t, (2, 3), 1, (1, 1)),
            lambda t: tnn.max_pool2d(t, (2, 3), 1, (1, 1)),
        ),
        (lambda t: F.adaptive_max_pool2d(t, (1, 2)), lambda t: tnn.adaptive_max_pool2d(t, (1, 2))),
    ]:
        xs, xt = Tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
        y, r = ours(xs), ref(xt)
        np.testing.assert_array_equal(y.data, r.detach().numpy())  # NaN where torch has NaN
        y.sum().backward()
        r.sum().backward()
        np.testing.assert_array_equal(xs.grad, xt.grad.numpy())


# ---------------------------------------------------------------------- empty input
EMPTY_POOLS = {
    "max_pool2d": lambda x: F.max_pool2d(x, 2),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "lp_pool2d": lambda x: F.lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (2, 2)),
    "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, (2, 2)),
    "mixed_pool2d": lambda x: F.mixed_pool2d(x, 2),
    "stochastic_pool2d": lambda x: F.stochastic_pool2d(x, 2, rng=0),
    "stochastic_pool2d_eval": lambda x: F.stochastic_pool2d(x, 2, training=False),
    "global_avg_pool2d": global_avg_pool2d,
    "global_max_pool2d": global_max_pool2d,
}


@pytest.mark.parametrize("shape", [(0, 1, 4, 4), (2, 0, 4, 4), (0, 4, 4)])
@pytest.mark.parametrize("name", list(EMPTY_POOLS))
def test_empty_batch_or_channels_pool_to_an_empty_result(name, shape):
    """torch pools N = 0 or C = 0 to an empty result of the usual shape; so does backward."""
    x = Tensor(np.ones(shape, np.float32), requires_grad=True)
    y = EMPTY_POOLS[name](x)
    spatial = (1, 1) if name.startswith("global") else (2, 2)
    assert y.shape == shape[:-2] + spatial and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.shape == shape and x.grad.dtype == np.float32


@pytest.mark.parametrize("threads", ["1", "2", "3"])
@pytest.mark.parametrize("shape", [(5, 3, 8, 8), (4, 2, 7, 9)])
def test_max_2x2_kernel_matches_reference_kernel_and_splits_over_threads(
    monkeypatch, threads, shape
):
    from verigrad.functional import _parallel
    from verigrad.functional._maxpool import max_2x2_backward, max_2x2_forward

    rng = np.random.default_rng(7)
    x = rng.integers(-3, 3, size=shape).astype(np.float32)  # many ties
    x[0, 0, 0, 1] = x[1, 1, 3, 2] = np.nan
    x[0, 1, 2, :2] = x[0, 1, 3, :2] = np.nan  # a window of NaNs: the last one is chosen
    g = rng.normal(size=(shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(np.float32)
    geo = pool_module._geometry(Tensor(x), "max_pool2d", 2)
    ref_out, index = maxpool_module.max_forward_views(x, geo, True)
    ref_gx = maxpool_module.route(g, index, geo, x.shape)
    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 0)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", threads)
    out, masks = max_2x2_forward(x, geo.out_hw, True)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(max_2x2_backward(g, masks, x.shape), ref_gx)
    out_only, none = max_2x2_forward(x, geo.out_hw, False)
    assert none is None
    np.testing.assert_array_equal(out_only, ref_out)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_max_2x2_follows_a_channel_major_input_layout(monkeypatch, threads):
    """conv2d's output is the NCHW view of a (C, N, H, W') array: 2x2 max pooling keeps that
    layout (outputs, masks, gradient) with the same values as on a C-contiguous copy."""
    from verigrad.functional import _parallel

    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 0)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", threads)
    rng = np.random.default_rng(11)
    wide = rng.normal(size=(3, 4, 8, 9)).astype(np.float32)  # (C, N, H, W'), cropped to W = 7
    wide[0, 0, :2, :2] = 1.0  # a tie
    channel_major = wide.transpose(1, 0, 2, 3)[..., :7]
    plain = np.ascontiguousarray(channel_major)
    g = rng.normal(size=(4, 3, 4, 3)).astype(np.float32)  # C-contiguous upstream gradient
    results = []
    for data in (channel_major, plain):
        x = Tensor(data, requires_grad=True)
        y = F.max_pool2d(x, 2)
        y.backward(g)
        results.append((y.data, x.grad))
    (y_cm, gx_cm), (y_plain, gx_plain) = results
    np.testing.assert_array_equal(y_cm, y_plain)
    np.testing.assert_array_equal(gx_cm, gx_plain)
    assert y_cm.strides[1] > y_cm.strides[0] and y_plain.flags.c_contiguous
