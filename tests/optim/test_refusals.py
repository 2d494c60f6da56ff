"""Optimizers refuse what would silently write NaN into the weights or fail later with a
KeyError: non-finite gradients, another optimizer's state, non-finite or complex buffers."""

import numpy as np
import pytest

from verigrad import Tensor
from verigrad.optim import SGD, Adagrad, Adam, AdamW, RMSprop

OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: Adagrad(ps, lr=0.1),
    lambda ps: RMSprop(ps, lr=0.1),
    lambda ps: Adam(ps, lr=0.1),
    lambda ps: AdamW(ps, lr=0.1),
]


def _params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [Tensor(rng.normal(size=(3, 4)).astype(dtype), requires_grad=True) for _ in range(2)]


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_gradient_is_refused_before_any_update(make, bad, dtype):
    params = _params(dtype)
    opt = make(params)
    before = [p.data.copy() for p in params]
    params[0].grad = np.ones((3, 4), dtype)
    params[1].grad = np.ones((3, 4), dtype)
    params[1].grad[2, 1] = bad
    with pytest.raises(
        ValueError,
        match=r"grad: parameter 1 of param_groups\[0\] has a NaN or infinite gradient \(1 entries\)",
    ) as info:
        opt.step()
    assert info.value.param == "grad"
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)  # not even the finite parameter moved
    assert not opt.state or all(not s for s in opt.state.values())


def test_huge_finite_gradient_is_not_mistaken_for_overflow():
    # g . g overflows float32 here, the entries themselves are finite: the exact test decides
    params = _params(np.float32)
    opt = SGD(params, lr=1e-20, momentum=0.9)
    for p in params:
        p.grad = np.full((3, 4), 1e30, np.float32)
    opt.step()
    assert all(np.all(np.isfinite(p.data)) for p in params)


def test_check_finite_can_be_switched_off():
    params = _params()
    opt = SGD(params, lr=0.1)
    opt.check_finite = False
    for p in params:
        p.grad = np.full((3, 4), np.nan)
    opt.step()
    assert np.isnan(params[0].data).all()


def test_adam_refuses_an_sgd_state_naming_state_dict():
    params = _params()
    sgd = SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones((3, 4))
    sgd.step()
    adam = Adam(_params(), lr=0.1)
    with pytest.raises(ValueError, match="state_dict: .*saved by another optimizer") as info:
        adam.load_state_dict(sgd.state_dict())
    assert info.value.param == "state_dict"
    assert adam.state == {}  # nothing changed


@pytest.mark.parametrize(
    "value, message",
    [
        (np.nan, "holds 1 NaN or infinite value"),
        (np.inf, "holds 1 NaN or infinite value"),
        (1j, "expected real numbers"),
    ],
)
def test_load_state_dict_refuses_non_finite_or_complex_buffers(value, message):
    params = _params()
    opt = Adam(params, lr=0.1)
    for p in params:
        p.grad = np.ones((3, 4))
    opt.step()
    state = opt.state_dict()
    buffer = state["state"][0]["exp_avg"]
    state["state"][0]["exp_avg"] = buffer.astype(complex) if isinstance(value, complex) else buffer
    state["state"][0]["exp_avg"][0, 0] = value
    fresh = Adam(_params(), lr=0.1)
    with pytest.raises(ValueError, match=f"state_dict: 'exp_avg' of parameter 0 .*{message}"):
        fresh.load_state_dict(state)
    assert fresh.state == {}
