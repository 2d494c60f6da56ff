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

Per model (:data:`MODEL_DEFAULT_LR`, :func:`default_lr`): softmax regression is convex and has
one layer of 650 weights, and Adam's 3e-3 with the step schedule (x0.1 after epoch 10) leaves
it under-trained after 20 epochs (test accuracy 0.925-0.944 over seeds 0-4, mean 0.937);
with ``adam``/``adamw`` at 0.03 it reaches 0.947-0.986, mean 0.970 (scikit-learn's
``LogisticRegression`` about 0.965). The other optimizers keep their rate for every model.

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
    "MODEL_DEFAULT_LR",
    "default_lr",
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
#: model -> {optimizer: lr} where a model wants another default rate than DEFAULT_LR
MODEL_DEFAULT_LR = {"softmax": {"adam": 0.03, "adamw": 0.03}}
SCHEDULES = ("none", "step", "cosine")
STEP_SIZE = 10  # epochs between StepLR decays (fixed, so resuming a run never re-plans it)


def default_lr(optimizer: str, model: str | None = None) -> float:
    """The default learning rate of ``optimizer`` for ``model`` (None: any model):
    :data:`MODEL_DEFAULT_LR` where it has one, else :data:`DEFAULT_LR`."""
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    return MODEL_DEFAULT_LR.get(model, {}).get(optimizer, DEFAULT_LR[optimizer])


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


def make_scheduler(
    name: str, optimizer: Optimizer, epochs: int, step_size: int | None = None
) -> LRScheduler | None:
    """The schedule called ``name`` (one of :data:`SCHEDULES`) for a run of ``epochs`` epochs;
    None for ``none``. ``step_size``: epochs between the ``step`` schedule's decays (default
    :data:`STEP_SIZE`)."""
    check_choice(name, "schedule", SCHEDULES)
    if name == "step":
        return StepLR(optimizer, step_size=step_size or STEP_SIZE, gamma=0.1)
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=epochs)
    return None
