"""Softmax, log-softmax and the cross-entropy family against torch and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import (
    arrays,
    assert_backward_dtypes,
    assert_close,
    backward_with_random_weights,
    shapes,
    strict_gradcheck,
    to_torch,
    torch,
)
from verigrad import Tensor
from verigrad import functional as F


@given(shape=shapes(max_dims=3), data=st.data(), scale=st.sampled_from([1.0, 1e2, 1e4]))
def test_softmax_log_softmax_vs_torch_any_magnitude(shape, data, scale):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    z = data.draw(arrays(shape)) * scale
    w = np.random.default_rng(0).standard_normal(shape)
    tt = torch()
    for ours, theirs in ((F.softmax, tt.softmax), (F.log_softmax, tt.log_softmax)):
        t = Tensor(z, requires_grad=True)
        out = ours(t, axis=axis)
        assert np.all(np.isfinite(out.data))
        (out * w).sum().backward()
        x = to_torch(z, True)
        ref = theirs(x, dim=axis)
        (ref * to_torch(w)).sum().backward()
        assert_close(out.data, ref)
        assert_close(t.grad, x.grad)
        if scale == 1.0:
            assert strict_gradcheck(lambda v, f=ours: (f(v, axis=axis) * w).sum(), Tensor(z))


@settings(max_examples=25)
@given(shape=shapes(max_dims=3), data=st.data(), scale=st.sampled_from([1.0, 10.0, 1e2]))
def test_softmax_log_softmax_float32_vs_torch(shape, data, scale):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    z = data.draw(arrays(shape, np.float32)) * np.float32(scale)
    w = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    tt = torch()
    for ours, theirs in ((F.softmax, tt.softmax), (F.log_softmax, tt.log_softmax)):
        t = Tensor(z, requires_grad=True)
        out = ours(t, axis=axis)
        loss = (out * w).sum()
        assert out.dtype == np.float32 and loss.dtype == np.float32
        assert_backward_dtypes(loss)
        loss.backward()
        x = to_torch(z, True)
        ref = theirs(x, dim=axis)
        (ref * to_torch(w)).sum().backward()
        assert t.grad.dtype == np.float32
        assert_close(out.data, ref, np.float32)
        assert_close(t.grad, x.grad, np.float32)


def test_softmax_minus_infinity_as_torch_and_nan_producing_logits_refused():
    z = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, 2.0], [1e308, -1e308, 0.0]])
    tt = torch()
    np.testing.assert_allclose(F.softmax(z).data, tt.softmax(to_torch(z), 1).numpy())
    np.testing.assert_array_equal(F.log_softmax(z).data, tt.log_softmax(to_torch(z), 1).numpy())
    # torch returns NaN for these rows; verigrad says which argument is at fault
    for bad in ([np.inf, 0.0, 0.0], [-np.inf] * 3, [np.nan, 0.0, 1.0]):
        for fn in (F.softmax, F.log_softmax):
            with pytest.raises(ValueError, match="^x: softmax needs"):
                fn(np.array([bad]))
        with pytest.raises(ValueError, match="^logits: softmax needs"):
            F.cross_entropy(np.array([bad]), np.array([0]))


@st.composite
def ce_case(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    z = draw(arrays((n, c))) * draw(st.sampled_from([1.0, 1e3, 1e4]))
    kind = draw(st.sampled_from(["index", "prob"]))
    if kind == "index":
        target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
        if draw(st.booleans()) and n > 1:
            target[0] = -100  # ignore_index
    else:
        raw = np.abs(draw(arrays((n, c)))) + 0.01
        target = raw / raw.sum(1, keepdims=True)
    weight = (np.abs(draw(arrays((c,)))) + 0.1) if draw(st.booleans()) else None
    smoothing = draw(st.sampled_from([0.0, 0.1, 0.5]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return z, target, weight, smoothing, reduction


@given(case=ce_case())
def test_cross_entropy_vs_torch(case):
    z, target, weight, smoothing, reduction = case
    tt = torch()
    t = Tensor(z, requires_grad=True)
    out = F.cross_entropy(t, target, weight=weight, reduction=reduction, label_smoothing=smoothing)
    w_out = np.random.default_rng(1).standard_normal(out.shape)
    (out * w_out).sum().backward()
    x = to_torch(z, True)
    ref = tt.nn.functional.cross_entropy(
        x,
        to_torch(target),
        weight=None if weight is None else to_torch(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    (ref * to_torch(w_out)).sum().backward()
    assert_close(out.data, ref)
    assert_close(t.grad, x.grad)
    if np.abs(z).max() <= 3:
        assert strict_gradcheck(
            lambda v: (
                F.cross_entropy(
                    v, target, weight=weight, reduction=reduction, label_smoothing=smoothing
                )
                * w_out
            ).sum(),
            Tensor(z),
        )


@settings(max_examples=25)
@given(case=ce_case())
def test_cross_entropy_float32(case):
    z, target, weight, smoothing, reduction = case
    z = z.astype(np.float32)
    target = target.astype(np.float32) if target.dtype.kind == "f" else target
    weight = None if weight is None else weight.astype(np.float32)
    tt = torch()
    t = Tensor(z, requires_grad=True)
    out = F.cross_entropy(t, target, weight=weight, reduction=reduction, label_smoothing=smoothing)
    # a random upstream gradient (per row for "none"), not ones, so a mis-scaled row shows
    assert out.dtype == np.float32
    w_out = backward_with_random_weights(out, np.random.default_rng(8))
    x = to_torch(z, True)
    ref = tt.nn.functional.cross_entropy(
        x,
        to_torch(target),
        weight=None if weight is None else to_torch(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    (ref * to_torch(w_out)).sum().backward()
    assert t.grad.dtype == np.float32
    assert_close(out.data, ref, np.float32)
    assert_close(t.grad, x.grad, np.float32)


def test_cross_entropy_gradient_is_closed_form():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    t = Tensor(z, requires_grad=True)
    loss = F.cross_entropy(t, y)
    assert loss._parents == (t,)  # one fused node, not the log_softmax graph
    loss.backward()
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(t.grad, (F.softmax(z).data - onehot) / 4, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_vs_torch(reduction, dtype):
    rng = np.random.default_rng(3)
    lp = F.log_softmax(rng.standard_normal((5, 4))).data.astype(dtype)
    y = np.array([0, 3, -100, 1, 1])
    w = np.array([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    t = Tensor(lp, requires_grad=True)
    out = F.nll_loss(t, y, weight=w, reduction=reduction)
    assert out.dtype == dtype
    w_out = backward_with_random_weights(out, rng)
    x = to_torch(lp, True)
    ref = torch().nn.functional.nll_loss(x, to_torch(y), weight=to_torch(w), reduction=reduction)
    (ref * to_torch(w_out)).sum().backward()
    assert t.grad.dtype == dtype
    assert_close(out.data, ref, dtype)
    assert_close(t.grad, x.grad, dtype)
    if dtype == np.float64:
        assert strict_gradcheck(
            lambda v: (F.nll_loss(v, y, weight=w, reduction=reduction) * w_out).sum(), Tensor(lp)
        )


UNBATCHED_TARGETS = [
    # (C, target, weight, label_smoothing): a (C,) row of logits, a 0-d class index (or a
    # (C,) probability row for cross_entropy)
    (3, 0, None, 0.0),
    (4, 3, np.array([0.5, 1.0, 2.0, 3.0]), 0.0),
    (5, 2, None, 0.2),
    (4, 1, np.array([0.5, 1.0, 2.0, 3.0]), 0.1),
    (1, 0, None, 0.0),
    (3, "prob", None, 0.0),
    (4, "prob", np.array([0.5, 1.0, 2.0, 3.0]), 0.3),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(UNBATCHED_TARGETS)))
def test_unbatched_cross_entropy_and_nll_loss_vs_torch(case, reduction, dtype):
    c, target, weight, smoothing = UNBATCHED_TARGETS[case]
    rng = np.random.default_rng(10 + case)
    z = (rng.standard_normal(c) * 2).astype(dtype)
    if target == "prob":
        raw = rng.random(c) + 0.1
        target = (raw / raw.sum()).astype(dtype)
    else:
        target = np.array(target)
    weight = None if weight is None else weight.astype(dtype)
    g_out = dtype(rng.standard_normal() * 3)  # the upstream gradient of the scalar loss
    tt = torch()
    # to_torch would make a 0-d index 1-d (np.ascontiguousarray), which torch refuses here
    ttarget = tt.tensor(int(target)) if target.ndim == 0 else to_torch(target)
    tweight = None if weight is None else to_torch(weight)

    def ce(v):
        return F.cross_entropy(
            v, target, weight=weight, reduction=reduction, label_smoothing=smoothing
        )

    losses = [
        (
            ce,
            lambda x: tt.nn.functional.cross_entropy(
                x, ttarget, weight=tweight, reduction=reduction, label_smoothing=smoothing
            ),
            z,
        )
    ]
    if target.dtype.kind == "i" and not smoothing:
        lp = F.log_softmax(z).data

        def nll(v):
            return F.nll_loss(v, target, reduction, weight=weight)

        losses.append(
            (
                nll,
                lambda x: tt.nn.functional.nll_loss(
                    x, ttarget, weight=tweight, reduction=reduction
                ),
                lp,
            )
        )
    for ours, theirs, v in losses:
        t = Tensor(v, requires_grad=True)
        out = ours(t)
        assert out.shape == () and out.dtype == dtype
        loss = out * g_out
        if dtype == np.float32:
            assert_backward_dtypes(loss)
        loss.backward()
        x = to_torch(v, True)
        ref = theirs(x)
        assert tuple(ref.shape) == ()
        (ref * float(g_out)).backward()
        assert t.grad.shape == (c,) and t.grad.dtype == dtype
        assert_close(out.data, ref, dtype)
        assert_close(t.grad, x.grad, dtype)
        if dtype == np.float64:
            assert strict_gradcheck(lambda u, f=ours: f(u) * g_out, Tensor(v))


def test_nll_loss_takes_reduction_third_as_api_md_says():
    lp = F.log_softmax(np.random.default_rng(4).standard_normal((5, 4))).data
    y = np.array([0, 3, 2, 1, 1])
    assert F.nll_loss(lp, y, "sum").item() == pytest.approx(-lp[np.arange(5), y].sum())
    assert F.nll_loss(lp, y, "none").shape == (5,)
    with pytest.raises(TypeError):
        F.nll_loss(lp, y, "mean", np.ones(4))  # weight is keyword-only


def test_cross_entropy_from_probs_degenerate_case_is_inf_not_nan():
    p = np.array([[0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    y = np.array([0, 2])
    t = Tensor(p, requires_grad=True)
    loss = F.cross_entropy_from_probs(t, y, reduction="none")
    assert loss.data[0] == np.inf and np.isclose(loss.data[1], -np.log(0.5))
    assert F.cross_entropy_from_probs(p, y).item() == np.inf
    loss.sum().backward()
    assert t.grad[0, 0] == -np.inf and not np.isnan(t.grad).any()
    # 0 log 0 = 0: a one-hot prediction of the right class costs nothing
    assert F.cross_entropy_from_probs(np.array([[1.0, 0.0]]), np.array([0])).item() == 0.0
    # the same case from logits stays finite and equals the logit gap
    z = np.array([[0.0, 0.0, 800.0]])
    assert np.isclose(F.cross_entropy(z, np.array([0])).item(), 800.0, rtol=1e-15)


def test_cross_entropy_from_probs_matches_log_and_gradcheck():
    rng = np.random.default_rng(4)
    p = F.softmax(rng.standard_normal((3, 4))).data
    y = np.array([1, 0, 3])
    expected = -np.log(p[np.arange(3), y]).mean()
    assert np.isclose(F.cross_entropy_from_probs(p, y).item(), expected, rtol=1e-14)
    soft = F.softmax(rng.standard_normal((3, 4))).data
    assert strict_gradcheck(
        lambda v: F.cross_entropy_from_probs(F.softmax(v), soft),
        Tensor(rng.standard_normal((3, 4))),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "prob", "unbatched"])
def test_cross_entropy_from_probs_vs_torch_each_reduction(kind, reduction, dtype):
    rng = np.random.default_rng(20)
    n, c = 5, 4
    p = F.softmax(rng.standard_normal((n, c))).data  # strictly positive rows summing to 1
    tt = torch()
    if kind == "prob":
        y = F.softmax(rng.standard_normal((n, c)) * 2).data.astype(dtype)
        y[0] = np.eye(c, dtype=dtype)[2]  # a one-hot row: zeros in the target too

        def reference(x):
            per_row = -(to_torch(y) * x.log()).sum(1)
            return {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]

    elif kind == "index":
        y = np.array([1, 0, 3, 3, 2])

        def reference(x):
            return tt.nn.functional.nll_loss(x.log(), to_torch(y), reduction=reduction)

    else:  # one (C,) row and a 0-d class index
        p, y = p[1], np.array(2)

        def reference(x):
            return tt.nn.functional.nll_loss(x.log(), tt.tensor(2), reduction=reduction)

    p = p.astype(dtype)
    t = Tensor(p, requires_grad=True)
    out = F.cross_entropy_from_probs(t, y, reduction=reduction)
    assert out.dtype == dtype
    w_out = backward_with_random_weights(out, rng, scale=2.0)
    x = to_torch(p, True)
    ref = reference(x)
    assert tuple(ref.shape) == out.shape
    (ref * to_torch(w_out)).sum().backward()
    assert t.grad.dtype == dtype and t.grad.shape == p.shape
    assert_close(out.data, ref, dtype)
    assert_close(t.grad, x.grad, dtype)
    if dtype == np.float64:
        # eps 1e-7: a step of 1e-6 could push a row sum past the 1e-6 normalisation check;
        # with p >= 0.02 the truncation error stays ~1e-10
        assert strict_gradcheck(
            lambda v: (F.cross_entropy_from_probs(v, y, reduction=reduction) * w_out).sum(),
            Tensor(p),
            eps=1e-7,
        )


def test_cross_entropy_from_probs_rejects_unnormalised_rows():
    with pytest.raises(ValueError, match="probs: row 1 sums to 0.9"):
        F.cross_entropy_from_probs(np.array([[0.5, 0.5], [0.3, 0.6]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="probs"):
        F.cross_entropy_from_probs(np.array([[1.5, -0.5]]), np.array([0]))


@settings(max_examples=25)
@given(
    shape=shapes(min_dims=0, max_dims=3),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    data=st.data(),
)
def test_mse_loss_vs_torch(shape, reduction, dtype, data):
    a = data.draw(arrays(shape, dtype))
    b = data.draw(arrays(shape, dtype))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = F.mse_loss(ta, tb, reduction=reduction)
    w_out = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    loss = (out * w_out).sum()
    assert out.dtype == dtype and loss.dtype == dtype
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    xa, xb = to_torch(a, True), to_torch(b, True)
    if not shape:  # to_torch makes 0-d arrays 1-d
        xa, xb = (torch().tensor(v.item(), dtype=xa.dtype, requires_grad=True) for v in (a, b))
    ref = torch().nn.functional.mse_loss(xa, xb, reduction=reduction)
    assert tuple(ref.shape) == out.shape
    (ref * to_torch(w_out).reshape(ref.shape)).sum().backward()
    assert ta.grad.dtype == dtype and tb.grad.dtype == dtype
    assert_close(out.data, ref, dtype)
    assert_close(ta.grad, xa.grad.reshape(shape), dtype)
    assert_close(tb.grad, xb.grad.reshape(shape), dtype)
    if dtype == np.float64:
        assert strict_gradcheck(
            lambda u, v: (F.mse_loss(u, v, reduction=reduction) * w_out).sum(),
            Tensor(a, requires_grad=True),
            Tensor(b, requires_grad=True),
        )


def test_mse_loss_constant_target_and_shape_error():
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    t = Tensor(a, requires_grad=True)
    F.mse_loss(t, b).backward()  # an ndarray target: only the input gets a gradient
    np.testing.assert_allclose(t.grad, 2 * (a - b) / a.size, rtol=1e-14)
    with pytest.raises(ValueError, match="target: shape"):
        F.mse_loss(a, b[:2])


def test_loss_errors_name_the_argument():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="target: class indices must be in"):
        F.cross_entropy(z, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"target: expected shape \(2,\)"):
        F.cross_entropy(z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(z, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(z, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(TypeError, match="target"):
        F.cross_entropy(z, np.array(["a", "b"]))


ACTIVATIONS = [(F.relu, "relu"), (F.sigmoid, "sigmoid"), (F.tanh, "tanh")]


@pytest.mark.parametrize("ours,name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activations_vs_torch(ours, name, dtype):
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((4, 5)) * 3).astype(dtype)
    z[0, :3] = [1e4, -1e4, 0.0]
    t = Tensor(z, requires_grad=True)
    out = ours(t)
    loss = (out * 1.5).sum()
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    x = to_torch(z, True)
    ref = getattr(torch(), name)(x)
    (ref * 1.5).sum().backward()
    assert out.dtype == dtype and np.all(np.isfinite(out.data))
    assert_close(out.data, ref, dtype)
    assert_close(t.grad, x.grad, dtype)
    if dtype == np.float64:
        z2 = np.where(np.abs(z) < 1e-3, 0.5, z)[1:]
        assert strict_gradcheck(lambda v: (ours(v) ** 2).sum(), Tensor(z2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(bias, dtype):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    values = [v.astype(dtype) for v in ((x, w, b) if bias else (x, w))]
    tensors = [Tensor(v, requires_grad=True) for v in values]
    out = F.linear(*tensors)
    loss = (out**2).sum()
    assert out.dtype == dtype and loss.dtype == dtype
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    xs = [to_torch(v, True) for v in values]
    ref = torch().nn.functional.linear(*xs)
    (ref**2).sum().backward()
    assert_close(out.data, ref, dtype)
    for ours, theirs in zip(tensors, xs, strict=True):
        assert ours.grad.dtype == dtype
        assert_close(ours.grad, theirs.grad, dtype)
    if dtype == np.float64:
        assert strict_gradcheck(
            lambda *a: (F.linear(*a) ** 2).sum(),
            *(Tensor(v, requires_grad=True) for v in values),
        )
    with pytest.raises(ValueError, match="in_features"):
        F.linear(x, np.ones((5, 3)))


def test_dropout_statistics_and_eval_identity():
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    out = F.dropout(x, p=0.3, rng=0)
    kept = out.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.data)
    assert F.dropout(x, p=0.3, training=False) is x
    with pytest.raises(ValueError, match="p: must be"):
        F.dropout(x, p=1.5)


def test_mean_over_no_samples_is_an_error_not_nan():
    empty, none_kept = np.zeros((0, 3)), np.array([-100, -100])
    with pytest.raises(ValueError, match="^target: reduction='mean' over no samples"):
        F.cross_entropy(empty, np.array([], dtype=int))
    with pytest.raises(ValueError, match="^target: reduction='mean' over no samples"):
        F.cross_entropy(np.zeros((2, 3)), none_kept)
    with pytest.raises(ValueError, match="^target: reduction='mean' over no samples"):
        F.nll_loss(np.zeros((2, 3)), none_kept)
    with pytest.raises(ValueError, match="^target: reduction='mean' over no samples"):
        F.cross_entropy_from_probs(empty, np.array([], dtype=int))
    # the other reductions are defined
    assert F.cross_entropy(empty, np.array([], dtype=int), reduction="sum").item() == 0.0
    assert F.cross_entropy(np.zeros((2, 3)), none_kept, reduction="none").data.tolist() == [0, 0]
