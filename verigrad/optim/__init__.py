"""Optimizers (torch.optim's updates, to float64 round-off) and learning-rate schedules.

Each optimizer keeps its update maths in a pure function that works in place on the arrays
it is given (``sgd_update``, ``adagrad_update``, ``rmsprop_update``, ``adam_update``, as
``torch.optim._functional``) and its bookkeeping (parameter groups, lazily created state,
state dicts) in a thin class. Any optimizer takes ``prox=`` (an operator ``prox(v, t)`` of
:mod:`verigrad.prox`) and applies it after each step with ``t = lr``.
"""

from . import lr_scheduler
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .optimizer import Optimizer, optimizer_state_from_arrays, optimizer_state_to_arrays
from .registry import DEFAULT_LR, OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, ProximalSGD, sgd_update

__all__ = [
    "Optimizer",
    "SGD",
    "ProximalSGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "sgd_update",
    "adagrad_update",
    "rmsprop_update",
    "adam_update",
    "optimizer_state_to_arrays",
    "optimizer_state_from_arrays",
    "lr_scheduler",
    "OPTIMIZERS",
    "SCHEDULES",
    "DEFAULT_LR",
    "make_optimizer",
    "make_scheduler",
]
