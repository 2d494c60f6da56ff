"""verigrad <-> PyTorch: :func:`to_torch` and :func:`from_torch`, layer by layer, weights copied.

verigrad's layers follow ``torch.nn``'s arguments and numerics, so most have a direct torch
counterpart; the conversion copies each parameter (same dtype, float32 or float64) and keeps
the child names, so the torch module's ``state_dict()`` has exactly the keys (``"0.weight"``,
...) of verigrad's. The layers torch lacks are small ``torch.nn.Module`` classes of this
module, built on first use (``import verigrad.nn`` never imports torch):

================================ ======================================================
verigrad                         torch
================================ ======================================================
``Linear``, ``Conv2d``,          ``torch.nn.Linear``, ``Conv2d``, ``ConvTranspose2d``
``ConvTranspose2d``
``ReLU``, ``Sigmoid``, ``Tanh``, the ``torch.nn`` layer of the same name
``Identity``, ``Flatten``,
``Dropout``, ``Sequential``
(and the models ``MLP``,
``DigitsCNN``, ``LeNet5``)
``MaxPool2d``, ``AvgPool2d``,    the ``torch.nn`` layer of the same name
``LPPool2d``, ``Adaptive*``
``GlobalAvgPool2d`` /            ``AdaptiveAvgPool2d(1)`` / ``AdaptiveMaxPool2d(1)``
``GlobalMaxPool2d``
``StochasticPool2d``             :class:`StochasticPool2d` here: eval ``sum a^2 / sum a``;
                                 training draws one entry per window from torch's RNG
``MixedPool2d``                  :class:`MixedPool2d` here, with the Parameter
                                 ``alpha_logit`` (``alpha = sigmoid(alpha_logit)``)
``SoftmaxRegression``            :class:`SoftmaxRegression` here: a ``torch.nn.Linear``
                                 that flattens its input first
================================ ======================================================

One difference remains: verigrad's ``LPPool2d`` pools ``|x|^p``, torch's ``x^p``; the two agree
on non-negative input (after a ReLU, as in every model ``verigrad train`` builds) and for even
``p``.

The torch classes of this module live at module level once built (``verigrad.nn.torch_bridge.
MixedPool2d`` after the first conversion), so a converted model pickles with ``torch.save``;
loading such a pickle needs verigrad. ``torch.export`` (``verigrad export --to torch``) does
not: its graph holds only torch's own operators.
"""

from __future__ import annotations

import numpy as np

from .._checks import ParameterError, ParameterTypeError
from . import conv, layers, pool
from .module import Module, Sequential
from .softmax_regression import SoftmaxRegression as _VerigradSoftmaxRegression

__all__ = ["to_torch", "from_torch", "torch_layer_classes"]

_TORCH_CLASSES: dict = {}
_CLASS_NAMES = ("StochasticPool2d", "MixedPool2d", "SoftmaxRegression")


def _build_torch_classes() -> dict:
    """Define the torch modules verigrad needs and torch lacks (imports torch)."""
    import torch
    import torch.nn.functional as TF

    class StochasticPool2d(torch.nn.Module):
        """Stochastic pooling (Zeiler & Fergus 2013) of non-negative input, as verigrad's.

        Eval: ``sum a^2 / sum a`` per window (0 for an all-zero window). Training: one entry per
        window drawn with probability ``a_i / sum a`` (torch's RNG; the gradient goes to it).
        """

        def __init__(self, kernel_size, stride=None):
            super().__init__()
            self.kernel_size = kernel_size
            self.stride = kernel_size if stride is None else stride

        def forward(self, x):
            if not self.training:
                total = TF.avg_pool2d(x, self.kernel_size, self.stride)
                squares = TF.avg_pool2d(x * x, self.kernel_size, self.stride)
                positive = total > 0
                safe = torch.where(positive, total, torch.ones_like(total))
                return torch.where(positive, squares / safe, torch.zeros_like(total))
            unbatched = x.dim() == 3
            if unbatched:
                x = x.unsqueeze(0)
            n, c, h, w = x.shape
            windows = TF.unfold(x.reshape(n * c, 1, h, w), self.kernel_size, stride=self.stride)
            total = windows.sum(dim=1, keepdim=True)
            probs = torch.where(total > 0, windows / total.clamp_min(1e-38), 1.0)
            flat = probs.detach().transpose(1, 2).reshape(-1, windows.shape[1])
            index = torch.multinomial(flat, 1).reshape(n * c, 1, -1)
            chosen = windows.gather(1, index).reshape(n, c, *self._out_size(h, w))
            return chosen[0] if unbatched else chosen

        def _out_size(self, h, w):
            kh, kw = _pair(self.kernel_size)
            sh, sw = _pair(self.stride)
            return (h - kh) // sh + 1, (w - kw) // sw + 1

        def extra_repr(self):
            return f"kernel_size={self.kernel_size}, stride={self.stride}"

    class MixedPool2d(torch.nn.Module):
        """``alpha max_pool + (1 - alpha) avg_pool`` with ``alpha = sigmoid(alpha_logit)``
        (Lee, Gallagher & Tu 2016), as verigrad's; the average counts padding."""

        def __init__(self, kernel_size, stride=None, padding=0, alpha_logit=0.0, dtype=None):
            super().__init__()
            self.kernel_size = kernel_size
            self.stride = kernel_size if stride is None else stride
            self.padding = padding
            self.alpha_logit = torch.nn.Parameter(torch.tensor(alpha_logit, dtype=dtype))

        def forward(self, x):
            alpha = torch.sigmoid(self.alpha_logit).to(x.dtype)
            maxed = TF.max_pool2d(x, self.kernel_size, self.stride, self.padding)
            averaged = TF.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
            return averaged + alpha * (maxed - averaged)

        def extra_repr(self):
            return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    class SoftmaxRegression(torch.nn.Linear):
        """verigrad's softmax regression: the logits ``W x + b`` of the flattened input."""

        def forward(self, x):
            if x.dim() > 2:
                x = x.reshape(x.shape[0], -1)
            return super().forward(x)

    built = {
        "StochasticPool2d": StochasticPool2d,
        "MixedPool2d": MixedPool2d,
        "SoftmaxRegression": SoftmaxRegression,
    }
    for name, cls in built.items():
        cls.__module__ = __name__
        cls.__qualname__ = name
    return built


def torch_layer_classes() -> dict:
    """``{name: class}`` of the torch modules this module defines (built once; imports torch)."""
    if not _TORCH_CLASSES:
        _TORCH_CLASSES.update(_build_torch_classes())
    return _TORCH_CLASSES


def __getattr__(name):
    # the torch classes resolve as module attributes (pickle looks them up by name)
    if name in _CLASS_NAMES:
        return torch_layer_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _import_torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "PyTorch is not installed: pip install torch (needed to convert to or from torch)",
            name="torch",
        ) from None
    return torch


# --------------------------------------------------------------------------- verigrad -> torch
def _parameter_dtype(module: Module):
    torch = _import_torch()
    for param in module.parameters():
        return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}.get(
            np.dtype(param.dtype), torch.float32
        )
    return torch.float32


def _copy_into(torch_param, array) -> None:
    torch = _import_torch()
    with torch.no_grad():
        torch_param.copy_(torch.from_numpy(np.array(array, copy=True)))


def _layer_to_torch(module: Module, path: str):
    torch = _import_torch()
    nn = torch.nn
    classes = torch_layer_classes()
    kind = type(module)
    if isinstance(module, Sequential) and kind.forward is Sequential.forward:
        converted = nn.Sequential()
        for name, child in module._modules.items():
            converted.add_module(name, _layer_to_torch(child, f"{path}.{name}" if path else name))
        converted.training = module.training  # the children keep their own modes
        return converted
    if kind is layers.Linear or kind is _VerigradSoftmaxRegression:
        cls = nn.Linear if kind is layers.Linear else classes["SoftmaxRegression"]
        out_features, in_features = module.weight.shape
        converted = cls(
            in_features, out_features, module.bias is not None, dtype=_parameter_dtype(module)
        )
    elif kind is conv.Conv2d:
        converted = nn.Conv2d(
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
            module.groups,
            module.bias is not None,
            dtype=_parameter_dtype(module),
        )
    elif kind is conv.ConvTranspose2d:
        converted = nn.ConvTranspose2d(
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            module.stride,
            module.padding,
            module.output_padding,
            module.groups,
            module.bias is not None,
            module.dilation,
            dtype=_parameter_dtype(module),
        )
    elif kind in _PARAMETERLESS:
        converted = _PARAMETERLESS[kind](module, nn, classes)
    elif kind is pool.MixedPool2d:
        logit = module.alpha_logit.data
        dtype = torch.float64 if logit.dtype == np.float64 else torch.float32
        converted = classes["MixedPool2d"](
            module.kernel_size, module.stride, module.padding, float(logit), dtype=dtype
        )
    else:
        raise ParameterError(
            "module",
            f"layer {path or '(top level)'} ({kind.__name__}) has no torch equivalent: "
            "to_torch converts verigrad.nn's layers and Sequential models of them",
        )
    own = dict(module._parameters)
    for name, param in converted.named_parameters(recurse=False):
        _copy_into(param, own[name].data)
    converted.training = module.training
    return converted


_PARAMETERLESS = {
    layers.ReLU: lambda m, nn, c: nn.ReLU(),
    layers.Sigmoid: lambda m, nn, c: nn.Sigmoid(),
    layers.Tanh: lambda m, nn, c: nn.Tanh(),
    layers.Identity: lambda m, nn, c: nn.Identity(),
    layers.Flatten: lambda m, nn, c: nn.Flatten(m.start_dim, m.end_dim),
    layers.Dropout: lambda m, nn, c: nn.Dropout(m.p),
    pool.MaxPool2d: lambda m, nn, c: nn.MaxPool2d(
        m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode
    ),
    pool.AvgPool2d: lambda m, nn, c: nn.AvgPool2d(
        m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad
    ),
    pool.LPPool2d: lambda m, nn, c: nn.LPPool2d(m.norm_type, m.kernel_size, m.stride, m.ceil_mode),
    pool.AdaptiveAvgPool2d: lambda m, nn, c: nn.AdaptiveAvgPool2d(m.output_size),
    pool.AdaptiveMaxPool2d: lambda m, nn, c: nn.AdaptiveMaxPool2d(m.output_size),
    pool.GlobalAvgPool2d: lambda m, nn, c: nn.AdaptiveAvgPool2d(1),
    pool.GlobalMaxPool2d: lambda m, nn, c: nn.AdaptiveMaxPool2d(1),
    pool.StochasticPool2d: lambda m, nn, c: c["StochasticPool2d"](m.kernel_size, m.stride),
}


def to_torch(module: Module):
    """The ``torch.nn.Module`` equivalent to verigrad ``module``, weights copied.

    Parameters
    ----------
    module : verigrad.nn.Module
        A layer of :mod:`verigrad.nn`, or a :class:`Sequential` of them (the models ``verigrad
        train`` builds are such).

    Returns
    -------
    torch.nn.Module
        In the same train/eval mode, parameters of the same dtype, and a ``state_dict`` with
        the same keys as ``module.state_dict()``. The table in the module docstring lists the
        counterparts.

    Raises
    ------
    ParameterError
        ``module``: a layer without a torch counterpart (any Module subclass with its own
        ``forward``), named by its path in the model and its class.
    """
    if not isinstance(module, Module):
        raise ParameterTypeError(
            "module", f"expected a verigrad.nn.Module, got {type(module).__name__}"
        )
    _import_torch()
    return _layer_to_torch(module, "")


# --------------------------------------------------------------------------- torch -> verigrad
def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _dtype_of(torch_module):
    for param in torch_module.parameters():
        return _numpy(param).dtype
    return np.dtype(np.float32)


def _refuse(path, torch_module, why):
    raise ParameterError(
        "module", f"torch layer {path or '(top level)'} ({type(torch_module).__name__}) {why}"
    )


def _layer_from_torch(m, path: str) -> Module:
    torch = _import_torch()
    nn = torch.nn
    classes = torch_layer_classes()
    kind = type(m)
    if kind is nn.Sequential:
        children = [
            _layer_from_torch(child, f"{path}.{name}" if path else name)
            for name, child in m.named_children()
        ]
        names = [name for name, _ in m.named_children()]
        if names != [str(i) for i in range(len(names))]:
            _refuse(path, m, f"has named children {names}; verigrad's Sequential numbers them")
        converted = Sequential(*children)
    elif kind is nn.Linear or kind is classes["SoftmaxRegression"]:
        dtype = _dtype_of(m)
        if kind is nn.Linear:
            converted = layers.Linear(
                m.in_features, m.out_features, m.bias is not None, dtype=dtype
            )
        else:
            if m.bias is None:
                _refuse(path, m, "has no bias; verigrad's SoftmaxRegression always has one")
            converted = _VerigradSoftmaxRegression(m.in_features, m.out_features, dtype=dtype)
    elif kind is nn.Conv2d or kind is nn.ConvTranspose2d:
        if m.padding_mode != "zeros":
            _refuse(path, m, f"pads with {m.padding_mode!r}; verigrad pads with zeros only")
        common = dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups)
        common.update(bias=m.bias is not None, dtype=_dtype_of(m))
        if kind is nn.Conv2d:
            converted = conv.Conv2d(m.in_channels, m.out_channels, m.kernel_size, **common)
        else:
            converted = conv.ConvTranspose2d(
                m.in_channels,
                m.out_channels,
                m.kernel_size,
                output_padding=m.output_padding,
                **common,
            )
    elif kind is nn.MaxPool2d:
        if m.return_indices:
            _refuse(path, m, "returns indices; verigrad's MaxPool2d does not")
        converted = pool.MaxPool2d(
            m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode
        )
    elif kind is nn.AvgPool2d:
        if m.divisor_override is not None:
            _refuse(path, m, "has a divisor_override; verigrad's AvgPool2d has none")
        converted = pool.AvgPool2d(
            m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad
        )
    elif kind is nn.LPPool2d:
        converted = pool.LPPool2d(m.norm_type, m.kernel_size, m.stride, m.ceil_mode)
    elif kind is nn.AdaptiveAvgPool2d:
        converted = pool.AdaptiveAvgPool2d(m.output_size)
    elif kind is nn.AdaptiveMaxPool2d:
        if m.return_indices:
            _refuse(path, m, "returns indices; verigrad's AdaptiveMaxPool2d does not")
        converted = pool.AdaptiveMaxPool2d(m.output_size)
    elif kind is classes["StochasticPool2d"]:
        converted = pool.StochasticPool2d(m.kernel_size, m.stride)
    elif kind is classes["MixedPool2d"]:
        logit = _numpy(m.alpha_logit)
        converted = pool.MixedPool2d(m.kernel_size, m.stride, m.padding, dtype=logit.dtype)
    elif kind is nn.Flatten:
        converted = layers.Flatten(m.start_dim, m.end_dim)
    elif kind is nn.Dropout:
        converted = layers.Dropout(m.p)
    elif kind in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity):
        converted = getattr(layers, kind.__name__)()
    else:
        _refuse(
            path, m, "has no verigrad equivalent (from_torch converts the layers of verigrad.nn)"
        )
    torch_params = dict(m.named_parameters(recurse=False))
    for name, param in converted._parameters.items():
        if param is not None:
            param.data = _numpy(torch_params[name]).astype(param.dtype, copy=False)
    object.__setattr__(converted, "training", bool(m.training))  # children keep their own
    return converted


def from_torch(module) -> Module:
    """The verigrad model equivalent to ``torch.nn.Module`` ``module``, weights copied.

    The inverse of :func:`to_torch`: ``from_torch(to_torch(model))`` has ``model``'s weights
    exactly. ``torch.nn.Sequential`` (children named ``"0"``, ``"1"``, ...) and the torch
    layers that verigrad has (the table of the module docstring, read right to left) convert;
    ``ReLU(inplace=True)`` becomes a plain ReLU.

    Raises
    ------
    ParameterError
        ``module``: a torch layer verigrad lacks (``BatchNorm2d``, ``LSTM``, any custom
        module, ...) or an option it does not support (``padding_mode="reflect"``,
        ``return_indices=True``, ...), named by its path and class.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise ParameterTypeError(
            "module", f"expected a torch.nn.Module, got {type(module).__name__}"
        )
    return _layer_from_torch(module, "")
