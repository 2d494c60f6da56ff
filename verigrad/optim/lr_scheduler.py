"""Learning-rate schedules, step for step the sequences of ``torch.optim.lr_scheduler``.

A scheduler rewrites ``group["lr"]`` of its optimizer each time ``step()`` is called (once per
epoch, after ``optimizer.step()``). As in torch, the schedules are *recursive*: each ``step()``
computes the new rate from the group's current ``lr`` (so a rate changed by hand, or by another
scheduler, carries on), and the closed form is used only when ``step(epoch)`` names an epoch.
That is why the numbers match torch's to the last bit, quirks included: CosineAnnealingLR
past ``T_max`` climbs back up along the cosine (period ``2 * T_max``) instead of staying at
``eta_min``.

Creating a scheduler stores ``initial_lr`` in every group (unless present) and performs the
initial step (epoch 0). ``state_dict()`` is every attribute but the optimizer (numbers and
lists only, so it serialises as JSON); ``load_state_dict`` restores it.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from .._checks import ParameterError, ParameterTypeError, check_int, check_number
from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "SequentialLR",
]


class LRScheduler:
    """Base class: ``LRScheduler(optimizer, last_epoch=-1)``; subclasses define ``get_lr()``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise ParameterTypeError(
                "optimizer", f"expected a verigrad.optim.Optimizer, got {type(optimizer).__name__}"
            )
        last_epoch = check_int(last_epoch, "last_epoch", -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ParameterError(
                        "last_epoch",
                        f"resuming at epoch {last_epoch} needs 'initial_lr' in "
                        f"param_groups[{i}] (load the optimizer's state dict first)",
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The learning rate of each parameter group after the latest ``step()``."""
        return self._last_lr

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form where there is one)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = check_int(epoch, "epoch", 0)
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def state_dict(self) -> dict:
        """Every attribute except the optimizer."""
        return {
            key: (list(value) if isinstance(value, list) else value)
            for key, value in self.__dict__.items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """``StepLR(optimizer, step_size, gamma=0.1)``: multiply the rate by ``gamma`` every
    ``step_size`` epochs; closed form ``lr_e = base_lr * gamma ** (e // step_size)``."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = check_int(step_size, "step_size", 1)
        self.gamma = check_number(gamma, "gamma", 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``ExponentialLR(optimizer, gamma)``: multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = check_number(gamma, "gamma", 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``CosineAnnealingLR(optimizer, T_max, eta_min=0)`` (Loshchilov & Hutter 2017, SGDR,
    without restarts).

    Closed form ``eta_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2``;
    ``step()`` uses torch's recursive form
    ``eta_e = (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) * (eta_{e-1} - eta_min) + eta_min``
    with its special case at the bottom of each period, so past ``T_max`` the rate rises again.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = check_int(T_max, "T_max", 1)
        self.eta_min = check_number(eta_min, "eta_min", 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and self.last_epoch > 0:
            return [
                self.eta_min
                + (base - self.eta_min) * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                for base in self.base_lrs
            ]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [
                group["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                for base, group in zip(self.base_lrs, groups, strict=True)
            ]
        return [
            (1 + math.cos(math.pi * self.last_epoch / self.T_max))
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
            * (group["lr"] - self.eta_min)
            + self.eta_min
            for group in groups
        ]

    def _get_closed_form_lr(self):
        return [
            self.eta_min
            + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)``: linear warm-up.

    The factor on the base rate goes linearly from ``start_factor`` (epoch 0) to
    ``end_factor`` (epoch ``total_iters``) and then stays. ``start_factor`` in (0, 1],
    ``end_factor`` in [0, 1], as torch.
    """

    def __init__(
        self,
        optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        self.start_factor = check_number(start_factor, "start_factor", 0.0, 1.0, low_open=True)
        self.end_factor = check_number(end_factor, "end_factor", 0.0, 1.0)
        self.total_iters = check_int(total_iters, "total_iters", 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        )
        return [group["lr"] * factor for group in groups]

    def _get_closed_form_lr(self):
        change = self.end_factor - self.start_factor
        return [
            base
            * (
                self.start_factor
                + change * min(self.total_iters, self.last_epoch) / self.total_iters
            )
            for base in self.base_lrs
        ]


class SequentialLR(LRScheduler):
    """``SequentialLR(optimizer, schedulers, milestones)``: run ``schedulers[i]`` between
    ``milestones[i-1]`` and ``milestones[i]``, e.g. a :class:`LinearLR` warm-up then
    :class:`CosineAnnealingLR`. At each milestone the next scheduler restarts at its epoch 0
    (closed form), as torch."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise ParameterTypeError(
                "optimizer", f"expected a verigrad.optim.Optimizer, got {type(optimizer).__name__}"
            )
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ParameterError("schedulers", "SequentialLR needs at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer:
                raise ParameterError(
                    "schedulers", f"scheduler {i} does not belong to this optimizer"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ParameterError(
                "milestones",
                f"expected {len(schedulers) - 1} milestone(s) for {len(schedulers)} "
                f"schedulers, got {len(milestones)}",
            )
        for m in milestones:
            check_int(m, "milestones", 1)
        if milestones != sorted(milestones):
            raise ParameterError("milestones", f"must be increasing, got {milestones}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = check_int(last_epoch, "last_epoch", -1) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:  # undo the initial step each one took when created
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        state = {
            key: value
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for scheduler, saved in zip(self._schedulers, inner, strict=True):
            scheduler.load_state_dict(saved)
