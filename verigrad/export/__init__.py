"""Models that leave verigrad: ONNX graphs, torch.export programs, torch optimizer state.

- :mod:`~verigrad.export.onnx`: :func:`to_onnx` / :func:`export_onnx` (needs ``onnx``, the
  ``export`` extra);
- :mod:`~verigrad.export.torch_program`: :func:`export_torch`, a ``torch.export`` program file
  that runs without verigrad;
- :mod:`~verigrad.export.torch_state`: a checkpoint's optimizer and schedule state in
  ``torch.optim``'s ``state_dict`` layout, so training continues in torch where it stopped.

The per-layer conversion to and from ``torch.nn`` is :meth:`verigrad.nn.Module.to_torch` and
:func:`verigrad.nn.from_torch`. Every external package is imported when a function needs it.
"""

from .onnx import export_onnx, to_onnx
from .torch_program import export_torch, to_torch_program
from .torch_state import optimizer_state_to_torch, scheduler_state_to_torch, torch_training_state

__all__ = [
    "to_onnx",
    "export_onnx",
    "to_torch_program",
    "export_torch",
    "optimizer_state_to_torch",
    "scheduler_state_to_torch",
    "torch_training_state",
]
