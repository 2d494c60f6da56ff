"""Optimizers and schedules by name: the one list that ``verigrad train`` and ``optimize`` share.

======== =========================================== ==========
name     optimizer                                   default lr
======== =========================================== ==========
sgd      ``SGD(lr)``                                 0.1
momentum ``SGD(lr, momentum=0.9)``                   0.03
nesterov ``SGD(lr, momentum=0.9, nesterov=True)``    0.03
adagrad  ``Adagrad(lr)``                             0.03
rmsprop  ``RMSprop(lr)``                             1e-3
adam     ``Adam(lr)``                                3e-3
adamw    ``AdamW(lr)`` (weight decay 1e-2 by default) 3e-3
======== =========================================== ==========

The default rates are those that train verigrad's models on the embedded digits (batch 32);
other problems want their own (``verigrad optimize`` tunes them per test function).

Schedules, stepped once per epoch: ``none``; ``step`` (``StepLR``, x0.1 every
:data:`STEP_SIZE` epochs); ``cosine`` (``CosineAnnealingLR`` over the run's epochs).
"""

from __future__ import annotations

from .._checks import check_choice
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "DEFAULT_LR",
    "STEP_SIZE",
    "make_optimizer",
    "make_scheduler",
]

#: optimizer name -> (class, fixed keyword arguments)
_RECIPES = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
}
OPTIMIZERS = tuple(_RECIPES)
DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.03,
    "nesterov": 0.03,
    "adagrad": 0.03,
    "rmsprop": 1e-3,
    "adam": 3e-3,
    "adamw": 3e-3,
}
SCHEDULES = ("none", "step", "cosine")
STEP_SIZE = 10  # epochs between StepLR decays (fixed, so resuming a run never re-plans it)


def make_optimizer(name: str, params, lr: float | None = None, weight_decay=None) -> Optimizer:
    """The optimizer called ``name`` (one of :data:`OPTIMIZERS`) over ``params``.

    Parameters
    ----------
    name : str
    params : iterable of Tensors or of parameter-group dicts (as any optimizer takes them,
        ``prox`` included)
    lr : float, optional
        Default: :data:`DEFAULT_LR` ``[name]``.
    weight_decay : float, optional
        Default: the optimizer's own (0; AdamW's 1e-2).
    """
    check_choice(name, "optimizer", OPTIMIZERS)
    cls, fixed = _RECIPES[name]
    options = dict(fixed, lr=DEFAULT_LR[name] if lr is None else lr)
    if weight_decay is not None:
        options["weight_decay"] = weight_decay
    return cls(params, **options)


def make_scheduler(name: str, optimizer: Optimizer, epochs: int) -> LRScheduler | None:
    """The schedule called ``name`` (one of :data:`SCHEDULES`) for a run of ``epochs`` epochs;
    None for ``none``."""
    check_choice(name, "schedule", SCHEDULES)
    if name == "step":
        return StepLR(optimizer, step_size=STEP_SIZE, gamma=0.1)
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=epochs)
    return None
