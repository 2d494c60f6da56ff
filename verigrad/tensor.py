"""The autograd ``Tensor``: a NumPy array that remembers how it was made.

Every operation here returns a new ``Tensor`` holding

* ``data``: the forward result (an ``ndarray``),
* ``_parents``: the tensors it was computed from,
* ``_backward``: a closure ``g -> (g_parent_0, g_parent_1, ...)`` that maps the gradient of the
  final scalar with respect to this result (``g``, same shape as ``data``) to its gradient with
  respect to each parent (a vector-Jacobian product), written beside the forward.

``backward()`` hands the graph to the engine in :mod:`verigrad.autograd` (recording mode,
topological order, the reverse sweep; re-exported here) and adds the gradient that reaches
each leaf requiring one into its ``.grad``, so gradients accumulate across calls exactly as
in PyTorch.

Broadcasting: a binary operation broadcasts its operands as NumPy does; its backward sums the
gradient over the broadcast axes so each parent receives a gradient of its own shape.

Composite operations (``mean``, ``-``, ``/`` ...) inherit their derivatives from primitives
where that costs nothing; the few fused kernels (softmax, cross-entropy, linear, conv, pool)
live in :mod:`verigrad.functional` and use :func:`make_node` to join the graph.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import ParameterError, ParameterTypeError
from ._shapes import is_advanced_index, normalize_axis, unbroadcast
from .autograd import backpropagate, enable_grad, is_grad_enabled, no_grad, topological_order

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "make_node",
    "topological_order",
    "as_tensor",
]


def _index_data(index):
    """Replace Tensors inside an index by their data."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Parameters
    ----------
    data : array_like
        The values. Python floats become float64 and ints int64, as in NumPy; a float32
        array stays float32.
    requires_grad : bool
        Whether ``backward`` should compute ``.grad`` for this tensor. Only floating tensors
        can require gradients.
    dtype : numpy dtype, optional
        Convert ``data`` to this dtype.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_parents",
        "_backward",
        "_op",
        "_retain",
        "__weakref__",
    )
    __array_ufunc__ = None  # ``ndarray + Tensor`` defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        try:
            array = np.array(data, dtype=dtype, copy=None)
        except (TypeError, ValueError) as exc:
            raise ParameterTypeError(
                "data", f"cannot make a Tensor from {type(data).__name__}: {exc}"
            ) from None
        if array.dtype.kind not in "biuf":
            raise ParameterTypeError(
                "data", f"Tensor holds numbers (bool, int or float); got dtype {array.dtype}"
            )
        if requires_grad and array.dtype.kind != "f":
            raise ParameterTypeError(
                "requires_grad",
                f"only floating tensors can require gradients; data has dtype "
                f"{array.dtype} (pass dtype=float)",
            )
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._op = ""
        self._retain = False

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def T(self) -> Tensor:
        return self.transpose()

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype not in (np.float64, np.int64, np.bool_):
            extra = f", dtype={self.data.dtype}" + extra
        return f"Tensor({body}{extra})"

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self.data
        return self.data.astype(dtype)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """A tensor sharing ``data`` but cut from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def astype(self, dtype) -> Tensor:
        """Cast to ``dtype``; the gradient is cast back on the way down."""
        source = self.data.dtype

        def backward(g):
            return (g.astype(source, copy=False),)

        return make_node(self.data.astype(dtype), (self,), backward, "astype")

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retain = True
        return self

    def draw(self, path, names=None, grad=None, max_nodes: int = 30, title: str = ""):
        """Draw the graph that computed this tensor to ``path`` (``.png`` or ``.svg``), left
        to right, each node with its operation, value and gradient (micrograd's ``draw_dot``,
        matplotlib only). ``names`` labels inputs (``{"x": x}``); past ``max_nodes`` the
        nodes furthest from this one are summarised. Returns the
        :class:`~verigrad.drawing.GraphData` drawn; see :mod:`verigrad.drawing`."""
        from .drawing import draw_graph  # the sibling module: matplotlib only when drawing

        return draw_graph(self, path, names=names, grad=grad, max_nodes=max_nodes, title=title)

    # ------------------------------------------------------------------ backward
    def backward(self, grad=None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires one.

        The results are *added* into each leaf's ``.grad``; call ``zero_grad`` (or set
        ``.grad = None``) between steps.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of the final objective with respect to this tensor (same shape).
            Required unless this tensor holds a single element, where it defaults to 1.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad (no input had requires_grad=True, "
                "or it was computed under no_grad)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be omitted only for a scalar output; this tensor has "
                    f"shape {self.shape}: pass grad= of that shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ParameterError(
                    "grad", f"shape {grad.shape} does not match the tensor's {self.shape}"
                )

        handed_out = {id(grad)}  # arrays a .grad may not own without a copy

        def keep(node, g):
            if node._backward is None or node._retain:
                g = g.astype(node.data.dtype, copy=False)
                if node.grad is not None:
                    node.grad = node.grad + g
                elif g.flags.owndata and g.flags.writeable and id(g) not in handed_out:
                    node.grad = g  # a fresh array that nothing else holds: no copy needed
                else:
                    node.grad = np.array(g, copy=True)
                handed_out.add(id(node.grad))
            return g

        backpropagate(self, grad, keep)

    # ------------------------------------------------------------------ arithmetic
    def _lift(self, other) -> Tensor:
        """``other`` as a constant Tensor; Python numbers take this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            dtype = self.data.dtype if self.data.dtype.kind == "f" else None
            return Tensor(np.asarray(other, dtype=dtype))
        return Tensor(other)

    def __add__(self, other):
        other = self._lift(other)
        a, b = self, other

        def backward(g):
            return unbroadcast(g, a.shape), unbroadcast(g, b.shape)

        return make_node(a.data + b.data, (a, b), backward, "add")

    def __radd__(self, other):
        return self._lift(other).__add__(self)

    def __sub__(self, other):
        other = self._lift(other)
        a, b = self, other

        def backward(g):
            return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)

        return make_node(a.data - b.data, (a, b), backward, "sub")

    def __rsub__(self, other):
        return self._lift(other).__sub__(self)

    def __mul__(self, other):
        other = self._lift(other)
        a, b = self, other

        def backward(g):
            ga = unbroadcast(g * b.data, a.shape) if a.requires_grad else None
            gb = unbroadcast(g * a.data, b.shape) if b.requires_grad else None
            return ga, gb

        return make_node(a.data * b.data, (a, b), backward, "mul")

    def __rmul__(self, other):
        return self._lift(other).__mul__(self)

    def __truediv__(self, other):
        other = self._lift(other)
        a, b = self, other
        out = a.data / b.data

        def backward(g):
            ga = unbroadcast(g / b.data, a.shape) if a.requires_grad else None
            gb = unbroadcast(-g * out / b.data, b.shape) if b.requires_grad else None
            return ga, gb

        return make_node(out, (a, b), backward, "div")

    def __rtruediv__(self, other):
        return self._lift(other).__truediv__(self)

    def __neg__(self):
        return make_node(-self.data, (self,), lambda g: (-g,), "neg")

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Number) and not isinstance(exponent, Tensor):
            a, p = self, exponent
            if p == 2:
                return make_node(a.data * a.data, (a,), lambda g: (2 * g * a.data,), "square")

            def backward(g):
                return (g * p * a.data ** (p - 1),)

            return make_node(a.data**p, (a,), backward, "pow")
        exponent = self._lift(exponent)
        a, b = self, exponent
        out = a.data**b.data

        def backward(g):
            ga = (
                unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape)
                if a.requires_grad
                else None
            )
            gb = None
            if b.requires_grad:
                # d(a^b)/db = a^b log a; torch defines it as 0 where a = 0 and b >= 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_a = np.where((a.data == 0) & (b.data >= 0), 0.0, np.log(a.data))
                gb = unbroadcast(g * out * log_a, b.shape)
            return ga, gb

        return make_node(out, (a, b), backward, "pow")

    def __rpow__(self, base):
        return self._lift(base).__pow__(self)

    def __matmul__(self, other):
        other = self._lift(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ParameterError(
                "matmul", "both operands need at least one dimension (use * for scalars)"
            )

        def backward(g):
            ad, bd = a.data, b.data
            # Promote 1-D operands to matrices as matmul does, then fold the gradient back.
            a2 = ad[None, :] if ad.ndim == 1 else ad
            b2 = bd[:, None] if bd.ndim == 1 else bd
            g2 = np.reshape(
                g, np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
            )
            ga = gb = None
            if a.requires_grad:
                ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(ad.shape)
            if b.requires_grad:
                gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(bd.shape)
            return ga, gb

        try:
            out = a.data @ b.data
        except ValueError as exc:
            raise ParameterError(
                "matmul", f"shapes {a.shape} and {b.shape} do not align ({exc})"
            ) from None
        return make_node(out, (a, b), backward, "matmul")

    def __rmatmul__(self, other):
        return self._lift(other).__matmul__(self)

    # ------------------------------------------------------------------ comparisons (no gradient)
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        axes = normalize_axis(axis, self.ndim)
        shape = self.shape

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, shape),)

        return make_node(self.data.sum(axis=axes, keepdims=keepdims), (self,), backward, "sum")

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        axes = normalize_axis(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        if count == 0:
            raise ValueError(f"mean of an empty selection (shape {self.shape}, axis {axis!r})")
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def _extreme(self, axis, keepdims, arg, reduce, name):
        axes = normalize_axis(axis, self.ndim)
        if self.data.size == 0:
            raise ValueError(f"{name}() of an empty tensor")
        out = reduce(self.data, axis=axes, keepdims=keepdims)
        data, shape = self.data, self.shape
        kept = [i for i in range(len(shape)) if i not in axes]

        def to_first(g):
            # torch.max(dim): the gradient goes to the first extreme entry of each reduced
            # block (the index torch returns); move the reduced axis last and flatten it
            moved = np.transpose(data, kept + list(axes))
            flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
            first = arg(flat, axis=-1)
            mask = np.zeros(flat.shape, dtype=g.dtype)
            gk = g if not keepdims else g.reshape([shape[i] for i in kept])
            np.put_along_axis(mask, first[..., None], np.asarray(gk)[..., None], axis=-1)
            mask = mask.reshape(moved.shape)
            return (np.transpose(mask, np.argsort(kept + list(axes))),)

        def evenly(g):
            # torch.max() / torch.amax: the gradient is shared evenly by the tied entries (a
            # NaN result ties with the NaN entries, as torch's evenly_distribute_backward)
            value = reduce(data, axis=axes, keepdims=True)
            tied = (data == value) | (np.isnan(data) & np.isnan(value))
            count = tied.sum(axis=axes, keepdims=True)
            gk = np.reshape(g, value.shape)
            return ((tied * (gk / count)).astype(g.dtype, copy=False),)

        single_axis = isinstance(axis, (int, np.integer))
        return make_node(out, (self,), to_first if single_axis else evenly, name)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``, with torch's gradient for ties: over one axis (an int, like
        ``torch.max(dim)``) it goes to the first maximal entry; over all axes or a tuple (like
        ``torch.max()`` and ``torch.amax``) the tied entries share it evenly."""
        return self._extreme(axis, keepdims, np.argmax, np.max, "max")

    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis``; ties as in :meth:`max`."""
        return self._extreme(axis, keepdims, np.argmin, np.min, "min")

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        source = self.shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ParameterError("reshape", f"cannot reshape shape {source} into {shape}") from None
        return make_node(out, (self,), lambda g: (g.reshape(source),), "reshape")

    def transpose(self, *axes) -> Tensor:
        """Permute axes (all reversed when none are given), as ``ndarray.transpose``."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.ndim))[::-1]
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ParameterError(
                "transpose", f"axes {axes} are not a permutation of {self.ndim} dimensions"
            )
        inverse = tuple(np.argsort([a % self.ndim for a in axes]))
        return make_node(
            self.data.transpose(axes), (self,), lambda g: (g.transpose(inverse),), "transpose"
        )

    def __getitem__(self, index) -> Tensor:
        index = _index_data(index)
        source_shape, dtype = self.shape, self.dtype
        advanced = is_advanced_index(index)

        def backward(g):
            full = np.zeros(source_shape, dtype=dtype)
            if advanced:
                np.add.at(full, index, g)  # repeated indices add up
            else:
                full[index] = g
            return (full,)

        return make_node(self.data[index], (self,), backward, "getitem")

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        out = np.exp(self.data)
        return make_node(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> Tensor:
        data = self.data
        return make_node(np.log(data), (self,), lambda g: (g / data,), "log")

    def sqrt(self) -> Tensor:
        out = np.sqrt(self.data)

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore"):  # inf at 0, as torch
                return (g / (2 * out),)

        return make_node(out, (self,), backward, "sqrt")

    def abs(self) -> Tensor:
        data = self.data
        return make_node(np.abs(data), (self,), lambda g: (g * np.sign(data),), "abs")

    def clip(self, lo=None, hi=None) -> Tensor:
        """Clamp to ``[lo, hi]``; the gradient passes where ``lo <= x <= hi`` (torch's rule)."""
        if lo is None and hi is None:
            raise ParameterError("clip", "give lo, hi or both")
        data = self.data
        lo_v = -np.inf if lo is None else lo
        hi_v = np.inf if hi is None else hi

        def backward(g):
            return (g * ((data >= lo_v) & (data <= hi_v)),)

        return make_node(
            np.clip(data, lo_v, hi_v).astype(data.dtype, copy=False), (self,), backward, "clip"
        )

    def relu(self) -> Tensor:
        """``max(x, 0)``; gradient ``g * [x > 0]`` (0 at x = 0, as torch)."""
        data = self.data

        def backward(g):
            # a product with the mask, not np.where (8x slower here); an upstream NaN/inf where
            # x <= 0 therefore stays NaN instead of being zeroed, so it is never hidden
            return (g * (data > 0),)

        return make_node(np.maximum(data, 0), (self,), backward, "relu")

    def sigmoid(self) -> Tensor:
        """``1 / (1 + exp(-x))`` without overflow for any finite input (``scipy.special.expit``);
        gradient ``g * s * (1 - s)``."""
        from scipy.special import expit  # here, not at the top: ``import verigrad`` stays light

        out = expit(self.data)
        return make_node(out, (self,), lambda g: (g * out * (1 - out),), "sigmoid")

    def tanh(self) -> Tensor:
        """Hyperbolic tangent; gradient ``g * (1 - t^2)``."""
        out = np.tanh(self.data)
        return make_node(out, (self,), lambda g: (g * (1 - out * out),), "tanh")


def make_node(data: np.ndarray, parents: tuple, backward, op: str = "") -> Tensor:
    """Wrap an operation's result as a Tensor that joins the graph.

    ``backward(g)`` must return one gradient (or None) per parent, each of that parent's
    shape. When recording is off or no parent requires a gradient, the result is a plain
    constant and the closure is dropped.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
    out.grad = None
    out._retain = False
    out._op = op
    if is_grad_enabled() and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = parents
        out._backward = backward
    else:
        out.requires_grad = False
        out._parents = ()
        out._backward = None
    return out


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor (a copy of ``data``)."""
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(np.array(data, dtype=dtype, copy=True), requires_grad=requires_grad)


def as_tensor(x, name: str) -> Tensor:
    """``x`` as a Tensor (arrays and numbers are wrapped as constants)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, numbers.Number, list, tuple)):
        t = Tensor(x)
        if t.dtype.kind != "f" and not isinstance(x, np.ndarray):
            t = Tensor(t.data.astype(np.float64))
        return t
    raise ParameterTypeError(name, f"expected a Tensor or an array, got {type(x).__name__}")
