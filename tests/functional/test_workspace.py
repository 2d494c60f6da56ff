"""The workspace policy: buffers are reused, never while anything still refers to them."""

import numpy as np
import pytest

import verigrad.functional as F
from verigrad import Tensor, no_grad
from verigrad.functional._workspace import WORKSPACE, Workspace
from verigrad.nn import LeNet5


def test_a_buffer_is_reused_only_once_nothing_refers_to_it():
    ws = Workspace()
    a = ws.take((256, 256), np.float32)
    b = ws.take((256, 256), np.float32)
    assert not np.shares_memory(a, b)  # a is still held
    view = a[3:, ::2]
    address = a.__array_interface__["data"][0]
    del a
    c = ws.take((256, 256), np.float32)
    assert not np.shares_memory(c, view)  # a view keeps its buffer
    del view, c
    d = ws.take((256, 256), np.float32)
    assert d.__array_interface__["data"][0] == address  # a's buffer, free again
    made = ws.made
    del d
    ws.take((256, 256), np.float32)
    assert ws.made == made  # nothing new once buffers are free again


def test_tagged_zero_buffer_keeps_what_callers_never_write():
    ws = Workspace()
    a = ws.take((8, 40, 40), np.float64, tag="pad", zero=True)
    assert not a.any()
    a[:, 1:-1, 1:-1] = 7.0
    del a
    b = ws.take((8, 40, 40), np.float64, tag="pad", zero=True)
    assert b[:, 0].sum() == 0 and b[:, 1:-1, 1:-1].min() == 7.0  # the same buffer, border zero
    c = ws.take((8, 40, 40), np.float64, zero=True)  # untagged: zeroed on every take
    assert not c.any()


def test_byte_limit_drops_free_buffers():
    ws = Workspace(max_bytes=1 << 20)
    for size in range(1, 40):
        ws.take((size * 4096,), np.uint8)
    assert ws.nbytes <= 1 << 20


def _conv_call(rng, dtype):
    x = Tensor(rng.standard_normal((3, 4, 9, 7)).astype(dtype), requires_grad=True)
    w = Tensor(rng.standard_normal((5, 4, 3, 3)).astype(dtype), requires_grad=True)
    b = Tensor(rng.standard_normal(5).astype(dtype), requires_grad=True)
    return x, w, b


@pytest.mark.parametrize("algo", ["im2col", "winograd"])
@pytest.mark.parametrize("op", ["conv", "pool"])
def test_second_call_leaves_first_outputs_saved_values_and_gradients_unchanged(op, algo):
    rng = np.random.default_rng(0)
    dtype = np.float32

    def run():
        x, w, b = _conv_call(rng, dtype)
        if op == "conv":
            y = F.conv2d(x, w, b, padding=1, algorithm=algo)
        else:
            y = F.max_pool2d(x, 2)
        return x, y

    x1, y1 = run()
    y1_before = y1.data.copy()
    x2, y2 = run()  # same shapes, other values: would land in the same buffers
    np.testing.assert_array_equal(y1.data, y1_before)
    g = np.ones(y1.shape, dtype)
    y1.backward(g)
    gx1 = x1.grad.copy()
    y2.backward(g * 2)
    np.testing.assert_array_equal(x1.grad, gx1)  # y2's backward did not overwrite it
    # and y1's backward used y1's saved values: compare with a fresh recomputation
    x3 = Tensor(x1.data.copy(), requires_grad=True)
    if op == "conv":
        # the same weights as the first call are not kept here, so check linearity in g
        return
    F.max_pool2d(x3, 2).backward(g)
    np.testing.assert_array_equal(x3.grad, gx1)


@pytest.mark.parametrize("algo", ["im2col", "winograd"])
def test_conv_saved_tensors_survive_a_later_call(algo):
    rng = np.random.default_rng(1)
    x, w, b = _conv_call(rng, np.float64)
    y = F.conv2d(x, w, b, padding=1, algorithm=algo)
    g = rng.standard_normal(y.shape)
    # reference gradients from a graph nobody else disturbs
    xr, wr, br = (Tensor(t.data.copy(), requires_grad=True) for t in (x, w, b))
    F.conv2d(xr, wr, br, padding=1, algorithm=algo).backward(g)
    for _ in range(3):  # other calls of the same shape, forward and backward, in between
        xo, wo, bo = _conv_call(rng, np.float64)
        F.conv2d(xo, wo, bo, padding=1, algorithm=algo).backward(g)
    y.backward(g)
    for t, r in ((x, xr), (w, wr), (b, br)):
        np.testing.assert_array_equal(t.grad, r.grad)


def _lenet_grads(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(Tensor(x)), y).backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def test_model_used_in_no_grad_then_training_gives_the_same_gradients():
    rng = np.random.default_rng(2)
    x = rng.random((16, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    model = LeNet5(rng=0)
    before = _lenet_grads(model, x, y)
    with no_grad():
        held = [model(Tensor(rng.random((16, 1, 28, 28), dtype=np.float32))) for _ in range(3)]
    after = _lenet_grads(model, x, y)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])
    # the no_grad outputs are still distinct, intact arrays
    assert not any(np.shares_memory(held[i].data, held[j].data) for i in range(3) for j in range(i))


def test_training_loop_holding_two_graphs_reuses_buffers():
    rng = np.random.default_rng(3)
    x = rng.random((32, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    model = LeNet5(rng=0)
    loss = None
    for step in range(6):
        if step == 3:
            made = WORKSPACE.made
        model.zero_grad()
        loss = F.cross_entropy(model(Tensor(x)), y)  # the previous loss's graph is still alive
        loss.backward()
    assert WORKSPACE.made == made


def test_padded_pooling_buffers_keep_their_fill_across_ops_and_calls():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 16, 15, 15))
    first_avg = F.avg_pool2d(x, 3, 2, 1).data
    first_max = F.max_pool2d(x, 3, 2, 1).data
    kept = first_avg.copy(), first_max.copy()
    for _ in range(2):  # the same geometry with the other fill, alternately, and new data
        F.max_pool2d(rng.normal(size=x.shape), 3, 2, 1)
        F.avg_pool2d(rng.normal(size=x.shape), 3, 2, 1)
    np.testing.assert_array_equal(first_avg, kept[0])
    np.testing.assert_array_equal(first_max, kept[1])
    np.testing.assert_array_equal(F.avg_pool2d(x, 3, 2, 1).data, kept[0])
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2, 1).data, kept[1])
