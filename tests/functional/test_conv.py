"""conv2d and conv_transpose2d: textbook values, torch parity, finite differences, errors."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import verigrad.functional as F
from tests.helpers import assert_backward_dtypes, assert_close, strict_gradcheck, to_torch, torch
from verigrad import Tensor
from verigrad.functional.conv import conv2d_forward

TEXTBOOK_X = np.array(
    [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]],
    dtype=np.float64,
)
TEXTBOOK_K = np.array([[4, 3, 3], [5, 5, 5], [2, 4, 3]], dtype=np.float64)


def test_textbook_example_forward_and_input_gradient():
    x = Tensor(TEXTBOOK_X[None, None], requires_grad=True)
    y = F.conv2d(x, TEXTBOOK_K[None, None])
    np.testing.assert_array_equal(y.data[0, 0], [[109, 92, 72], [108, 85, 74], [110, 74, 79]])
    y.backward(np.ones_like(y.data))
    np.testing.assert_array_equal(
        x.grad[0, 0],
        [
            [4, 7, 10, 6, 3],
            [9, 17, 25, 16, 8],
            [11, 23, 34, 23, 11],
            [7, 16, 24, 17, 8],
            [2, 6, 9, 7, 3],
        ],
    )


@st.composite
def conv_configs(draw, transpose=False):
    groups = draw(st.integers(1, 2))
    cfg = dict(
        n=draw(st.integers(1, 2)),
        groups=groups,
        c=groups * draw(st.integers(1, 2)),
        o=groups * draw(st.integers(1, 3)),
        h=draw(st.integers(1, 7)),
        w=draw(st.integers(1, 7)),
        kh=draw(st.integers(1, 3)),
        kw=draw(st.integers(1, 3)),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 2))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        bias=draw(st.booleans()),
    )
    if transpose:
        cfg["padding"] = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        cfg["output_padding"] = tuple(
            draw(st.integers(0, max(s, d) - 1))
            for s, d in zip(cfg["stride"], cfg["dilation"], strict=True)
        )
    else:
        cfg["padding"] = draw(
            st.one_of(
                st.integers(0, 2),
                st.tuples(st.integers(0, 2), st.integers(0, 2)),
                st.sampled_from(["valid", "same"]),
            )
        )
        if cfg["padding"] == "same":
            cfg["stride"] = (1, 1)
    return cfg


def _padding_pairs(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
    p = (padding, padding) if isinstance(padding, int) else padding
    return (p[0], p[0], p[1], p[1])


def _fits(cfg):
    pads = _padding_pairs(cfg["padding"], (cfg["kh"], cfg["kw"]), cfg["dilation"])
    return (
        cfg["h"] + pads[0] + pads[1] >= cfg["dilation"][0] * (cfg["kh"] - 1) + 1
        and cfg["w"] + pads[2] + pads[3] >= cfg["dilation"][1] * (cfg["kw"] - 1) + 1
    )


def _run_pair(ours_fn, torch_fn, arrays, dtype):
    """Forward and every gradient of ours vs torch under a random upstream gradient."""
    ours_in = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ref_in = [to_torch(a.astype(dtype), requires_grad=True) for a in arrays]
    y = ours_fn(*ours_in)
    ref = torch_fn(*ref_in)
    assert y.dtype == dtype
    assert_close(y.data, ref, dtype)
    assert_backward_dtypes(y)  # no silent float64 inside a float32 backward
    g = np.random.default_rng(1).normal(size=y.shape).astype(dtype)
    y.backward(g)
    ref.backward(to_torch(g))
    for ours_t, ref_t in zip(ours_in, ref_in, strict=True):
        assert ours_t.grad.dtype == dtype
        assert_close(ours_t.grad, ref_t.grad, dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25)
@given(cfg=conv_configs())
def test_conv2d_matches_torch(cfg, dtype):
    assume(_fits(cfg))
    rng = np.random.default_rng(0)
    arrays = [
        rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"])),
        rng.normal(size=(cfg["o"], cfg["c"] // cfg["groups"], cfg["kh"], cfg["kw"])),
    ]
    if cfg["bias"]:
        arrays.append(rng.normal(size=cfg["o"]))
    kw = dict(
        stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"]
    )
    tnn = torch().nn.functional

    def ours(x, w, b=None):
        return F.conv2d(x, w, b, **kw)

    def ref(x, w, b=None):
        return tnn.conv2d(x, w, b, **kw)

    _run_pair(ours, ref, arrays, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25)
@given(cfg=conv_configs(transpose=True))
def test_conv_transpose2d_matches_torch(cfg, dtype):
    ho = (
        (cfg["h"] - 1) * cfg["stride"][0]
        - 2 * cfg["padding"][0]
        + cfg["dilation"][0] * (cfg["kh"] - 1)
        + cfg["output_padding"][0]
        + 1
    )
    wo = (
        (cfg["w"] - 1) * cfg["stride"][1]
        - 2 * cfg["padding"][1]
        + cfg["dilation"][1] * (cfg["kw"] - 1)
        + cfg["output_padding"][1]
        + 1
    )
    assume(ho > 0 and wo > 0)
    rng = np.random.default_rng(0)
    arrays = [
        rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"])),
        rng.normal(size=(cfg["c"], cfg["o"] // cfg["groups"], cfg["kh"], cfg["kw"])),
    ]
    if cfg["bias"]:
        arrays.append(rng.normal(size=cfg["o"]))
    kw = dict(
        stride=cfg["stride"],
        padding=cfg["padding"],
        output_padding=cfg["output_padding"],
        groups=cfg["groups"],
        dilation=cfg["dilation"],
    )
    tnn = torch().nn.functional

    def ours(x, w, b=None):
        return F.conv_transpose2d(x, w, b, **kw)

    def ref(x, w, b=None):
        return tnn.conv_transpose2d(x, w, b, **kw)

    _run_pair(ours, ref, arrays, dtype)


def _pad(x: np.ndarray, pads) -> np.ndarray:
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def conv2d_reference(x, weight, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Plain loop over output pixels: the reference the fast kernel is held to."""
    xp = _pad(x, pads)
    n, c = x.shape[:2]
    o, cg, kh, kw = weight.shape
    ho = (x.shape[2] + pads[0] + pads[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (x.shape[3] + pads[2] + pads[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    og = o // groups
    y = np.zeros((n, o, ho, wo), dtype=np.result_type(x, weight))
    for oc in range(o):
        grp = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[
                    :,
                    grp * cg : (grp + 1) * cg,
                    i * stride[0] : i * stride[0] + dilation[0] * (kh - 1) + 1 : dilation[0],
                    j * stride[1] : j * stride[1] + dilation[1] * (kw - 1) + 1 : dilation[1],
                ]
                y[:, oc, i, j] = (patch * weight[oc]).sum(axis=(1, 2, 3))
    return y


@settings(max_examples=15)
@given(cfg=conv_configs())
def test_fast_kernel_matches_loop_reference(cfg):
    assume(_fits(cfg))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    w = rng.normal(size=(cfg["o"], cfg["c"] // cfg["groups"], cfg["kh"], cfg["kw"]))
    pads = _padding_pairs(cfg["padding"], (cfg["kh"], cfg["kw"]), cfg["dilation"])
    fast, _ = conv2d_forward(x, w, cfg["stride"], pads, cfg["dilation"], cfg["groups"])
    slow = conv2d_reference(x, w, cfg["stride"], pads, cfg["dilation"], cfg["groups"])
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_conv2d_gradcheck():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(2, 4, 5, 4)), requires_grad=True)
    w = Tensor(rng.normal(size=(4, 2, 3, 2)), requires_grad=True)
    b = Tensor(rng.normal(size=4), requires_grad=True)
    weights = rng.normal(size=(2, 4, 3, 2))
    assert strict_gradcheck(
        lambda x, w, b: (
            F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2) * weights
        ).sum(),
        x,
        w,
        b,
    )


def test_conv_transpose2d_gradcheck():
    rng = np.random.default_rng(4)
    x = Tensor(rng.normal(size=(2, 2, 3, 3)), requires_grad=True)
    w = Tensor(rng.normal(size=(2, 3, 2, 3)), requires_grad=True)
    b = Tensor(rng.normal(size=3), requires_grad=True)
    y_shape = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1).shape
    weights = rng.normal(size=y_shape)
    assert strict_gradcheck(
        lambda x, w, b: (
            F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1) * weights
        ).sum(),
        x,
        w,
        b,
    )


def test_unbatched_input_and_float32():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 6)).astype(np.float32)
    w = rng.normal(size=(2, 3, 3, 3)).astype(np.float32)
    y = F.conv2d(x, w, padding="same")
    assert y.shape == (2, 6, 6) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, F.conv2d(x[None], w, padding=1).data[0], rtol=1e-6)


def test_same_padding_even_kernel_puts_extra_on_bottom_right():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 3, 3] = 1.0  # bottom-right pixel
    w = np.ones((1, 1, 2, 2))
    y = F.conv2d(x, w, padding="same").data[0, 0]
    # the extra zero row/column is at the bottom/right, so the last output sees only x[3, 3]
    assert y.shape == (4, 4)
    assert y[3, 3] == 1.0 and y[2, 2] == 1.0 and y[0, 0] == 0.0
    ref = torch().nn.functional.conv2d(to_torch(x), to_torch(w), padding="same")
    assert_close(y, ref[0, 0])


def test_second_backward_through_same_graph_gives_same_gradient():
    rng = np.random.default_rng(6)
    x = Tensor(rng.normal(size=(2, 2, 5, 5)), requires_grad=True)
    w = Tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1).sum()
    y.backward()
    first_x, first_w = x.grad.copy(), w.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first_x)
    np.testing.assert_allclose(w.grad, 2 * first_w)


def test_errors():
    x = np.zeros((1, 4, 5, 5))
    with pytest.raises(ValueError, match=r"7x7.*5x5"):
        F.conv2d(x, np.zeros((2, 4, 7, 7)))
    with pytest.raises(ValueError, match=r"9x9.*7x7"):
        F.conv2d(x, np.zeros((2, 4, 5, 5)), padding=1, dilation=2)
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(x, np.zeros((3, 2, 3, 3)), groups=2)  # out channels not divisible
    with pytest.raises(ValueError, match=r"weight.*groups=2"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), padding="full")
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), padding="same", stride=2)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), padding=-1)
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="x"):
        F.conv2d(np.zeros((5, 5)), np.zeros((2, 4, 3, 3)))
    with pytest.raises(ValueError, match="weight"):
        F.conv2d(x, np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="output size"):
        F.conv_transpose2d(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), padding=1)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(
            np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), stride=2, output_padding=2
        )
    with pytest.raises(ValueError, match="in_channels"):
        F.conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((3, 1, 3, 3)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "c, o, groups, dilation, super_wide",
    [(1, 16, 1, 1, False), (2, 32, 2, 2, False), (4, 6, 1, 1, True), (4, 8, 2, 2, True)],
)
def test_stride_one_input_gradient_layouts_match_torch(c, o, groups, dilation, super_wide, dtype):
    # stride 1 builds dx from super-wide rows when dcols has more rows than g (G K > O) and
    # from plain rows otherwise (a first layer); both must equal torch
    import verigrad.functional.conv as conv_module

    rng = np.random.default_rng(8)
    arrays = [rng.normal(size=(3, c, 22, 6)), rng.normal(size=(o, c // groups, 3, 3))]
    plan = conv_module._Plan(
        arrays[0].shape, arrays[1].shape, (1, 1), (1, 1, 1, 1), (dilation,) * 2, groups
    )
    assert plan.super_wide == super_wide
    # a valid layer's flat channel is much longer than its output rows: plain rows
    valid = conv_module._Plan((3, c, 7, 6), arrays[1].shape, (1, 1), (0,) * 4, (1, 1), groups)
    assert not valid.super_wide
    _run_pair(
        lambda x, w: F.conv2d(x, w, padding=1, dilation=dilation, groups=groups),
        lambda x, w: torch().nn.functional.conv2d(
            x, w, padding=1, dilation=dilation, groups=groups
        ),
        arrays,
        dtype,
    )


@pytest.mark.parametrize("batch, chunk", [(3, 1), (5, 2)])
@pytest.mark.parametrize("stride, groups", [(1, 1), (2, 2), ((1, 2), 1)])
def test_chunked_kernels_match_torch(monkeypatch, stride, groups, batch, chunk):
    import verigrad.functional.conv as conv_module

    init = conv_module._Plan.__init__

    def small_chunks(self, *args, **kwargs):  # 5 samples in chunks of 2: sizes 2, 1, 2
        init(self, *args, **kwargs)
        self.chunk = min(self.chunk, chunk)

    monkeypatch.setattr(conv_module._Plan, "__init__", small_chunks)
    rng = np.random.default_rng(7)
    arrays = [
        rng.normal(size=(batch, 4, 6, 7)),
        rng.normal(size=(6, 4 // groups, 3, 2)),
        rng.normal(size=6),
    ]
    tnn = torch().nn.functional

    def ours(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=1, groups=groups)

    def ref(x, w, b):
        return tnn.conv2d(x, w, b, stride=stride, padding=1, groups=groups)

    _run_pair(ours, ref, arrays, np.float64)
    arrays[1] = rng.normal(size=(4, 6 // groups, 3, 2))
    _run_pair(
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=stride, padding=1, groups=groups),
        lambda x, w, b: tnn.conv_transpose2d(x, w, b, stride=stride, padding=1, groups=groups),
        arrays,
        np.float64,
    )


def test_im2col_matches_sliding_window_view():
    from verigrad.functional.conv import im2col

    x = np.random.default_rng(8).normal(size=(2, 3, 6, 5))
    cols = im2col(x, (3, 2), stride=(1, 1), pads=(1, 1, 0, 0), dilation=(1, 2))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[..., :, ::2]
    # windows (N, C, Ho, Wo, kh, kw) -> (N, C kh kw, Ho Wo)
    expected = windows.transpose(0, 1, 4, 5, 2, 3).reshape(2, 3 * 3 * 2, -1)
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize("stride", [1, 2])
def test_empty_batch_gives_empty_results_and_zero_parameter_gradients_as_torch(stride):
    rng = np.random.default_rng(0)
    x, w, b = np.ones((0, 4, 6, 5)), rng.normal(size=(6, 2, 3, 3)), rng.normal(size=6)
    cases = [
        (F.conv2d, torch().nn.functional.conv2d, w, dict(stride=stride, padding=1, groups=2)),
        (
            F.conv_transpose2d,
            torch().nn.functional.conv_transpose2d,
            rng.normal(size=(4, 3, 3, 3)),
            dict(stride=stride, padding=1, groups=2),
        ),
    ]
    for ours, theirs, weight, kwargs in cases:
        bias = b if ours is F.conv2d else b[:6]
        ts = [Tensor(a, requires_grad=True) for a in (x, weight, bias)]
        y = ours(*ts, **kwargs)
        ref_in = [to_torch(a, requires_grad=True) for a in (x, weight, bias)]
        ref = theirs(*ref_in, **kwargs)
        assert y.shape == tuple(ref.shape) and y.shape[0] == 0
        y.sum().backward()
        ref.sum().backward()
        for t, r in zip(ts, ref_in, strict=True):
            assert t.grad.shape == tuple(r.grad.shape)
            np.testing.assert_array_equal(t.grad, r.grad.numpy())


def test_zero_channels_are_an_error_naming_x():
    with pytest.raises(ValueError, match="^x: conv2d needs at least one channel"):
        F.conv2d(np.ones((1, 0, 5, 5)), np.ones((2, 0, 3, 3)))
    with pytest.raises(ValueError, match="^x: conv_transpose2d needs at least one channel"):
        F.conv_transpose2d(np.ones((1, 0, 5, 5)), np.ones((0, 2, 3, 3)))


_SPLIT_CASES = [
    ((3, 5, 9, 8), (4, 5, 3, 3), 1),  # super-wide input gradient (C kh kw > O)
    ((2, 1, 7, 6), (6, 1, 3, 3), 0),  # rows of L (C kh kw <= O)
    ((2, 3, 8, 8), (5, 3, 5, 5), 2),
    ((5, 6, 14, 14), (16, 6, 5, 5), 0),  # LeNet-5's second layer, 5 samples on 2-3 threads
]


def _conv_run(arrays, padding):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    y = F.conv2d(*ts, padding=padding, algorithm="im2col")
    y.backward(np.linspace(-1, 1, y.data.size, dtype=np.float32).reshape(y.shape))
    return [y.data.copy()] + [t.grad.copy() for t in ts]


def _conv_arrays(x_shape, w_shape):
    rng = np.random.default_rng(6)
    return [
        rng.normal(size=x_shape).astype(np.float32),
        rng.normal(size=w_shape).astype(np.float32),
        rng.normal(size=w_shape[0]).astype(np.float32),
    ]


@pytest.mark.parametrize("threads", ["2", "3"])
@pytest.mark.parametrize("x_shape, w_shape, padding", _SPLIT_CASES)
def test_memory_bound_passes_split_over_threads_give_the_same_bits(
    monkeypatch, threads, x_shape, w_shape, padding
):
    from verigrad.functional import _parallel

    arrays = _conv_arrays(x_shape, w_shape)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", "1")
    expected = _conv_run(arrays, padding)
    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 0)
    monkeypatch.setattr(_parallel, "blas_is_controllable", lambda: False)  # one chunk, BLAS as is
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", threads)
    for got, want in zip(_conv_run(arrays, padding), expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", ["2", "3"])
@pytest.mark.parametrize("x_shape, w_shape, padding", _SPLIT_CASES)
def test_sample_chunks_on_threads_agree_with_one_thread(
    monkeypatch, threads, x_shape, w_shape, padding
):
    """Chunks of samples on separate threads (each with single-threaded GEMMs): the GEMMs'
    column blocks and the weight gradient's sum change, so equal to float32 rounding."""
    from verigrad.functional import _parallel

    if not _parallel.blas_is_controllable():
        pytest.skip("needs threadpoolctl to hold BLAS to one thread")
    monkeypatch.setattr(_parallel, "SPLIT_GEMMS", True)  # off by default (see _parallel)
    arrays = _conv_arrays(x_shape, w_shape)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", "1")
    expected = _conv_run(arrays, padding)
    monkeypatch.setenv("VERIGRAD_NUM_THREADS", threads)
    calls = []
    original = _parallel._run_parts

    def counting(count, work, used):
        calls.append((count, used))
        return original(count, work, used)

    monkeypatch.setattr(_parallel, "_run_parts", counting)
    got = _conv_run(arrays, padding)
    # forward and backward each ran their chunks on min(threads, samples) threads
    used = min(int(threads), x_shape[0])
    assert [c for c in calls if c[1] == used and c[0] >= used][:2] == [(used, used)] * 2
    for g, want in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, want, rtol=2e-6, atol=2e-6 * np.abs(want).max())
