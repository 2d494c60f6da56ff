"""The optimizer base class, modelled on ``torch.optim.Optimizer``.

An optimizer holds ``param_groups`` (a list of dicts: ``"params"`` plus that group's
hyperparameters, defaults filled in) and ``state`` (a dict keyed by the parameter object,
filled lazily on the first step). ``step()`` walks the groups and calls the subclass's
``_update(param, grad, state, group)``, which applies the update maths kept in pure functions
in each optimizer's module. Parameters whose ``.grad`` is None are skipped.

Proximal step: a group's ``prox`` (any callable ``prox(v, t)`` returning
``argmin_x g(x) + ||x - v||^2 / (2t)``, such as :func:`verigrad.prox.l1`) is applied to each
updated parameter, turning any optimizer into a proximal-gradient method. The step ``t`` is
the optimizer's own (:meth:`Optimizer._prox_step`): ``t = lr`` for SGD (with or without
momentum); for the adaptive optimizers (Adam, AdamW, RMSprop, Adagrad) the per-element array
``t_i = lr / (sqrt(v_hat_i) + eps)``, their own denominator, so the prox is taken in the same
diagonal metric as the step (ProxGen, Yun, Kim & Lee, NeurIPS 2021). A ``prox`` must then
accept an array ``t`` of the parameter's shape (the operators of :mod:`verigrad.prox` that
have a diagonal-metric form do; the others refuse it by name).

Scratch memory: the update functions need a few temporaries the size of a parameter. The
optimizer keeps them in a workspace (:meth:`Optimizer._scratch`) shared by all its parameters
and reused across steps, so a step allocates no large arrays; the workspace is not part of
``state`` and never enters a state dict.

Serialising: :meth:`Optimizer.state_dict` holds only numpy arrays, numbers, booleans, tuples and
None. :func:`optimizer_state_to_arrays` flattens it into ``{name: ndarray}`` for ``np.savez``
(hyperparameters as one JSON string array) and :func:`optimizer_state_from_arrays` inverts it.
"""

from __future__ import annotations

import copy

import numpy as np

from .._checks import ParameterError, ParameterTypeError
from ..io import pack_tree, unpack_tree
from ..tensor import Tensor

__all__ = ["Optimizer", "optimizer_state_to_arrays", "optimizer_state_from_arrays"]


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    Parameters
    ----------
    params : iterable of Tensors, or of dicts with a ``"params"`` key and per-group options
    defaults : dict
        Hyperparameters that groups inherit unless they set their own.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.defaults.setdefault("prox", None)
        self.state: dict = {}
        self.param_groups: list = []
        self._workspace: dict = {}
        if isinstance(params, Tensor):
            raise ParameterTypeError(
                "params", "expected an iterable of Tensors or dicts, got a single Tensor"
            )
        params = list(params)
        if not params:
            raise ParameterError("params", "the optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def _validate_group(self, group: dict) -> None:
        """Subclasses check their hyperparameters here (raise ValueError naming them)."""

    def add_param_group(self, group: dict) -> None:
        if not isinstance(group, dict) or "params" not in group:
            raise ParameterTypeError(
                "params", "each parameter group must be a dict with a 'params' key"
            )
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise ParameterTypeError("params", f"expected Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ParameterError(
                    "params", "an optimizer can only update tensors with requires_grad=True"
                )
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params) or len({id(p) for p in params}) != len(params):
            raise ParameterError("params", "a parameter appears in more than one place")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        prox = group.get("prox")
        if prox is not None and not callable(prox):
            raise ParameterTypeError("prox", f"expected a callable prox(v, t), got {prox!r}")
        self._validate_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    #: refuse NaN or infinite gradients in :meth:`step` (see :meth:`_check_grads`)
    check_finite = True

    def _update(self, param: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def prox_step(self, param: Tensor):
        """The step ``t`` a prox of ``param`` takes after the update just made: ``lr`` (a float)
        for SGD; the per-element array ``lr / (sqrt(v_hat) + eps)`` for the adaptive
        optimizers (see each optimizer's pseudocode). A parameter not updated yet gets ``lr``.
        """
        for group in self.param_groups:
            if any(p is param for p in group["params"]):
                state = self.state.get(param)
                return self._prox_step(param, state, group) if state else group["lr"]
        raise ParameterError("param", "is not one of this optimizer's parameters")

    def _prox_step(self, param: Tensor, state: dict, group: dict):
        """The step ``t`` the group's prox takes after this parameter's update: ``lr`` here;
        adaptive optimizers return their per-element step (an array of the parameter's shape)."""
        return group["lr"]

    def _scratch(self, like: np.ndarray, count: int, slot: int = 0) -> list:
        """``count`` scratch arrays of ``like``'s shape and dtype (C order), reused across calls.

        They are views into flat buffers that grow to the largest size requested, so
        consecutive parameters and steps share the same memory. ``slot`` separates the
        buffers of concurrent callers (one slot per worker thread).
        """
        key = (slot, like.dtype)
        buffers = self._workspace.get(key, [])
        if len(buffers) < count or buffers[0].size < like.size:
            size = max(like.size, buffers[0].size if buffers else 0)
            buffers = [np.empty(size, like.dtype) for _ in range(max(count, len(buffers)))]
            self._workspace[key] = buffers
        return [b[: like.size].reshape(like.shape) for b in buffers[:count]]

    def _check_grads(self) -> None:
        """Every ``.grad`` must be an array of its parameter's shape (raise before any update).

        torch refuses such a gradient when it is assigned; here ``.grad`` is a plain
        attribute, so the step checks it: one shape comparison per parameter. A mismatched
        gradient would otherwise broadcast silently or fail half-way through the step with
        NumPy's message.

        With ``check_finite`` (the default) a NaN or infinite gradient is refused too, naming
        the parameter, before any weight changes: an update would write NaN into every weight
        it touches. The test is one BLAS dot product per parameter (``g . g`` is finite exactly
        when every entry is, unless it overflows, which the exact test then settles); set
        ``optimizer.check_finite = False`` to skip it.
        """
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                # a numpy scalar is what backward leaves in a 0-d parameter's accumulated .grad
                if not isinstance(grad, (np.ndarray, np.generic)):
                    raise ParameterTypeError(
                        "grad",
                        f"parameter {i} of param_groups[{g}] has a .grad of type "
                        f"{type(grad).__name__}, expected a numpy array of shape {p.shape}",
                    )
                if grad.shape != p.shape:
                    raise ParameterError(
                        "grad",
                        f"parameter {i} of param_groups[{g}] has shape {p.shape} but its "
                        f".grad has shape {grad.shape}; they must be the same",
                    )
                if self.check_finite and not _all_finite(np.asarray(grad)):
                    raise ParameterError(
                        "grad",
                        f"parameter {i} of param_groups[{g}] has a NaN or infinite gradient "
                        f"({_count_not_finite(grad)} entries); no weight was updated",
                    )

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = closure() if closure is not None else None
        self._check_grads()
        for group in self.param_groups:
            prox = group.get("prox")
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                self._update(p, p.grad, state, group)
                if prox is not None:
                    p.data[...] = prox(p.data, self._prox_step(p, state, group))
        return loss

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are referred to by their position across the groups, as in torch; arrays
        are copied, so the result is a snapshot.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k not in ("params", "prox")}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = copy.deepcopy(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and per-parameter state saved by :meth:`state_dict`.

        The saved layout must match this optimizer's: the same number of groups, of
        parameters in each group, and every saved buffer (an array in a parameter's state)
        of that parameter's shape. torch checks the first two only and fails at the next
        ``step``; here any mismatch is a ValueError naming ``state_dict`` before anything
        is changed. Floating buffers are cast to their parameter's dtype, as torch does.
        """
        if not isinstance(state_dict, dict):
            raise ParameterTypeError(
                "state_dict", f"expected a dict, got {type(state_dict).__name__}"
            )
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ParameterError("state_dict", f"missing the key(s) {missing}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ParameterError(
                "state_dict",
                f"has {len(groups)} parameter groups, the optimizer has {len(self.param_groups)}",
            )
        for g, (saved, group) in enumerate(zip(groups, self.param_groups, strict=True)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ParameterError("state_dict", f"param_groups[{g}] has no 'params' list")
            theirs = set(saved) - {"params", "prox"}
            ours = set(group) - {"params", "prox"}
            if theirs != ours:
                raise ParameterError(
                    "state_dict",
                    f"param_groups[{g}] has the hyperparameters {sorted(theirs)}, a "
                    f"{type(self).__name__} has {sorted(ours)}: it was saved by another "
                    "optimizer",
                )
        saved_index = {}  # saved parameter index -> (group, position, parameter)
        for g, (saved, group) in enumerate(zip(groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ParameterError(
                    "state_dict",
                    f"param_groups[{g}] has {len(saved['params'])} parameters, "
                    f"the optimizer's has {len(group['params'])}",
                )
            for i, (key, p) in enumerate(zip(saved["params"], group["params"], strict=True)):
                saved_index[int(key)] = (g, i, p)
        state = {}
        for key, value in state_dict["state"].items():
            if int(key) not in saved_index:
                raise ParameterError(
                    "state_dict", f"has state for parameter {key!r}, which no group lists"
                )
            g, i, p = saved_index[int(key)]
            entry = {}
            for name, v in copy.deepcopy(value).items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ParameterError(
                            "state_dict",
                            f"{name!r} of parameter {i} of param_groups[{g}] has "
                            f"shape {v.shape}, the parameter has shape {p.shape}",
                        )
                    if v.dtype.kind not in "biuf":
                        raise ParameterError(
                            "state_dict",
                            f"{name!r} of parameter {i} of param_groups[{g}] has dtype "
                            f"{v.dtype}; expected real numbers",
                        )
                    if not _all_finite(v):
                        raise ParameterError(
                            "state_dict",
                            f"{name!r} of parameter {i} of param_groups[{g}] holds "
                            f"{_count_not_finite(v)} NaN or infinite value(s)",
                        )
                    if v.dtype.kind == "f":
                        v = v.astype(p.dtype, copy=False)
                entry[name] = v
            state[p] = entry
        self.state = state
        for saved, group in zip(groups, self.param_groups, strict=True):
            for k, v in saved.items():
                if k != "params":
                    group[k] = v

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_workspace"] = {}
        return state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


def _all_finite(a: np.ndarray) -> bool:
    """Whether every entry of ``a`` is finite, in one BLAS pass for floating arrays.

    ``a . a`` is NaN or infinite whenever an entry is; when it is not finite only because it
    overflowed (entries beyond ~1e19 in float32), the exact elementwise test decides.
    """
    if a.dtype.kind != "f":
        return True
    flat = a.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        if flat.size == 0 or np.isfinite(np.dot(flat, flat)):
            return True
    return bool(np.isfinite(flat).all())


def _count_not_finite(a: np.ndarray) -> int:
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def effective_gradient(
    grad: np.ndarray, param: np.ndarray, weight_decay: float, maximize: bool, out: np.ndarray
) -> np.ndarray:
    """torch's ``g = -grad if maximize else grad; g = g + weight_decay * param`` (L2 decay).

    Returns ``grad`` itself when there is nothing to do, else ``out`` (same shape) holding the
    result; ``grad`` and ``param`` are never modified.
    """
    if weight_decay:
        np.multiply(param, weight_decay, out=out)
        if maximize:
            out -= grad  # -g + wd*p, the same rounding as torch's (-g).add(p, alpha=wd)
        else:
            out += grad
        return out
    if maximize:
        return np.negative(grad, out=out)
    return grad


# ---------------------------------------------------------------------- npz-friendly state
def optimizer_state_to_arrays(state_dict: dict, prefix: str = "optimizer") -> dict:
    """Flatten an optimizer ``state_dict`` into ``{name: ndarray}`` for ``np.savez``.

    The same encoding as every other verigrad checkpoint (:func:`verigrad.io.pack_tree`): the
    buffers as arrays ``{prefix}/{i}``, everything else as one JSON string under ``prefix``.
    Nothing needs ``allow_pickle``.
    """
    return pack_tree(state_dict, prefix.rstrip("/"))


def optimizer_state_from_arrays(arrays, prefix: str = "optimizer") -> dict:
    """Invert :func:`optimizer_state_to_arrays` (``arrays``: a dict or an ``np.load`` result)."""
    key = prefix.rstrip("/")
    if key not in arrays:
        raise KeyError(f"arrays: no optimizer state under prefix {key!r}")
    return unpack_tree(arrays, key)
