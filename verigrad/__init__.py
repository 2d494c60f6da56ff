"""verigrad: a deep-learning toolkit in NumPy, every piece derived, implemented and verified.

``Tensor`` (reverse-mode autograd), :mod:`verigrad.functional` (``F``), :mod:`verigrad.nn`,
:mod:`verigrad.optim`, :mod:`verigrad.metrics`, :mod:`verigrad.manifold` (t-SNE),
:mod:`verigrad.prox` (proximal methods), :mod:`verigrad.data`, and :func:`gradcheck`.
"""

from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
    "__version__",
]
