"""``torch.export`` programs: a verigrad model as a file that torch runs without verigrad.

:func:`export_torch` converts the model with :meth:`~verigrad.nn.Module.to_torch` (eval mode),
traces it with ``torch.export.export`` (batch dimension free) and writes the
``ExportedProgram`` with ``torch.export.save``. The file holds the graph of torch's own
operators and the weights, no Python classes, so loading it needs torch alone::

    program = torch.export.load("model.pt2")
    logits = program.module()(images)        # images: (batch, *input_shape) float tensor

(``torch.export`` rather than TorchScript: TorchScript is deprecated in torch 2.x.)
"""

from __future__ import annotations

from .._checks import ParameterError, ParameterTypeError
from ..nn.module import Module
from .onnx import check_input_shape

__all__ = ["to_torch_program", "export_torch"]


def _import_torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "PyTorch is not installed: pip install torch (needed for --to torch)", name="torch"
        ) from None
    return torch


def to_torch_program(model: Module, input_shape):
    """The ``torch.export.ExportedProgram`` of ``model`` in eval mode, for inputs
    ``(batch, *input_shape)`` with any batch size.

    Raises
    ------
    ParameterError
        ``module`` for a layer without a torch counterpart (see
        :func:`verigrad.nn.torch_bridge.to_torch`); ``input_shape`` for a shape the model
        refuses.
    """
    if not isinstance(model, Module):
        raise ParameterTypeError("model", f"expected a verigrad.nn.Module, got {type(model)}")
    input_shape = check_input_shape(input_shape)
    torch = _import_torch()
    converted = model.to_torch().eval()
    dtype = next((p.dtype for p in converted.parameters()), torch.float32)
    example = torch.zeros((2, *input_shape), dtype=dtype)
    try:
        with torch.no_grad():
            converted(example)
    except RuntimeError as exc:
        raise ParameterError(
            "input_shape", f"the model refuses inputs of shape {input_shape}: {exc}"
        ) from None
    batch = torch.export.Dim("batch", min=1)
    return torch.export.export(converted, (example,), dynamic_shapes=({0: batch},))


def export_torch(model: Module, path, input_shape) -> None:
    """Write :func:`to_torch_program` ``(model, input_shape)`` to ``path`` (atomically), a
    file for ``torch.export.load``."""
    from ..io import _atomic_write

    torch = _import_torch()
    program = to_torch_program(model, input_shape)
    _atomic_write(path, lambda fh: torch.export.save(program, fh))
