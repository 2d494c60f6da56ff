"""verigrad.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr sequences."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tests.helpers import torch
from verigrad import Tensor
from verigrad.optim import SGD, Adam
from verigrad.optim import lr_scheduler as ours_sched

LRS = (0.1, 0.03)


def _optimizers():
    ours = SGD(
        [
            {"params": [Tensor(np.ones(2), requires_grad=True)]},
            {"params": [Tensor(np.ones(3), requires_grad=True)], "lr": LRS[1]},
        ],
        lr=LRS[0],
    )
    theirs = torch().optim.SGD(
        [
            {"params": [torch().ones(2, requires_grad=True)]},
            {"params": [torch().ones(3, requires_grad=True)], "lr": LRS[1]},
        ],
        lr=LRS[0],
    )
    return ours, theirs


def _build(module, name, opt):
    if name == "sequential":
        warmup = module.LinearLR(opt, start_factor=0.1, total_iters=5)
        cosine = module.CosineAnnealingLR(opt, T_max=95, eta_min=1e-4)
        return module.SequentialLR(opt, [warmup, cosine], milestones=[5])
    if name == "sequential3":
        first = module.LinearLR(opt, start_factor=0.25, total_iters=4)
        second = module.StepLR(opt, step_size=6, gamma=0.7)
        third = module.ExponentialLR(opt, gamma=0.97)
        return module.SequentialLR(opt, [first, second, third], milestones=[10, 40])
    cls, kwargs = CASES[name]
    return getattr(module, cls)(opt, **kwargs)


CASES = {
    "step7": ("StepLR", dict(step_size=7, gamma=0.5)),
    "step1": ("StepLR", dict(step_size=1)),
    "exponential": ("ExponentialLR", dict(gamma=0.95)),
    "cosine_past_T_max": ("CosineAnnealingLR", dict(T_max=30, eta_min=0.001)),
    "cosine": ("CosineAnnealingLR", dict(T_max=100)),
    "cosine_short": ("CosineAnnealingLR", dict(T_max=1)),
    "linear": ("LinearLR", dict(start_factor=0.1, total_iters=10)),
    "linear_down": ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=20)),
    "linear_default": ("LinearLR", dict()),
}
NAMES = [*CASES, "sequential", "sequential3"]


def _sequences(name, epochs=100):
    ours, theirs = _optimizers()
    s_ours = _build(ours_sched, name, ours)
    s_theirs = _build(torch().optim.lr_scheduler, name, theirs)
    got, expected = [s_ours.get_last_lr()], [s_theirs.get_last_lr()]
    for _ in range(epochs):
        ours.step()
        theirs.step()
        s_ours.step()
        s_theirs.step()
        got.append(list(s_ours.get_last_lr()))
        expected.append(list(s_theirs.get_last_lr()))
        assert [g["lr"] for g in ours.param_groups] == got[-1]
    return got, expected


@pytest.mark.parametrize("name", NAMES)
def test_schedule_matches_torch_over_100_epochs(name):
    got, expected = _sequences(name)
    assert got == expected  # the same float operations: equal to the last bit
    assert len({tuple(g) for g in got}) > 1


def test_cosine_rises_again_past_T_max_as_torch():
    got, _ = _sequences("cosine_past_T_max", epochs=60)
    lrs = [g[0] for g in got]
    assert min(lrs) == pytest.approx(0.001) and lrs.index(min(lrs)) == 30
    assert lrs[60] == pytest.approx(LRS[0], rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name):
    ours, _ = _optimizers()
    sched = _build(ours_sched, name, ours)
    for _ in range(50):
        ours.step()
        sched.step()
    saved_opt, saved_sched = ours.state_dict(), json.loads(json.dumps(sched.state_dict()))
    rest = []
    for _ in range(50):
        ours.step()
        sched.step()
        rest.append(sched.get_last_lr())

    fresh, _ = _optimizers()
    fresh_sched = _build(ours_sched, name, fresh)
    fresh.load_state_dict(saved_opt)
    fresh_sched.load_state_dict(saved_sched)
    again = []
    for _ in range(50):
        fresh.step()
        fresh_sched.step()
        again.append(fresh_sched.get_last_lr())
    assert again == rest


@pytest.mark.parametrize("name", ["step7", "exponential", "cosine_past_T_max", "linear"])
def test_step_with_epoch_uses_torch_closed_form(name):
    ours, theirs = _optimizers()
    s_ours = _build(ours_sched, name, ours)
    s_theirs = _build(torch().optim.lr_scheduler, name, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 17, 40, 8):
            ours.step()
            theirs.step()
            s_ours.step(epoch)
            s_theirs.step(epoch)
            assert s_ours.get_last_lr() == s_theirs.get_last_lr()


def test_scheduler_drives_the_optimizer_lr_used_in_the_update():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = SGD([p], lr=1.0)
    sched = ours_sched.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    assert p.data[0] == -(1.0 + 0.5 + 0.25)


def _opt():
    return Adam([Tensor(np.ones(2), requires_grad=True)])


@pytest.mark.parametrize(
    ("make", "error", "name"),
    [
        (lambda: ours_sched.StepLR(_opt(), step_size=0), ValueError, "step_size"),
        (lambda: ours_sched.StepLR(_opt(), step_size=2.5), TypeError, "step_size"),
        (lambda: ours_sched.StepLR(_opt(), step_size=2, gamma=-0.1), ValueError, "gamma"),
        (lambda: ours_sched.ExponentialLR(_opt(), gamma=-1.0), ValueError, "gamma"),
        (lambda: ours_sched.CosineAnnealingLR(_opt(), T_max=0), ValueError, "T_max"),
        (
            lambda: ours_sched.CosineAnnealingLR(_opt(), T_max=10, eta_min=-1.0),
            ValueError,
            "eta_min",
        ),
        (lambda: ours_sched.LinearLR(_opt(), start_factor=0.0), ValueError, "start_factor"),
        (lambda: ours_sched.LinearLR(_opt(), end_factor=1.5), ValueError, "end_factor"),
        (lambda: ours_sched.LinearLR(_opt(), total_iters=0), ValueError, "total_iters"),
        (lambda: ours_sched.StepLR("not an optimizer", step_size=1), TypeError, "optimizer"),
        (lambda: ours_sched.StepLR(_opt(), step_size=1, last_epoch=3), ValueError, "last_epoch"),
    ],
)
def test_invalid_arguments_raise_naming_them(make, error, name):
    with pytest.raises(error, match=rf"^{name}"):
        make()


def test_sequential_lr_checks_milestones_and_optimizer():
    opt = _opt()
    a = ours_sched.LinearLR(opt, total_iters=3)
    b = ours_sched.ExponentialLR(opt, gamma=0.9)
    with pytest.raises(ValueError, match="^milestones"):
        ours_sched.SequentialLR(opt, [a, b], milestones=[])
    with pytest.raises(ValueError, match="^schedulers"):
        ours_sched.SequentialLR(_opt(), [a, b], milestones=[3])
