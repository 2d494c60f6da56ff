"""Softmax, log-softmax and the cross-entropy family against torch and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import arrays, assert_close, shapes, to_torch, torch
from verigrad import Tensor, gradcheck
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
            assert gradcheck(lambda v, f=ours: (f(v, axis=axis) * w).sum(), Tensor(z))


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
        assert gradcheck(
            lambda v: (
                F.cross_entropy(
                    v, target, weight=weight, reduction=reduction, label_smoothing=smoothing
                )
                * w_out
            ).sum(),
            Tensor(z),
        )


@settings(max_examples=10)
@given(case=ce_case())
def test_cross_entropy_float32(case):
    z, target, weight, smoothing, reduction = case
    z = z.astype(np.float32)
    tt = torch()
    t = Tensor(z, requires_grad=True)
    out = F.cross_entropy(t, target, weight=weight, reduction=reduction, label_smoothing=smoothing)
    out.sum().backward()
    x = to_torch(z, True)
    ref = tt.nn.functional.cross_entropy(
        x,
        to_torch(target.astype(np.float32) if target.dtype.kind == "f" else target),
        weight=None if weight is None else to_torch(weight.astype(np.float32)),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    ref.sum().backward()
    assert out.dtype == np.float32 and t.grad.dtype == np.float32
    assert_close(out.data, ref, np.float32, rtol=1e-4)
    assert_close(t.grad, x.grad, np.float32, rtol=1e-4)


def test_cross_entropy_gradient_is_closed_form():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    t = Tensor(z, requires_grad=True)
    loss = F.cross_entropy(t, y)
    assert loss._parents == (t,)  # one fused node, not the log_softmax graph
    loss.backward()
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(t.grad, (F.softmax(z).data - onehot) / 4, rtol=1e-14, atol=1e-15)


def test_nll_loss_vs_torch():
    rng = np.random.default_rng(3)
    lp = F.log_softmax(rng.standard_normal((5, 4))).data
    y = np.array([0, 3, -100, 1, 1])
    w = np.array([1.0, 2.0, 0.5, 3.0])
    for reduction in ("mean", "sum", "none"):
        t = Tensor(lp, requires_grad=True)
        out = F.nll_loss(t, y, weight=w, reduction=reduction)
        out.sum().backward()
        x = to_torch(lp, True)
        ref = torch().nn.functional.nll_loss(
            x, to_torch(y), weight=to_torch(w), reduction=reduction
        )
        ref.sum().backward()
        assert_close(out.data, ref)
        assert_close(t.grad, x.grad)
    assert gradcheck(lambda v: F.nll_loss(v, y, weight=w), Tensor(lp))


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
    assert gradcheck(
        lambda v: F.cross_entropy_from_probs(F.softmax(v), soft),
        Tensor(rng.standard_normal((3, 4))),
    )


def test_cross_entropy_from_probs_rejects_unnormalised_rows():
    with pytest.raises(ValueError, match="probs: row 1 sums to 0.9"):
        F.cross_entropy_from_probs(np.array([[0.5, 0.5], [0.3, 0.6]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="probs"):
        F.cross_entropy_from_probs(np.array([[1.5, -0.5]]), np.array([0]))


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
    (out * 1.5).sum().backward()
    x = to_torch(z, True)
    ref = getattr(torch(), name)(x)
    (ref * 1.5).sum().backward()
    assert out.dtype == dtype and np.all(np.isfinite(out.data))
    assert_close(out.data, ref, dtype)
    assert_close(t.grad, x.grad, dtype)
    if dtype == np.float64:
        z2 = np.where(np.abs(z) < 1e-3, 0.5, z)[1:]
        assert gradcheck(lambda v: (ours(v) ** 2).sum(), Tensor(z2))


def test_linear_vs_torch():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    tx, tw, tb = (Tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.linear(tx, tw, tb)
    (out**2).sum().backward()
    xs = [to_torch(v, True) for v in (x, w, b)]
    ref = torch().nn.functional.linear(*xs)
    (ref**2).sum().backward()
    assert_close(out.data, ref)
    for ours, theirs in zip((tx, tw, tb), xs, strict=True):
        assert_close(ours.grad, theirs.grad)
    assert gradcheck(
        lambda a, c, d: (F.linear(a, c, d) ** 2).sum(),
        *(Tensor(v, requires_grad=True) for v in (x, w, b)),
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
