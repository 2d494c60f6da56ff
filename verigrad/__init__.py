"""verigrad: a deep-learning toolkit in NumPy, every piece derived, implemented and verified.

``Tensor`` (reverse-mode autograd), :mod:`verigrad.functional` (``F``), :mod:`verigrad.nn`,
:mod:`verigrad.optim`, :mod:`verigrad.metrics`, :mod:`verigrad.manifold` (t-SNE),
:mod:`verigrad.prox` (proximal methods), :mod:`verigrad.data`, and :func:`gradcheck`.

``import verigrad as vg`` loads only the core (``Tensor``, ``gradcheck``); ``vg.nn``,
``vg.functional``, ``vg.optim``, ... are imported on first access by the module
``__getattr__`` (PEP 562, as scipy loads its submodules), so ``import verigrad`` stays fast.
``vg.load_model`` resolves to :func:`verigrad.training.load_model` the same way.
"""

import importlib

from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor

__version__ = "0.1.0"

#: submodules loaded on first attribute access
_LAZY_SUBMODULES = ("nn", "functional", "optim", "metrics", "manifold", "prox", "data")
#: functions loaded on first access: name -> the module that defines it
_LAZY_FUNCTIONS = {"load_model": "verigrad.training"}

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
    "__version__",
    *_LAZY_SUBMODULES,
    "load_model",
]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        try:
            module = importlib.import_module(_LAZY_FUNCTIONS[name])
            value = getattr(module, name)
        except (ImportError, AttributeError):
            raise AttributeError(
                f"module 'verigrad' has no attribute {name!r} "
                f"({_LAZY_FUNCTIONS[name]}.{name} is not available in this build)"
            ) from None
        globals()[name] = value
        return value
    raise AttributeError(f"module 'verigrad' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_FUNCTIONS))
