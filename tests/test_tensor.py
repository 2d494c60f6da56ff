"""The chain rule: every Tensor op checked by finite differences and against torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verigrad as vg
from tests.helpers import (
    arrays,
    assert_backward_dtypes,
    assert_close,
    backward_with_random_weights,
    broadcastable_pair,
    shapes,
    strict_gradcheck,
    to_torch,
    torch,
)
from verigrad import Tensor, gradcheck

BINARY = {
    "add": (lambda a, b: a + b),
    "sub": (lambda a, b: a - b),
    "mul": (lambda a, b: a * b),
    "div": (lambda a, b: a / b),
}


def _positive(x):
    return np.abs(x) + 0.5


@given(pair=broadcastable_pair(), op=st.sampled_from(sorted(BINARY)), data=st.data())
def test_binary_ops_broadcast_gradcheck_and_torch(pair, op, data):
    sa, sb = pair
    a = data.draw(arrays(sa))
    b = data.draw(arrays(sb))
    if op == "div":
        b = _positive(b)
    fn = BINARY[op]
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    w = np.random.default_rng(0).standard_normal(np.broadcast_shapes(sa, sb))
    assert strict_gradcheck(lambda x, y: (fn(x, y) * w).sum(), ta, tb)
    out = (fn(ta, tb) * w).sum()
    out.backward()
    xa, xb = to_torch(a, True), to_torch(b, True)
    ref = (fn(xa, xb) * to_torch(w)).sum()
    ref.backward()
    assert_close(out.data, ref)
    assert_close(ta.grad, xa.grad)
    assert_close(tb.grad, xb.grad)
    assert ta.grad.shape == sa and tb.grad.shape == sb


@given(shape=shapes(max_dims=3), data=st.data())
def test_numbers_and_arrays_on_either_side(shape, data):
    a = data.draw(arrays(shape))
    t = Tensor(a, requires_grad=True)
    out = (2.0 * t + 1 - t / 4.0 + (3 - t) * np.float64(0.5) + np.ones(shape) * t).sum()
    out.backward()
    np.testing.assert_allclose(t.grad, np.full(shape, 2 - 0.25 - 0.5 + 1))
    r = (1.0 / (_positive(a) + t * 0)).sum()
    assert isinstance(r, Tensor)
    arr_left = np.ones(shape) - t
    assert isinstance(arr_left, Tensor) and arr_left.requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_keep_dtype(dtype):
    t = Tensor(np.ones(3, dtype=dtype), requires_grad=True)
    for out in (t + 1.0, 2.0 * t, t / 3, 1 - t, t**2, 2.0**t):
        assert out.dtype == dtype


@given(shape=shapes(max_dims=3), p=st.sampled_from([2, 3, 0.5, -1.5]), data=st.data())
def test_pow_scalar_exponent(shape, p, data):
    a = _positive(data.draw(arrays(shape)))
    t = Tensor(a, requires_grad=True)
    assert strict_gradcheck(lambda x: (x**p).sum(), t)
    (t**p).sum().backward()
    x = to_torch(a, True)
    (x**p).sum().backward()
    assert_close(t.grad, x.grad)


def test_pow_tensor_exponent_and_rpow():
    a, b = np.array([0.5, 1.5, 2.0]), np.array([1.5, -0.5, 2.0])
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    assert strict_gradcheck(lambda x, y: (x**y).sum() + (2.0**y).sum(), ta, tb)
    (ta**tb + 2.0**tb).sum().backward()
    xa, xb = to_torch(a, True), to_torch(b, True)
    (xa**xb + 2.0**xb).sum().backward()
    assert_close(ta.grad, xa.grad)
    assert_close(tb.grad, xb.grad)


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((3,), (5, 3, 2)),
    ((5, 2, 3), (3,)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_1d_2d_batched(sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    w = rng.standard_normal(np.shape(a @ b))
    assert strict_gradcheck(lambda x, y: ((x @ y) * w).sum(), ta, tb)
    ((ta @ tb) * w).sum().backward()
    xa, xb = to_torch(a, True), to_torch(b, True)
    ((xa @ xb) * to_torch(w)).sum().backward()
    assert_close(ta.grad, xa.grad)
    assert_close(tb.grad, xb.grad)


def test_matmul_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(pair=broadcastable_pair(), data=st.data(), scalar=st.booleans())
def test_rtruediv_number_or_array_over_tensor(dtype, pair, data, scalar):
    sa, sb = pair
    a = np.float32(2.5) if scalar else data.draw(arrays(sa, dtype))
    b = data.draw(arrays(sb, dtype))
    b = np.where(b < 0, b - 0.5, b + 0.5).astype(dtype)  # |b| >= 0.5, both signs
    shape = np.broadcast_shapes(np.shape(a), sb)
    w = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    numerator = 2.5 if scalar else a  # a Python float, or an ndarray on the left
    tb = Tensor(b, requires_grad=True)
    out = numerator / tb  # ndarray / Tensor and float / Tensor reach Tensor.__rtruediv__
    assert isinstance(out, Tensor) and out.dtype == dtype and out.shape == shape
    loss = (out * w).sum()
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    xb = to_torch(b, True)
    ref = (2.5 if scalar else to_torch(a)) / xb
    (ref * to_torch(w)).sum().backward()
    assert tb.grad.dtype == dtype and tb.grad.shape == sb
    assert_close(out.data, ref.reshape(shape), dtype)
    assert_close(tb.grad, xb.grad.reshape(sb), dtype)
    if dtype == np.float64:
        assert strict_gradcheck(lambda y: ((numerator / y) * w).sum(), Tensor(b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_rmatmul_ndarray_at_tensor(sa, sb, dtype):
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    w = rng.standard_normal(np.shape(a @ b)).astype(dtype)
    tb = Tensor(b, requires_grad=True)
    out = a @ tb  # ndarray.__matmul__ defers (__array_ufunc__ = None) to Tensor.__rmatmul__
    assert isinstance(out, Tensor) and out.dtype == dtype
    loss = (out * w).sum()
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    xb = to_torch(b, True)
    ref = to_torch(a) @ xb
    (ref * to_torch(w)).sum().backward()
    assert tb.grad.dtype == dtype and tb.grad.shape == sb
    assert_close(out.data, ref, dtype)
    assert_close(tb.grad, xb.grad, dtype)
    if dtype == np.float64:
        assert strict_gradcheck(lambda y: ((a @ y) * w).sum(), Tensor(b))


@st.composite
def shape_and_axis(draw):
    shape = draw(shapes(max_dims=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.sets(st.integers(0, ndim - 1), min_size=1)))
    return shape, axis


def _torch_extreme(x, op, axis, keepdims):
    """torch's counterpart of ``Tensor.max/min(axis, keepdims)`` with the same tie rule:
    ``torch.max(dim)`` for one int axis, ``torch.max()`` / ``torch.amax`` otherwise."""
    if isinstance(axis, int):
        return getattr(x, op)(dim=axis, keepdim=keepdims).values
    if axis is None or not x.ndim:
        ref = getattr(x, op)()
        return ref.reshape((1,) * x.ndim) if keepdims else ref
    return getattr(torch(), "a" + op)(x, dim=axis, keepdim=keepdims)


@given(
    sa=shape_and_axis(),
    keepdims=st.booleans(),
    op=st.sampled_from(["sum", "mean", "max", "min"]),
    data=st.data(),
)
def test_reductions(sa, keepdims, op, data):
    shape, axis = sa
    a = data.draw(arrays(shape))
    t = Tensor(a, requires_grad=True)
    out = getattr(t, op)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(
        out.data,
        getattr(np, {"max": "amax", "min": "amin"}.get(op, op))(a, axis=axis, keepdims=keepdims),
    )
    w = np.random.default_rng(2).standard_normal(out.shape)
    (out * w).sum().backward()
    if op in ("sum", "mean"):
        assert strict_gradcheck(
            lambda x: (getattr(x, op)(axis=axis, keepdims=keepdims) * w).sum(), Tensor(a)
        )
        x = to_torch(a, True)
        dims = tuple(range(a.ndim)) if axis is None else axis
        ref = getattr(x, op)(dim=dims, keepdim=keepdims) if a.ndim else getattr(x, op)()
        (ref * to_torch(w)).sum().backward()
        assert_close(t.grad, x.grad)
    else:
        # torch's tie rule: torch.max(dim) for one int axis (the first extreme entry gets the
        # gradient), torch.max() / torch.amax for all axes or a tuple (ties share it evenly)
        x = to_torch(a, True)
        ref = _torch_extreme(x, op, axis, keepdims)
        (ref * to_torch(w)).sum().backward()
        assert_close(t.grad, x.grad)


@settings(max_examples=25)
@given(sa=shape_and_axis(), keepdims=st.booleans(), data=st.data())
def test_max_min_float32_vs_torch(sa, keepdims, data):
    shape, axis = sa
    a = data.draw(arrays(shape, np.float32))
    for op in ("max", "min"):
        t = Tensor(a, requires_grad=True)
        out = getattr(t, op)(axis=axis, keepdims=keepdims)
        assert out.dtype == np.float32
        w = backward_with_random_weights(out, np.random.default_rng(2))
        x = to_torch(a, True)
        ref = _torch_extreme(x, op, axis, keepdims)
        (ref * to_torch(w).reshape(ref.shape)).sum().backward()
        assert t.grad.dtype == np.float32
        assert_close(out.data, ref.reshape(out.shape), np.float32)
        assert_close(t.grad, x.grad.reshape(shape), np.float32)


def test_max_ties_go_to_first_and_match_torch_with_dim():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    t = Tensor(a, requires_grad=True)
    t.max(axis=1).sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 1, 0], [1, 0, 0]])
    x = to_torch(a, True)
    x.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(t.grad, x.grad.numpy())
    t2 = Tensor(a, requires_grad=True)
    t2.min(axis=None).backward()
    np.testing.assert_array_equal(t2.grad, [[0, 0, 0], [0, 0, 1]])


def test_max_ties_over_all_axes_or_a_tuple_share_the_gradient_as_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 3.0]])
    t = Tensor(a, requires_grad=True)
    t.max().backward()
    np.testing.assert_allclose(t.grad, [[0, 1 / 3, 1 / 3], [0, 0, 1 / 3]])
    x = to_torch(a, True)
    x.max().backward()
    assert_close(t.grad, x.grad)
    t2, x2 = Tensor(a, requires_grad=True), to_torch(a, True)
    t2.min(axis=(1,)).sum().backward()
    torch().amin(x2, dim=(1,)).sum().backward()
    np.testing.assert_allclose(t2.grad, [[1, 0, 0], [0.5, 0.5, 0]])
    assert_close(t2.grad, x2.grad)
    # a NaN maximum: the NaN entries share the gradient, as torch
    t3 = Tensor(np.array([1.0, np.nan, np.nan]), requires_grad=True)
    t3.max().backward()
    np.testing.assert_allclose(t3.grad, [0, 0.5, 0.5])


@given(shape=shapes(max_dims=4), data=st.data())
def test_reshape_transpose(shape, data):
    a = data.draw(arrays(shape))
    perm = data.draw(st.permutations(range(len(shape))))
    t = Tensor(a, requires_grad=True)
    w = np.random.default_rng(3).standard_normal(a.size)
    assert strict_gradcheck(lambda x: (x.transpose(*perm).reshape(-1) * w).sum(), t)
    (t.transpose(*perm).reshape(-1) * w).sum().backward()
    x = to_torch(a, True)
    (x.permute(*perm).reshape(-1) * to_torch(w)).sum().backward()
    assert_close(t.grad, x.grad)
    assert t.T.shape == a.T.shape


UNARY = {
    "exp": (lambda x: x.exp(), lambda x: x.exp(), False),
    "log": (lambda x: x.log(), lambda x: x.log(), True),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), True),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), False),
    "clip": (lambda x: x.clip(-1.0, 0.5), lambda x: x.clamp(-1.0, 0.5), False),
    "neg": (lambda x: -x, lambda x: -x, False),
}


@given(shape=shapes(max_dims=3), name=st.sampled_from(sorted(UNARY)), data=st.data())
def test_unary(shape, name, data):
    ours, theirs, positive = UNARY[name]
    a = data.draw(arrays(shape))
    a = _positive(a) if positive else a
    if name in ("abs", "clip"):  # keep away from the kinks for finite differences
        a = np.where(np.abs(a) < 1e-3, 0.1, a)
        a = np.where(np.abs(a - 0.5) < 1e-3, 0.6, a)
        a = np.where(np.abs(a + 1.0) < 1e-3, -1.1, a)
    t = Tensor(a, requires_grad=True)
    w = np.random.default_rng(4).standard_normal(shape)
    assert strict_gradcheck(lambda x: (ours(x) * w).sum(), t)
    (ours(t) * w).sum().backward()
    x = to_torch(a, True)
    (theirs(x) * to_torch(w)).sum().backward()
    assert_close(ours(Tensor(a)).data, theirs(to_torch(a)))
    assert_close(t.grad, x.grad)


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=15)
@given(shape=shapes(max_dims=3), data=st.data())
def test_unary_float32_vs_torch(name, shape, data):
    ours, theirs, positive = UNARY[name]
    a = data.draw(arrays(shape, np.float32))
    a = _positive(a).astype(np.float32) if positive else a
    t = Tensor(a, requires_grad=True)
    w = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    out = ours(t)
    loss = (out * w).sum()
    assert out.dtype == np.float32 and loss.dtype == np.float32
    assert_backward_dtypes(loss)
    loss.backward()
    x = to_torch(a, True)
    ref = theirs(x)
    (ref * to_torch(w)).sum().backward()
    assert t.grad.dtype == np.float32
    # torch's rules at the kinks (abs'(0) = 0, clip passes the gradient at a bound) are
    # verigrad's, so no entry needs to be kept away from them here
    assert_close(out.data, ref.reshape(shape), np.float32)
    assert_close(t.grad, x.grad.reshape(shape), np.float32)


def test_clip_gradient_at_the_bounds_is_torchs():
    a = np.array([-1.0, 0.5, 0.0, 2.0, -3.0])
    t = Tensor(a, requires_grad=True)
    t.clip(-1.0, 0.5).sum().backward()
    x = to_torch(a, True)
    x.clamp(-1.0, 0.5).sum().backward()
    np.testing.assert_array_equal(t.grad, x.grad.numpy())


def test_getitem_basic_and_repeated_integer_indices():
    a = np.arange(12.0).reshape(3, 4)
    t = Tensor(a, requires_grad=True)
    (t[1:, ::2].sum() + t[np.array([0, 0, 2]), np.array([1, 1, 3])].sum() + t[0][3] * 2).backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] += 1
    expected[0, 1] += 2
    expected[2, 3] += 1
    expected[0, 3] += 2
    np.testing.assert_array_equal(t.grad, expected)
    x = to_torch(a, True)
    (x[1:, ::2].sum() + x[[0, 0, 2], [1, 1, 3]].sum() + x[0][3] * 2).backward()
    np.testing.assert_array_equal(t.grad, x.grad.numpy())
    mask = a > 5
    t2 = Tensor(a, requires_grad=True)
    t2[Tensor(mask)].sum().backward()
    np.testing.assert_array_equal(t2.grad, mask.astype(float))


_MASK = np.random.default_rng(13).random((3, 4, 5)) > 0.6
GETITEM_INDICES = [
    (1, slice(None), 2),
    slice(1, None),
    (slice(None), slice(0, 4, 2), slice(-2, None)),
    (Ellipsis, 3),
    (None, 1, slice(1, 3)),
    np.array([0, 0, 2, 0]),  # repeated integer indices add up
    [2, 0, 2],
    (np.array([0, 0, 2]), np.array([1, 1, 3])),
    (np.array([0, 2, 0]), slice(None), np.array([1, 1, 4])),  # advanced axes split by a slice
    (slice(None), np.array([[0, 1], [1, 1]])),
    (Ellipsis, np.array([4, 4, 0])),
    (np.array([-1, -1]), slice(1, 3), 0),
    _MASK,  # a full boolean mask
    np.array([True, False, True]),  # a mask over the first axis
    (np.array([True, False, True]), slice(1, 3)),
    (slice(None), np.array([False, True, True, False])),
    Tensor(np.array([1, 1, 0])),  # a Tensor as the index
    (slice(None, None, -1), 1),  # a negative step: torch has none, finite differences only
]


def _index_for_torch(index):
    items = index if isinstance(index, tuple) else (index,)
    tt = torch()
    out = tuple(
        tt.from_numpy(i.data if isinstance(i, Tensor) else i)
        if isinstance(i, (np.ndarray, Tensor))
        else i
        for i in items
    )
    return out if isinstance(index, tuple) else out[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(GETITEM_INDICES)))
def test_getitem_gradcheck_and_torch(case, dtype):
    index = GETITEM_INDICES[case]
    rng = np.random.default_rng(14)
    a = rng.standard_normal((3, 4, 5)).astype(dtype)
    t = Tensor(a, requires_grad=True)
    out = t[index]
    expected = a[index.data if isinstance(index, Tensor) else index]
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(out.shape).astype(dtype)
    loss = (out * w).sum()
    if dtype == np.float32:
        assert_backward_dtypes(loss)
    loss.backward()
    assert t.grad.dtype == dtype and t.grad.shape == a.shape
    # the gradient scatters w back, adding where an entry was picked more than once
    scattered = np.zeros_like(a)
    np.add.at(scattered, index.data if isinstance(index, Tensor) else index, w)
    assert_close(t.grad, scattered, dtype)
    if case != len(GETITEM_INDICES) - 1:
        x = to_torch(a, True)
        ref = x[_index_for_torch(index)]
        assert tuple(ref.shape) == out.shape
        (ref * to_torch(w).reshape(ref.shape)).sum().backward()
        assert_close(t.grad, x.grad, dtype)
    if dtype == np.float64:
        assert strict_gradcheck(lambda v: (v[index] * w).sum(), Tensor(a))


@pytest.mark.parametrize(
    "source,via", [(np.float32, np.float64), (np.float64, np.float32), (np.float32, np.float32)]
)
def test_astype_round_trip_vs_torch(source, via):
    rng = np.random.default_rng(15)
    a = rng.standard_normal((3, 4)).astype(source)
    w = rng.standard_normal((3, 4)).astype(via)
    tt = torch()
    t = Tensor(a, requires_grad=True)
    inner = t.astype(via)
    assert inner.dtype == via and inner.requires_grad
    np.testing.assert_array_equal(inner.data, a.astype(via))
    out = ((inner.exp() * w).astype(source) * 2).sum()  # source -> via -> source
    assert out.dtype == source
    assert_backward_dtypes(out)  # astype's backward hands each parent its own dtype
    out.backward()
    x = to_torch(a, True)
    tdtype = {np.float32: tt.float32, np.float64: tt.float64}
    ref = ((x.to(tdtype[via]).exp() * to_torch(w)).to(tdtype[source]) * 2).sum()
    ref.backward()
    assert t.grad.dtype == source and x.grad.dtype == tdtype[source]
    coarse = np.float32 if np.float32 in (source, via) else np.float64
    assert_close(out.data, ref, coarse)
    assert_close(t.grad, x.grad, coarse)


def test_astype_gradcheck():
    rng = np.random.default_rng(16)
    a, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    # a float64 leaf through a wider (long double) and a same-width cast: finite differences
    # stay exact enough for the strict tolerance; a float32 detour would not
    assert strict_gradcheck(
        lambda v: ((v.astype(np.longdouble) ** 3) * w).sum().astype(np.float64), Tensor(a)
    )
    assert strict_gradcheck(lambda v: (v.astype(np.float64).exp() * w).sum(), Tensor(a))
    assert not Tensor(a).astype(np.float32).requires_grad


def test_reused_node_deep_chain_and_accumulation():
    a = Tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    c.backward()  # gradients accumulate across backward calls
    assert a.grad == 8.0
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    z = Tensor(2.0, requires_grad=True)
    (z * z * z).backward()  # one node used as both operands
    assert z.grad == 12.0


def test_backward_on_non_scalar_needs_grad():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\)"):
        (t * 2).backward()
    (t * 2).backward(np.ones((2, 3)))
    np.testing.assert_array_equal(t.grad, 2 * np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()


def test_comparisons_give_no_gradient():
    t = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    m = t > 0
    assert not m.requires_grad and m.dtype == bool
    out = (t * (t > 0)).sum() + (t == 3.0).sum() * 0
    out.backward()
    np.testing.assert_array_equal(t.grad, [1, 0, 1])
    assert (t <= 1.0).data.tolist() == [True, True, False]
    assert hash(t)  # tensors stay usable as dict keys


def test_no_grad_and_detach():
    t = Tensor(np.ones(3), requires_grad=True)
    with vg.no_grad():
        u = t * 2
        with vg.enable_grad():
            v = t * 2
    assert not u.requires_grad and v.requires_grad
    d = (t * 2).detach()
    assert not d.requires_grad and d.is_leaf

    @vg.no_grad()
    def f(x):
        return x * 3

    assert not f(t).requires_grad
    assert vg.is_grad_enabled()


def test_constructor_errors():
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="data"):
        Tensor("abc")
    with pytest.raises(ValueError, match="item"):
        Tensor(np.ones(2)).item()
    assert Tensor([1.0, 2.0]).shape == (2,) and Tensor(3.0).item() == 3.0
    assert vg.tensor([1.0], requires_grad=True).requires_grad


@settings(max_examples=15)
@given(shape=shapes(min_dims=1, max_dims=3), data=st.data())
def test_float32_parity(shape, data):
    a = data.draw(arrays(shape, dtype=np.float32))
    a = np.where(np.abs(a) < 1e-3, np.float32(0.1), a)
    b = np.abs(data.draw(arrays(shape, dtype=np.float32))) + np.float32(0.5)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = ((ta * tb).exp() / tb - ta.abs().sqrt() * tb.log()).sum()
    out.backward()
    xa, xb = to_torch(a, True), to_torch(b, True)
    ref = ((xa * xb).exp() / xb - xa.abs().sqrt() * xb.log()).sum()
    ref.backward()
    assert out.dtype == np.float32 and ta.grad.dtype == np.float32
    assert_close(out.data, ref, np.float32)
    mask = np.abs(a) > 1e-3  # d|x|^0.5 blows up at 0
    assert_close(ta.grad[mask], xa.grad.numpy()[mask], np.float32, rtol=1e-4)
    assert_close(tb.grad, xb.grad, np.float32, rtol=1e-4)


def test_gradcheck_catches_a_wrong_backward():
    from verigrad.tensor import make_node

    def bad_square(x):
        return make_node(x.data**2, (x,), lambda g: (g * x.data,))  # should be 2 x

    with pytest.raises(vg.GradcheckError, match=r"input 0 .*worst entry"):
        gradcheck(lambda x: bad_square(x).sum(), Tensor(np.array([1.0, 2.0]), requires_grad=True))
    assert torch() is not None


def test_leaf_gradients_never_alias_each_other_or_the_caller():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    upstream = np.array([1.0, 2.0, 3.0])
    (a + b).backward(upstream)
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, upstream)
    a.grad[0] = 100.0
    assert b.grad[0] == 1.0 and upstream[0] == 1.0
    c = Tensor(np.ones((2, 2)), requires_grad=True)
    c.reshape(4).sum().backward()  # a view and a broadcast reach the leaf: copied
    assert c.grad.flags.writeable and c.grad.flags.owndata


# ---------------------------------------------------------------------------- the engine
def test_tensor_reexports_the_engine():
    import importlib

    import verigrad.autograd as engine

    module = importlib.import_module("verigrad.tensor")  # vg.tensor is the function

    for name in ("no_grad", "enable_grad", "is_grad_enabled", "topological_order"):
        assert getattr(module, name) is getattr(engine, name) and name in module.__all__
    for name in module.__all__:
        assert hasattr(module, name), name


def test_backpropagate_visits_each_node_once_with_its_summed_gradient():
    from verigrad.autograd import backpropagate

    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    constant = Tensor(np.array([5.0, 5.0]))
    b = a + a  # two paths into a
    c = (b * b + constant).sum()
    seen = []

    def visit(node, g):
        seen.append((node, np.array(g)))
        return g

    backpropagate(c, np.ones_like(c.data), visit)
    nodes = [node for node, _ in seen]
    assert nodes[0] is c and nodes[-1] is a and len(nodes) == len({id(n) for n in nodes})
    assert all(node is not constant for node in nodes)  # constants are not visited
    grads = {id(node): g for node, g in seen}
    np.testing.assert_array_equal(grads[id(b)], 2 * b.data)
    np.testing.assert_array_equal(grads[id(a)], 4 * b.data)  # dc/da = 2 * 2b
    assert a.grad is None  # the engine writes no .grad; Tensor.backward does


def test_what_visit_returns_is_what_the_parents_receive():
    from verigrad.autograd import backpropagate

    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = a * 3.0
    received = {}

    def visit(node, g):
        received[id(node)] = g
        return g * 10 if node is b else g

    backpropagate(b, np.ones(2), visit)
    np.testing.assert_array_equal(received[id(a)], [30.0, 30.0])
