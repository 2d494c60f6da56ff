"""``Module`` and ``Parameter``: the bookkeeping that turns functions into layers.

A Module registers the Parameters and sub-Modules assigned to its attributes (in assignment
order), so ``named_parameters()`` yields dotted names such as ``"0.weight"`` and
``state_dict()`` / ``load_state_dict()`` round-trip a model. It knows nothing of gradients:
those come from the Tensors its ``forward`` builds.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._checks import ParameterError, ParameterTypeError
from ..tensor import Tensor

__all__ = ["Module", "Parameter", "Sequential", "save", "load"]


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        array = np.array(data, dtype=dtype, copy=True)
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model: subclasses set attributes and define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -------------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for table in ("_parameters", "_modules", "_buffers"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._modules, self._buffers):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """State saved in ``state_dict`` that is not a parameter (e.g. running statistics)."""
        self._buffers[name] = np.asarray(value)

    # -------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def children(self):
        yield from self._modules.values()

    def named_parameters(self, prefix: str = ""):
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self):
        for _, param in self.named_parameters():
            yield param

    def n_parameters(self) -> int:
        """How many scalar parameters the model has."""
        return int(sum(p.size for p in self.parameters()))

    # -------------------------------------------------------------- modes
    def train(self, mode: bool = True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.grad = None

    def to(self, dtype):
        """Cast every parameter and buffer to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ParameterTypeError("dtype", f"parameters must be floating, got {dtype}")
        for module in self.modules():
            for param in module._parameters.values():
                param.data = param.data.astype(dtype)
                param.grad = None
            for name, buf in module._buffers.items():
                if buf.dtype.kind == "f":
                    module._buffers[name] = buf.astype(dtype)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # -------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict:
        """Copies of every parameter and buffer, keyed by dotted name."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    key = f"{module_name}.{name}" if module_name else name
                    data = value.data if isinstance(value, Tensor) else value
                    state[key] = np.array(data, copy=True)
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy values into the existing parameters (shapes must match; dtype is kept).

        Every value is checked before any is copied, so a refused load changes nothing: with
        ``strict`` the keys must be exactly the model's; each value must be a real, finite
        array of its parameter's shape. Errors are ``ValueError``/``TypeError`` naming
        ``state_dict`` and the key.
        """
        if not isinstance(state_dict, dict):
            raise ParameterTypeError(
                "state_dict", f"expected a dict of arrays, got {type(state_dict).__name__}"
            )
        own = {}
        for module_name, module in self.named_modules():
            for table_name in ("_parameters", "_buffers"):
                for name in getattr(module, table_name):
                    key = f"{module_name}.{name}" if module_name else name
                    own[key] = (module, table_name, name)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ParameterError(
                "state_dict", f"missing keys {missing}, unexpected keys {unexpected}"
            )
        values = {}
        for key, (module, table_name, name) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else value
            try:
                value = np.asarray(value)
            except (TypeError, ValueError):
                raise ParameterTypeError("state_dict", f"{key} is not an array") from None
            current = getattr(module, table_name)[name]
            current_data = current.data if isinstance(current, Tensor) else current
            if value.shape != current_data.shape:
                raise ParameterError(
                    "state_dict",
                    f"{key} has shape {value.shape}, the model expects {current_data.shape}",
                )
            if value.dtype.kind not in "biuf":
                raise ParameterTypeError(
                    "state_dict", f"{key} has dtype {value.dtype}; expected real numbers"
                )
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ParameterError("state_dict", f"{key} holds NaN or infinite values")
            values[key] = value
        for key, value in values.items():
            module, table_name, name = own[key]
            table = getattr(module, table_name)
            current = table[name]
            current_data = current.data if isinstance(current, Tensor) else current
            if isinstance(current, Tensor):
                current.data = value.astype(current_data.dtype, copy=True)
            else:
                table[name] = value.astype(current_data.dtype, copy=True)

    # -------------------------------------------------------------- conversion
    def to_torch(self):
        """The equivalent ``torch.nn.Module``, weights copied (imports torch only now).

        See :func:`verigrad.nn.torch_bridge.to_torch`: the layers of :mod:`verigrad.nn` and
        Sequential models of them convert; another layer is a ParameterError naming it.
        """
        from .torch_bridge import to_torch

        return to_torch(self)

    # -------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``."""

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise ParameterTypeError(
                    "modules", f"argument {i} is not a Module ({type(module).__name__})"
                )
            setattr(self, str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


def save(module: Module, path) -> None:
    """Write ``module.state_dict()`` to an ``.npz`` file atomically."""
    from ..io import atomic_savez

    atomic_savez(path, **module.state_dict())


def load(module: Module, path, strict: bool = True) -> Module:
    """Load an ``.npz`` written by :func:`save` into ``module``; returns it."""
    from ..io import load_npz

    module.load_state_dict(load_npz(path), strict=strict)
    return module
