"""optim.registry: the optimizer and schedule names that train and optimize share."""

import numpy as np
import pytest

from verigrad import Tensor
from verigrad._checks import ParameterError
from verigrad.optim import SGD, Adagrad, Adam, AdamW, RMSprop, lr_scheduler
from verigrad.optim.registry import (
    DEFAULT_LR,
    OPTIMIZERS,
    SCHEDULES,
    STEP_SIZE,
    make_optimizer,
    make_scheduler,
)


def _params():
    return [Tensor(np.ones(3), requires_grad=True)]


@pytest.mark.parametrize(
    "name,cls,options",
    [
        ("sgd", SGD, {"momentum": 0.0, "nesterov": False}),
        ("momentum", SGD, {"momentum": 0.9, "nesterov": False}),
        ("nesterov", SGD, {"momentum": 0.9, "nesterov": True}),
        ("adagrad", Adagrad, {}),
        ("rmsprop", RMSprop, {}),
        ("adam", Adam, {}),
        ("adamw", AdamW, {}),
    ],
)
def test_each_name_builds_its_optimizer_with_the_default_lr(name, cls, options):
    opt = make_optimizer(name, _params())
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert group["lr"] == DEFAULT_LR[name]
    for key, value in options.items():
        assert group[key] == value, key
    assert group["weight_decay"] == (1e-2 if name == "adamw" else 0.0)


def test_every_name_has_a_default_lr():
    assert set(DEFAULT_LR) == set(OPTIMIZERS)


def test_lr_and_weight_decay_override_and_param_groups_pass_through():
    p, q = _params(), _params()
    opt = make_optimizer("adamw", [{"params": p}, {"params": q, "lr": 0.5}], 0.1, weight_decay=0.3)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["weight_decay"] == 0.3 for g in opt.param_groups)


def test_schedules():
    assert SCHEDULES == ("none", "step", "cosine")
    opt = make_optimizer("sgd", _params(), 1.0)
    assert make_scheduler("none", opt, 5) is None
    step = make_scheduler("step", opt, 5)
    assert isinstance(step, lr_scheduler.StepLR) and step.step_size == STEP_SIZE
    assert step.gamma == 0.1
    cosine = make_scheduler("cosine", make_optimizer("sgd", _params(), 1.0), 7)
    assert isinstance(cosine, lr_scheduler.CosineAnnealingLR) and cosine.T_max == 7


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda: make_optimizer("lbfgs", _params()), "optimizer"),
        (lambda: make_scheduler("cyclic", make_optimizer("sgd", _params()), 3), "schedule"),
    ],
)
def test_unknown_names_are_refused_naming_the_parameter(call, param):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.param == param
