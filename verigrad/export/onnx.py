"""ONNX export: a verigrad model as an ONNX graph built with ``onnx.helper`` (opset 17).

:func:`to_onnx` walks the model (``Sequential`` containers in order, as the models ``verigrad
train`` builds are) and writes each layer as ONNX operators with its weights as initializers,
in the parameters' dtype (float32 or float64). The graph takes ``input`` of shape
``(batch, *input_shape)`` (the batch size is free) and returns ``output``. It describes the
model in eval mode:

========================= =============================================================
verigrad                  ONNX
========================= =============================================================
``Linear``                ``Gemm`` (transB) on 2-D input, ``MatMul`` + ``Add`` otherwise
``SoftmaxRegression``     ``Flatten`` + ``Gemm`` (the logits; the model's softmax is not
                          part of ``forward``)
``Conv2d``                ``Conv`` (``padding="same"`` as explicit pads, torch's split)
``ConvTranspose2d``       ``ConvTranspose`` with ``output_padding``
``ReLU/Sigmoid/Tanh``     ``Relu/Sigmoid/Tanh``
``Flatten``               ``Flatten`` (from dim 1 to the end), ``Reshape`` otherwise
``Dropout``, ``Identity`` ``Identity`` (eval mode)
``MaxPool2d``             ``MaxPool``; ``ceil_mode`` as extra end padding (exact in every
                          runtime: ONNX's ``ceil_mode`` is read differently by some)
``AvgPool2d``             ``AveragePool``; with ``ceil_mode``, extra end padding counted and
                          a constant ``Mul`` restoring torch's divisors
``LPPool2d``              ``LpPool`` (integer ``p``, no ``ceil_mode``); otherwise ``Abs``,
                          ``Pow``, ``AveragePool``, ``Mul``, ``Pow`` (torch's formula);
                          ``p = inf`` is ``Abs`` + ``MaxPool``
``AdaptiveAvgPool2d``     ``GlobalAveragePool`` for 1x1, else two ``MatMul`` with the bin-
                          averaging matrices (as verigrad computes it)
``AdaptiveMaxPool2d``     ``GlobalMaxPool`` for 1x1, ``MaxPool`` when the bins tile the
                          input, else ``Slice`` + ``ReduceMax`` per bin row and column
``GlobalAvg/MaxPool2d``   ``GlobalAveragePool`` / ``GlobalMaxPool``
``StochasticPool2d``      its eval form ``sum a^2 / sum a`` (0 for an all-zero window):
                          two ``AveragePool``, ``Div``, ``Where``
``MixedPool2d``           ``avg + alpha (max - avg)`` with the learned ``alpha =
                          sigmoid(alpha_logit)`` as a constant
========================= =============================================================

Any other layer (a Module subclass with its own ``forward``) is a ParameterError naming its
path in the model and its class. ``onnx`` is imported only when called; without it the error
says how to install it.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import ParameterError, ParameterTypeError, check_int
from ..nn import conv, layers, pool
from ..nn.module import Module, Sequential
from ..nn.softmax_regression import SoftmaxRegression
from ..tensor import Tensor, no_grad

__all__ = ["OPSET", "to_onnx", "export_onnx", "import_onnx", "check_input_shape"]

OPSET = 17


def import_onnx():
    """The ``onnx`` module, or ModuleNotFoundError saying how to install it."""
    try:
        import onnx
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "onnx is not installed: pip install onnx (from a clone: pip install -e '.[export]')",
            name="onnx",
        ) from None
    return onnx


def _pair(value):
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * 2


class _Graph:
    """Nodes and initializers under construction, with unique names."""

    def __init__(self, onnx, dtype):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers = [], []
        self._count = 0

    def _name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint, array, dtype=None) -> str:
        array = np.asarray(array, dtype=self.dtype if dtype is None else dtype)
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, path, **attributes) -> str:
        output = self._name(f"{path}/{op}" if path else op)
        self.nodes.append(
            self.onnx.helper.make_node(op, list(inputs), [output], name=output, **attributes)
        )
        return output


# --------------------------------------------------------------------------- pooling geometry
def _pool_output(size, kernel, stride, padding, dilation, ceil_mode) -> int:
    """torch's (and verigrad's) pooled size, ``ceil_mode`` rule included."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and out > 0 and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_attributes(hw, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    """ONNX pool attributes giving torch's output size without ONNX's ``ceil_mode``.

    Returns ``(attributes, extended)``: the end pads grow so that floor mode reaches the
    ``ceil_mode`` size; ``extended`` says whether they did. When the grown pad would reach the
    kernel size (which ONNX forbids), ONNX's ``ceil_mode`` is used instead.
    """
    end, extended, use_ceil = [], False, False
    for size, k, s, p, d in zip(hw, kernel, stride, padding, dilation, strict=True):
        out = _pool_output(size, k, s, p, d, ceil_mode)
        need = max(p, (out - 1) * s + d * (k - 1) + 1 - size - p)
        if need >= k:
            use_ceil = True
        extended |= need != p
        end.append(need)
    attributes = dict(kernel_shape=list(kernel), strides=list(stride))
    if use_ceil:
        attributes.update(pads=[*padding, *padding], ceil_mode=1)
        end, extended = list(padding), False
    else:
        attributes["pads"] = [*padding, *end]
    if tuple(dilation) != (1, 1):
        attributes["dilations"] = list(dilation)
    return attributes, extended


def _avg_divisor_scale(hw, kernel, stride, padding, ceil_mode, count_include_pad):
    """``kh kw / divisor`` per output pixel: turns an average that counted the whole window
    into torch's (padding counted or not, the ``ceil_mode`` overhang never)."""
    factors = []
    for size, k, s, p in zip(hw, kernel, stride, padding, strict=True):
        out = _pool_output(size, k, s, p, 1, ceil_mode)
        start = np.arange(out) * s - p
        stop = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, stop = np.maximum(start, 0), np.minimum(stop, size)
        factors.append(k / (stop - start))
    return np.outer(*factors)


# --------------------------------------------------------------------------- layers
def _linear(g, x, shape, weight, bias, path):
    if len(shape) == 2:
        inputs = [x, g.constant("weight", weight)]
        if bias is not None:
            inputs.append(g.constant("bias", bias))
        return g.node("Gemm", inputs, path, transB=1)
    out = g.node("MatMul", [x, g.constant("weight_t", weight.T)], path)
    return out if bias is None else g.node("Add", [out, g.constant("bias", bias)], path)


def _conv(g, x, shape, m, path):
    kh, kw = m.kernel_size
    dilation = _pair(m.dilation)
    if m.padding == "valid":
        pads = [0, 0, 0, 0]
    elif m.padding == "same":
        total = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)]
        pads = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    else:
        pads = [*_pair(m.padding), *_pair(m.padding)]
    inputs = [x, g.constant("weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.constant("bias", m.bias.data))
    return g.node(
        "Conv",
        inputs,
        path,
        kernel_shape=[kh, kw],
        strides=list(_pair(m.stride)),
        pads=pads,
        dilations=list(dilation),
        group=m.groups,
    )


def _conv_transpose(g, x, shape, m, path):
    inputs = [x, g.constant("weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.constant("bias", m.bias.data))
    padding = _pair(m.padding)
    return g.node(
        "ConvTranspose",
        inputs,
        path,
        kernel_shape=list(m.kernel_size),
        strides=list(_pair(m.stride)),
        pads=[*padding, *padding],
        output_padding=list(_pair(m.output_padding)),
        dilations=list(_pair(m.dilation)),
        group=m.groups,
    )


def _flatten(g, x, shape, out_shape, m, path):
    start = m.start_dim % len(shape)
    end = m.end_dim % len(shape)
    if start == 1 and end == len(shape) - 1:
        return g.node("Flatten", [x], path, axis=1)
    # 0 copies an input dimension (the free batch size among them), -1 is the merged one
    target = [0] * start + [-1] + list(out_shape[start + 1 :])
    return g.node("Reshape", [x, g.constant("shape", target, np.int64)], path)


def _max_pool(g, x, shape, kernel, stride, padding, dilation, ceil_mode, path):
    attributes, _ = _pool_attributes(shape[2:], kernel, stride, padding, dilation, ceil_mode)
    return g.node("MaxPool", [x], path, **attributes)


def _avg_pool(g, x, shape, kernel, stride, padding, ceil_mode, count_include_pad, path):
    attributes, extended = _pool_attributes(shape[2:], kernel, stride, padding, (1, 1), ceil_mode)
    if not extended:
        include = count_include_pad
        return g.node("AveragePool", [x], path, count_include_pad=int(include), **attributes)
    out = g.node("AveragePool", [x], path, count_include_pad=1, **attributes)
    scale = _avg_divisor_scale(shape[2:], kernel, stride, padding, ceil_mode, count_include_pad)
    return g.node("Mul", [out, g.constant("divisor_scale", scale)], path)


def _lp_pool(g, x, shape, m, path):
    kernel = _pair(m.kernel_size)
    stride = kernel if m.stride is None else _pair(m.stride)
    p = float(m.norm_type)
    if math.isinf(p):
        absolute = g.node("Abs", [x], path)
        return _max_pool(g, absolute, shape, kernel, stride, (0, 0), (1, 1), m.ceil_mode, path)
    if p.is_integer() and not m.ceil_mode:
        return g.node(
            "LpPool",
            [x],
            path,
            p=int(p),
            kernel_shape=list(kernel),
            strides=list(stride),
            pads=[0, 0, 0, 0],
        )
    # torch: (avg_pool(|x|^p) * kh kw)^(1/p), the average over the in-bounds entries
    powered = g.node("Pow", [g.node("Abs", [x], path), g.constant("p", p)], path)
    averaged = _avg_pool(g, powered, shape, kernel, stride, (0, 0), m.ceil_mode, False, path)
    total = g.node("Mul", [averaged, g.constant("area", kernel[0] * kernel[1])], path)
    return g.node("Pow", [total, g.constant("inverse_p", 1.0 / p)], path)


def _bin_edges(size, out):
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_avg(g, x, shape, out_shape, path):
    (h, w), (oh, ow) = shape[2:], out_shape[2:]
    if (oh, ow) == (1, 1):
        return g.node("GlobalAveragePool", [x], path)
    matrices = []
    for size, out in ((h, oh), (w, ow)):
        start, stop = _bin_edges(size, out)
        a = np.zeros((out, size))
        for i in range(out):
            a[i, start[i] : stop[i]] = 1.0 / (stop[i] - start[i])
        matrices.append(a)
    rows = g.node("MatMul", [g.constant("bins_h", matrices[0]), x], path)
    return g.node("MatMul", [rows, g.constant("bins_w_t", matrices[1].T)], path)


def _adaptive_max(g, x, shape, out_shape, path):
    (h, w), (oh, ow) = shape[2:], out_shape[2:]
    if (oh, ow) == (1, 1):
        return g.node("GlobalMaxPool", [x], path)
    if h % oh == 0 and w % ow == 0:
        kernel = (h // oh, w // ow)
        return g.node("MaxPool", [x], path, kernel_shape=list(kernel), strides=list(kernel))
    out = x
    for axis, size, count in ((2, h, oh), (3, w, ow)):
        pieces = []
        for start, stop in zip(*_bin_edges(size, count), strict=True):
            piece = g.node(
                "Slice",
                [
                    out,
                    g.constant("starts", [start], np.int64),
                    g.constant("ends", [stop], np.int64),
                    g.constant("axes", [axis], np.int64),
                ],
                path,
            )
            pieces.append(g.node("ReduceMax", [piece], path, axes=[axis], keepdims=1))
        out = g.node("Concat", pieces, path, axis=axis)
    return out


def _stochastic_eval(g, x, shape, m, path):
    kernel = _pair(m.kernel_size)
    stride = _pair(m.stride)
    attributes = dict(kernel_shape=list(kernel), strides=list(stride), pads=[0, 0, 0, 0])
    total = g.node("AveragePool", [x], path, **attributes)
    squares = g.node("AveragePool", [g.node("Mul", [x, x], path)], path, **attributes)
    zero, one = g.constant("zero", 0.0), g.constant("one", 1.0)
    positive = g.node("Greater", [total, zero], path)
    safe = g.node("Where", [positive, total, one], path)
    ratio = g.node("Div", [squares, safe], path)
    return g.node("Where", [positive, ratio, zero], path)


def _mixed(g, x, shape, m, path):
    kernel, stride, padding = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
    maxed = _max_pool(g, x, shape, kernel, stride, padding, (1, 1), False, path)
    averaged = _avg_pool(g, x, shape, kernel, stride, padding, False, True, path)
    # verigrad's order of operations: avg + alpha (max - avg), alpha rounded to the dtype
    logit = m.alpha_logit.data
    alpha = (1 / (1 + np.exp(-logit.astype(np.float64)))).astype(logit.dtype)
    difference = g.node("Sub", [maxed, averaged], path)
    weighted = g.node("Mul", [g.constant("alpha", alpha), difference], path)
    return g.node("Add", [averaged, weighted], path)


_ACTIVATIONS = {
    layers.ReLU: "Relu",
    layers.Sigmoid: "Sigmoid",
    layers.Tanh: "Tanh",
    layers.Identity: "Identity",
    layers.Dropout: "Identity",
}


def _layer(g, m, x, shape, out_shape, path):
    """ONNX nodes for leaf layer ``m`` from value ``x`` of ``shape``; returns the output name."""
    kind = type(m)
    if kind in _ACTIVATIONS:
        return g.node(_ACTIVATIONS[kind], [x], path)
    if kind is layers.Linear:
        bias = None if m.bias is None else m.bias.data
        return _linear(g, x, shape, m.weight.data, bias, path)
    if kind is SoftmaxRegression:
        flat = g.node("Flatten", [x], path, axis=1) if len(shape) > 2 else x
        return _linear(g, flat, (shape[0], -1), m.weight.data, m.bias.data, path)
    if kind is conv.Conv2d:
        return _conv(g, x, shape, m, path)
    if kind is conv.ConvTranspose2d:
        return _conv_transpose(g, x, shape, m, path)
    if kind is layers.Flatten:
        return _flatten(g, x, shape, out_shape, m, path)
    if kind is pool.MaxPool2d:
        kernel = _pair(m.kernel_size)
        return _max_pool(
            g,
            x,
            shape,
            kernel,
            _pair(m.stride),
            _pair(m.padding),
            _pair(m.dilation),
            m.ceil_mode,
            path,
        )
    if kind is pool.AvgPool2d:
        return _avg_pool(
            g,
            x,
            shape,
            _pair(m.kernel_size),
            _pair(m.stride),
            _pair(m.padding),
            m.ceil_mode,
            m.count_include_pad,
            path,
        )
    if kind is pool.LPPool2d:
        return _lp_pool(g, x, shape, m, path)
    if kind in (pool.AdaptiveAvgPool2d, pool.GlobalAvgPool2d):
        return _adaptive_avg(g, x, shape, out_shape, path)
    if kind in (pool.AdaptiveMaxPool2d, pool.GlobalMaxPool2d):
        return _adaptive_max(g, x, shape, out_shape, path)
    if kind is pool.StochasticPool2d:
        return _stochastic_eval(g, x, shape, m, path)
    if kind is pool.MixedPool2d:
        return _mixed(g, x, shape, m, path)
    raise ParameterError(
        "model",
        f"layer {path or '(top level)'} ({kind.__name__}) cannot be exported to ONNX: "
        "export covers verigrad.nn's layers and Sequential models of them",
    )


def _walk(g, m, x, sample, path):
    """Export ``m`` applied to value ``x``; ``sample`` (batch 1) carries the shapes."""
    if isinstance(m, Sequential) and type(m).forward is Sequential.forward:
        for name, child in m._modules.items():
            x, sample = _walk(g, child, x, sample, f"{path}.{name}" if path else name)
        return x, sample
    if type(m) not in _SUPPORTED:
        _layer(g, m, x, sample.shape, None, path)  # raises, naming the layer
    try:
        out = m(Tensor(sample)).data
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            "input_shape", f"layer {path} ({type(m).__name__}) refuses its input: {exc}"
        ) from None
    return _layer(g, m, x, sample.shape, out.shape, path), out


_SUPPORTED = set(_ACTIVATIONS) | {
    layers.Linear,
    layers.Flatten,
    SoftmaxRegression,
    conv.Conv2d,
    conv.ConvTranspose2d,
    pool.MaxPool2d,
    pool.AvgPool2d,
    pool.LPPool2d,
    pool.AdaptiveAvgPool2d,
    pool.AdaptiveMaxPool2d,
    pool.GlobalAvgPool2d,
    pool.GlobalMaxPool2d,
    pool.StochasticPool2d,
    pool.MixedPool2d,
}


def check_input_shape(input_shape) -> tuple:
    """``input_shape`` as a tuple of positive ints (one sample's shape), or the error naming it."""
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__iter__"):
        raise ParameterTypeError("input_shape", f"expected a tuple of ints, got {input_shape!r}")
    input_shape = tuple(input_shape)
    if not input_shape or not all(isinstance(n, (int, np.integer)) for n in input_shape):
        raise ParameterTypeError("input_shape", f"expected a tuple of ints, got {input_shape!r}")
    return tuple(check_int(n, "input_shape", 1) for n in input_shape)


def _model_dtype(model, dtype):
    # a MixedPool2d's alpha is cast to its input's dtype: its logit's dtype does not count
    logits = {id(m.alpha_logit) for m in model.modules() if isinstance(m, pool.MixedPool2d)}
    dtypes = {np.dtype(p.dtype) for p in model.parameters() if id(p) not in logits}
    if dtype is not None:
        dtypes.add(np.dtype(dtype))
    if len(dtypes) > 1:
        raise ParameterError("model", f"mixes parameter dtypes {sorted(map(str, dtypes))}")
    dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ParameterError("dtype", f"is {dtype}; ONNX export takes float32 or float64")
    return dtype


def to_onnx(model: Module, input_shape, *, dtype=None, opset: int = OPSET, name: str = "verigrad"):
    """The ONNX ``ModelProto`` of ``model`` (eval mode) for inputs ``(batch, *input_shape)``.

    Parameters
    ----------
    model : verigrad.nn.Module
        A layer of :mod:`verigrad.nn` or a :class:`Sequential` of them (every model ``verigrad
        train`` builds); see the module docstring for the operators each becomes.
    input_shape : tuple of int
        One sample's shape, ``(C, H, W)`` for images, ``(features,)`` for vectors.
    dtype : float32 or float64, optional
        The graph's element type; default: the parameters' (float32 for a model without).
        onnxruntime's CPU kernels cover float32 fully, float64 only for some operators
        (``Gemm``, ``MaxPool``, ``Relu``, ... but not ``Conv`` or ``AveragePool``).
    opset : int
        The ONNX opset (at least 17, the operators' versions used here).
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model``; input ``input``, output ``output``, batch
        dimension ``batch``.

    Raises
    ------
    ParameterError
        ``model`` for a layer ONNX export does not cover (named by its path and class) or
        parameters of different dtypes; ``dtype`` other than float32/64; ``input_shape`` for a shape the model refuses; ``opset`` below 17.
    ModuleNotFoundError
        onnx is missing (the message says how to install it).
    """
    if not isinstance(model, Module):
        raise ParameterTypeError("model", f"expected a verigrad.nn.Module, got {type(model)}")
    input_shape = check_input_shape(input_shape)
    opset = check_int(opset, "opset", OPSET)
    onnx = import_onnx()
    dtype = _model_dtype(model, dtype)
    element = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        g = _Graph(onnx, dtype)
        with no_grad():
            output, sample = _walk(g, model, "input", np.zeros((1, *input_shape), dtype), "")
    finally:
        for m, training in modes:
            object.__setattr__(m, "training", training)
    g.nodes.append(onnx.helper.make_node("Identity", [output], ["output"], name="output"))
    graph = onnx.helper.make_graph(
        g.nodes,
        name,
        [onnx.helper.make_tensor_value_info("input", element, ["batch", *input_shape])],
        [onnx.helper.make_tensor_value_info("output", element, ["batch", *sample.shape[1:]])],
        initializer=g.initializers,
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="verigrad",
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases since 1.16
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model: Module, path, input_shape, *, dtype=None, opset: int = OPSET) -> None:
    """Write :func:`to_onnx` ``(model, input_shape)`` to ``path`` atomically."""
    from ..io import _atomic_write

    proto = to_onnx(model, input_shape, dtype=dtype, opset=opset)
    _atomic_write(path, lambda fh: fh.write(proto.SerializeToString()))
