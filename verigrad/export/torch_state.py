"""Optimizer and schedule state in torch's layout, so training continues in torch exactly.

verigrad's optimizers and schedules follow ``torch.optim``: the same update maths, the same
per-parameter state names (``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
``momentum_buffer``, ``square_avg``, ``grad_avg``, ``sum``), parameters referred to by their
position, and schedules counting ``last_epoch`` the same way. What differs is the container:
torch keeps tensors (``step`` a float32 scalar tensor for Adam, AdamW, RMSprop and Adagrad),
and its groups carry extra flags (``foreach``, ``fused``, ``capturable``, ...). Converting is
then a matter of layout, done here:

- :func:`optimizer_state_to_torch` ``(state_dict, torch_optimizer)``: verigrad's
  ``Optimizer.state_dict()`` as a dict that ``torch_optimizer.load_state_dict`` accepts;
- :func:`scheduler_state_to_torch` ``(state_dict, torch_scheduler)``: the same for a schedule;
- :func:`torch_training_state` ``(kind, params, optimizer_state, scheduler_state)``: builds the
  torch optimizer (and schedule) over ``params`` and loads both, in the order torch needs
  (a torch schedule's constructor resets the learning rate, so it is made before loading).

``params`` are the torch model's parameters in the order of verigrad's ``parameters()``, which
is what :meth:`verigrad.nn.Module.to_torch` gives (the same names in the same order). A
checkpoint trained with ``--l1`` used a proximal step that torch's optimizers lack: its state
converts, but torch would continue without the soft thresholding.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import ParameterError, ParameterTypeError

__all__ = [
    "TORCH_OPTIMIZERS",
    "torch_optimizer_class",
    "optimizer_state_to_torch",
    "scheduler_state_to_torch",
    "make_torch_scheduler",
    "torch_training_state",
]

#: verigrad optimizer (registry name or class name, lower case) -> torch.optim class name
TORCH_OPTIMIZERS = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}

# the hyperparameters each takes from verigrad's groups (torch's own flags keep its defaults)
_HYPERPARAMETERS = {
    "SGD": ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
    "Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
    "AdamW": ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value", "maximize"),
}
_TENSOR_STEP = {"Adam", "AdamW", "RMSprop", "Adagrad"}


def _import_torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "PyTorch is not installed: pip install torch", name="torch"
        ) from None
    return torch


def torch_optimizer_class(kind):
    """The ``torch.optim`` class for verigrad optimizer ``kind``.

    ``kind``: a registry name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``,
    ``"adamw"``, ``"rmsprop"``, ``"adagrad"``), a verigrad optimizer class or instance.
    ``ProximalSGD`` and optimizers torch lacks are a ParameterError naming ``optimizer``.
    """
    from ..optim import Optimizer

    name = kind
    if isinstance(kind, Optimizer):
        name = type(kind).__name__
    elif isinstance(kind, type) and issubclass(kind, Optimizer):
        name = kind.__name__
    if not isinstance(name, str):
        raise ParameterTypeError(
            "optimizer", f"expected an optimizer name or a verigrad optimizer, got {kind!r}"
        )
    if name.lower() not in TORCH_OPTIMIZERS:
        raise ParameterError(
            "optimizer",
            f"{name!r} has no torch.optim counterpart; convertible: {sorted(TORCH_OPTIMIZERS)}",
        )
    return getattr(_import_torch().optim, TORCH_OPTIMIZERS[name.lower()])


def _check_layout(state_dict):
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
        raise ParameterError(
            "state_dict", "expected an optimizer state_dict with 'state' and 'param_groups'"
        )


def optimizer_state_to_torch(state_dict: dict, torch_optimizer) -> dict:
    """verigrad optimizer ``state_dict`` in the layout ``torch_optimizer.load_state_dict`` takes.

    Parameters
    ----------
    state_dict : dict
        ``Optimizer.state_dict()`` of a verigrad optimizer (or a checkpoint's ``optimizer``
        entry, :func:`verigrad.training.checkpoint.optimizer_state`).
    torch_optimizer : torch.optim.Optimizer
        Of the matching class, over the converted model's parameters with the same groups.

    Returns
    -------
    dict
        ``{"state": {i: {name: tensor}}, "param_groups": [...]}``: buffers as tensors of their
        parameter's dtype, ``step`` a float32 scalar tensor where torch keeps one (a number for
        SGD, which keeps none), each group torch's own with the hyperparameters (and
        ``initial_lr``) verigrad saved.

    Raises
    ------
    ParameterError
        ``state_dict``: not an optimizer state, another optimizer's (its hyperparameters
        differ from the torch class's), or a layout (groups, parameters, shapes) that differs
        from ``torch_optimizer``'s.
    """
    torch = _import_torch()
    _check_layout(state_dict)
    name = type(torch_optimizer).__name__
    theirs = torch_optimizer.state_dict()
    if len(theirs["param_groups"]) != len(state_dict["param_groups"]):
        raise ParameterError(
            "state_dict",
            f"has {len(state_dict['param_groups'])} parameter groups, the torch optimizer "
            f"{len(theirs['param_groups'])}",
        )
    wanted = set(_HYPERPARAMETERS.get(name, ()))
    groups, index = [], {}
    for g, (saved, group) in enumerate(
        zip(state_dict["param_groups"], theirs["param_groups"], strict=True)
    ):
        missing = sorted(wanted - set(saved))
        if missing:
            raise ParameterError(
                "state_dict",
                f"param_groups[{g}] lacks {missing}: it was not saved by a verigrad {name}",
            )
        if len(saved["params"]) != len(group["params"]):
            raise ParameterError(
                "state_dict",
                f"param_groups[{g}] has {len(saved['params'])} parameters, the torch "
                f"optimizer's {len(group['params'])}",
            )
        converted = dict(group)
        for key in wanted | ({"initial_lr"} & set(saved)):
            value = saved[key]
            converted[key] = tuple(value) if isinstance(value, list) else value
        groups.append(converted)
        index.update(zip((int(i) for i in saved["params"]), group["params"], strict=True))
    by_index = {}  # torch's index -> its parameter
    for saved, live in zip(theirs["param_groups"], torch_optimizer.param_groups, strict=True):
        by_index.update(zip(saved["params"], live["params"], strict=True))
    state = {}
    for key, entry in state_dict["state"].items():
        if int(key) not in index:
            raise ParameterError("state_dict", f"has state for parameter {key!r} of no group")
        torch_index = index[int(key)]
        param = by_index[torch_index]
        converted = {}
        for buffer, value in entry.items():
            if buffer == "step":
                step = float(value)
                converted[buffer] = (
                    torch.tensor(step, dtype=torch.float32) if name in _TENSOR_STEP else step
                )
            elif value is None:
                converted[buffer] = None
            else:
                array = np.asarray(value)
                if array.shape != tuple(param.shape):
                    raise ParameterError(
                        "state_dict",
                        f"{buffer!r} of parameter {key} has shape {array.shape}, the torch "
                        f"parameter {tuple(param.shape)}",
                    )
                converted[buffer] = torch.tensor(array, dtype=param.dtype)
        state[torch_index] = converted
    return {"state": state, "param_groups": groups}


def _scheduler_class(state_dict):
    torch = _import_torch()
    schedulers = torch.optim.lr_scheduler
    if "_schedulers" in state_dict:
        raise ParameterError("scheduler", "SequentialLR state does not convert (yet)")
    if "step_size" in state_dict:
        return schedulers.StepLR, {"step_size": int(state_dict["step_size"])}
    if "T_max" in state_dict:
        return schedulers.CosineAnnealingLR, {
            "T_max": int(state_dict["T_max"]),
            "eta_min": float(state_dict["eta_min"]),
        }
    if "start_factor" in state_dict:
        return schedulers.LinearLR, {
            key: state_dict[key] for key in ("start_factor", "end_factor", "total_iters")
        }
    if "gamma" in state_dict:
        return schedulers.ExponentialLR, {"gamma": float(state_dict["gamma"])}
    raise ParameterError(
        "scheduler",
        f"not a StepLR, ExponentialLR, CosineAnnealingLR or LinearLR state (keys "
        f"{sorted(state_dict)})",
    )


def make_torch_scheduler(state_dict: dict, torch_optimizer):
    """A torch schedule of the class verigrad's ``state_dict`` came from, over
    ``torch_optimizer`` (not loaded yet: see :func:`scheduler_state_to_torch`)."""
    if not isinstance(state_dict, dict):
        raise ParameterTypeError("scheduler", f"expected a dict, got {type(state_dict).__name__}")
    cls, options = _scheduler_class(state_dict)
    if "gamma" in state_dict and cls.__name__ == "StepLR":
        options["gamma"] = float(state_dict["gamma"])
    return cls(torch_optimizer, **options)


def scheduler_state_to_torch(state_dict: dict, torch_scheduler) -> dict:
    """verigrad schedule ``state_dict`` in the layout ``torch_scheduler.load_state_dict`` takes:
    torch's own state with every entry both keep (``last_epoch``, ``base_lrs``, ``_last_lr``,
    ``_step_count``, the hyperparameters) taken from verigrad's."""
    converted = torch_scheduler.state_dict()
    for key, value in state_dict.items():
        if key in converted:
            converted[key] = list(value) if isinstance(value, (list, tuple)) else value
    for key in ("base_lrs", "_last_lr"):
        if key in converted and any(not math.isfinite(float(v)) for v in converted[key]):
            raise ParameterError("scheduler", f"{key} holds a non-finite learning rate")
    return converted


def torch_training_state(kind, params, optimizer_state: dict, scheduler_state=None):
    """The torch optimizer (and schedule) that continue where verigrad's stopped.

    Parameters
    ----------
    kind : str, verigrad optimizer class or instance
        Which optimizer saved ``optimizer_state`` (see :func:`torch_optimizer_class`); for a
        checkpoint, its ``config["optimizer"]``.
    params : iterable of torch.nn.Parameter
        The converted model's parameters (``model.to_torch().parameters()``), in verigrad's
        order.
    optimizer_state : dict
        verigrad's ``Optimizer.state_dict()``.
    scheduler_state : dict, optional
        verigrad's ``LRScheduler.state_dict()``.

    Returns
    -------
    (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler or None)

    Examples
    --------
    >>> torch_model = model.to_torch()  # doctest: +SKIP
    >>> opt, sched = torch_training_state("adam", torch_model.parameters(),
    ...                                   optimizer.state_dict(), scheduler.state_dict())
    """
    cls = torch_optimizer_class(kind)
    _check_layout(optimizer_state)
    params = list(params)
    groups = optimizer_state["param_groups"]
    if len(groups) != 1:
        raise ParameterError(
            "state_dict", f"has {len(groups)} parameter groups; one group converts"
        )
    if len(params) != len(groups[0]["params"]):
        raise ParameterError(
            "state_dict",
            f"holds {len(groups[0]['params'])} parameters, the torch model has {len(params)}",
        )
    options = {k: groups[0][k] for k in _HYPERPARAMETERS[cls.__name__] if k in groups[0]}
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    optimizer = cls(params, **options)
    scheduler = None
    if scheduler_state is not None:
        scheduler = make_torch_scheduler(scheduler_state, optimizer)
    optimizer.load_state_dict(optimizer_state_to_torch(optimizer_state, optimizer))
    if scheduler is not None:
        scheduler.load_state_dict(scheduler_state_to_torch(scheduler_state, scheduler))
    return optimizer, scheduler
