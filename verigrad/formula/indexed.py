"""Evaluating parsed LaTeX (:mod:`~verigrad.formula.latex`) with index notation and autograd.

Values are :class:`Indexed` arrays: a :class:`~verigrad.Tensor` whose leading axes are *named*
by index letters and whose remaining axes are positional (plain vectors and matrices).

* ``W_{ij}`` names the axes of ``W`` ``i`` and ``j``; ``x_1`` takes entry 1 (1-based).
  Operations align named axes by name and broadcast them (``(\\hat y_i - y_i) x_j`` is the
  ``(k, d)`` array of its entries), positional axes as NumPy does.
* ``\\sum_k body`` sums the named axis ``k``; ``\\sum_{k \\neq i}`` first multiplies by
  ``1 - [k = i]`` (``i`` ranges like ``k``); ``\\sum`` without limits sums all positional axes;
  ``\\prod`` multiplies. Free indices are the names left at the end.
* Juxtaposition and ``\\cdot`` are matrix products when an operand is a matrix or a row vector
  (``Wx``, ``(\\hat y - y) x^\\top``) and no named axes are involved; otherwise elementwise.
  ``x^T`` of a vector is a row ``(1, n)``; ``\\cdot`` of two vectors is their dot product.
* ``\\frac{\\partial A}{\\partial B}`` is computed by autograd: ``B`` (a symbol, optionally
  indexed) becomes a leaf with its current value, every definition depending on it is
  re-evaluated, and the Jacobian entries of ``A`` are indexed by ``A``'s names and ``B``'s
  indices (a repeated name takes the diagonal). The result is a constant.
* ``\\sigma`` is the context's function; by default the softmax of a vector argument and
  the logistic sigmoid of anything else.

Symbols are resolved through a :class:`Context`: declared variables (drawn at random), LaTeX
definitions (``a = Wx + b``), aliases (``z`` for ``a``) and, for an unknown capital letter,
its lower case (``X_j`` read as ``x_j`` where there is no matrix ``X``). Every intermediate is
limited to :data:`MAX_INDEXED_ELEMENTS` entries and a Jacobian to :data:`MAX_JACOBIAN_ROWS`
backward passes.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .indexed_values import (
    DEFAULT_FUNCTIONS,
    Context,
    Indexed,
    NotCheckable,
    ShapeMismatch,
    _const,
    _diag_names,
    _masked,
    _product,
    soft_threshold,
)
from .language import FormulaError

__all__ = [
    "Indexed",
    "Context",
    "NotCheckable",
    "ShapeMismatch",
    "Evaluator",
    "MAX_INDEXED_ELEMENTS",
    "MAX_JACOBIAN_ROWS",
    "soft_threshold",
]

MAX_INDEXED_ELEMENTS = 200_000
MAX_JACOBIAN_ROWS = 2_000
MAX_LATEX_EXPONENT = 100
_MAX_DEFINITION_DEPTH = 20


class Evaluator:
    """Evaluates LaTeX tree nodes at one point (``values``: variable -> array)."""

    def __init__(self, context: Context, values: dict, leaf=None, depth=0):
        self.context = context
        self.values = values
        self.leaf = leaf  # (symbol, Tensor) made a leaf of the graph, or None
        self.cache = {}
        self.sizes = {}
        self.depth = depth

    # -------------------------------------------------------------- symbols
    def symbol(self, name) -> Indexed:
        canonical = self.context.canonical(name)
        if canonical is None:
            if name == "e":
                return _const(math.e)
            if name == "pi":
                return _const(math.pi)
            raise FormulaError(f"unknown symbol {_show(name)}")
        if self.leaf is not None and self.leaf[0] == canonical:
            return Indexed(self.leaf[1], ())
        if canonical in self.cache:
            return self.cache[canonical]
        if canonical in self.context.variables:
            out = Indexed(Tensor(np.asarray(self.values[canonical], dtype=np.float64)), ())
        else:
            if self.depth > _MAX_DEFINITION_DEPTH or canonical in self.cache.get("__busy", ()):
                raise FormulaError(f"the definition of {_show(canonical)} refers to itself")
            busy = self.cache.setdefault("__busy", set())
            busy.add(canonical)
            try:
                out = self(self.context.definition(canonical))
            finally:
                busy.discard(canonical)
        self.cache[canonical] = out
        return out

    # -------------------------------------------------------------- dispatch
    def __call__(self, node) -> Indexed:
        kind = node[0]
        method = getattr(self, "eval_" + kind, None)
        if method is None:
            raise FormulaError(f"cannot evaluate a {kind}")
        out = method(*node[1:])
        if out.t.size > MAX_INDEXED_ELEMENTS:
            raise FormulaError(
                f"an intermediate result has more than {MAX_INDEXED_ELEMENTS} entries"
            )
        return out

    def eval_num(self, value):
        if not math.isfinite(value):
            raise NotCheckable("infinity is not a value")
        return _const(value)

    def eval_sym(self, name):
        return self.symbol(name)

    def eval_dots(self):
        raise NotCheckable("a sum elided with dots (y_1 + ... + y_n) cannot be checked")

    def eval_tuple(self, items):
        raise FormulaError("a list of values in parentheses is not a value")

    def eval_neg(self, x):
        v = self(x)
        return Indexed(-v.t, v.names)

    def eval_relu(self, x):
        v = self(x)
        return Indexed(F.relu(v.t), v.names)

    def eval_abs(self, x):
        v = self(x)
        return Indexed(v.t.abs(), v.names)

    def eval_norm(self, x, p=2):
        v = self(x)
        axes = tuple(range(len(v.names), v.t.ndim))
        if not axes:
            return Indexed(v.t.abs(), v.names)
        if p == 1:
            return Indexed(v.t.abs().sum(axis=axes), v.names)
        return Indexed((v.t * v.t).sum(axis=axes).sqrt(), v.names)

    def eval_T(self, x):
        v = self(x)
        n, p = len(v.names), v.positional
        if p == 0:
            return v
        if p == 1:
            return Indexed(v.t.reshape(*v.t.shape, 1).transpose(*range(n), n + 1, n), v.names)
        if p == 2 and v.t.shape[n] == 1 and n == 0:
            return Indexed(v.t.reshape(v.t.shape[1]), ())
        axes = list(range(v.t.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return Indexed(v.t.transpose(*axes), v.names)

    def eval_prime(self, x):
        if x[0] == "sym" and self.context.canonical(x[1] + "'"):
            return self.symbol(x[1] + "'")
        return self.eval_T(x)

    def eval_star(self, x):
        if x[0] == "sym" and self.context.canonical(x[1] + "*"):
            return self.symbol(x[1] + "*")
        raise FormulaError("^* is read only as part of a symbol's name (W^*)")

    # -------------------------------------------------------------- indices
    def eval_sub(self, base, items):
        name = _symbol_of(base)
        if name is not None:
            joined = name + "_" + "".join(items)
            if self.context.canonical(joined):
                return self.symbol(joined)
        if base[0] == "sym" and ("+" in items or "-" in items):
            return self.symbol(base[1])  # x_{k+1}, x_{t-1}: the iterate itself
        if base[0] == "norm" and items in (("1",), ("2",)):
            return self.eval_norm(base[1], int(items[0]))
        v = self(base)
        if (
            v.names
            and not v.positional
            and len(items) == len(v.names)
            and all(not item.isdigit() for item in items)
        ):  # q_{ij} of a definition over (i, j): its indices renamed in order
            if len(set(items)) != len(items):
                raise FormulaError("a repeated index on one symbol (a diagonal) is not supported")
            return Indexed(v.t, tuple(items))
        if len(items) > v.positional:
            raise FormulaError(
                f"{len(items)} indices on a value with {v.positional} indexable axes"
            )
        index, names = [slice(None)] * len(v.names), list(v.names)
        for axis, item in enumerate(items, start=len(v.names)):
            size = v.t.shape[axis]
            if item.isdigit():
                k = int(item)
                if not 1 <= k <= size:
                    raise FormulaError(f"index {k} is out of range 1..{size}")
                index.append(k - 1)
            else:
                if self.sizes.setdefault(item, size) != size:
                    raise FormulaError(f"index {item} ranges over {self.sizes[item]} and {size}")
                index.append(slice(None))
                names.append(item)
        t = v.t[tuple(index)] if any(isinstance(i, int) for i in index) else v.t
        order = [n for n in names]
        if len(set(order)) != len(order):
            raise FormulaError("a repeated index on one symbol (a diagonal) is not supported")
        return Indexed(t, tuple(order))

    # -------------------------------------------------------------- arithmetic
    def _align(self, a: Indexed, b: Indexed):
        names = tuple(dict.fromkeys(a.names + b.names))
        pa, pb = a.positional, b.positional
        p = max(pa, pb)
        return names, self._expand(a, names, p), self._expand(b, names, p)

    @staticmethod
    def _expand(v: Indexed, names: tuple, p: int) -> Tensor:
        t = v.t
        order = [v.names.index(n) for n in names if n in v.names]
        order += list(range(len(v.names), t.ndim))
        if order != list(range(t.ndim)):
            t = t.transpose(*order)
        shape, k = [], 0
        present = [n for n in names if n in v.names]
        for n in names:
            if n in v.names:
                shape.append(t.shape[present.index(n)])
            else:
                shape.append(1)
        positional = list(t.shape[len(v.names) :])
        shape += [1] * (p - len(positional)) + positional
        del k
        return t.reshape(*shape) if tuple(shape) != t.shape else t

    def eval_bin(self, op, left, right):
        if op == "juxt" and right[0] == "tuple" and left[0] in ("sym", "deriv"):
            # l(y, \hat y), f(1, 0), \frac{\partial f}{\partial x}(1, 0): a defined quantity
            # written with its arguments (the problem's own, or its point)
            if left[0] == "deriv" or self.context.canonical(left[1]) in self.context.definitions:
                return self(left)
        if (
            op == "juxt"
            and left[0] == "sub"
            and left[1] == ("sym", "S")
            and self.context.canonical("S") is None
        ):  # S_{\lambda t}(v): soft thresholding
            return soft_threshold(self(right), self._threshold(left[2]))
        a, b = self(left), self(right)
        if op in ("juxt", "*") and not a.names and not b.names:
            if a.positional >= 1 and b.positional >= 1:
                if max(a.positional, b.positional) >= 2:
                    return self._matmul(a, b)
                if op == "*":
                    return Indexed((a.t * b.t).sum(), ())
        names, ta, tb = self._align(a, b)
        try:
            np.broadcast_shapes(ta.shape, tb.shape)
        except ValueError:
            raise ShapeMismatch(f"shapes {a.t.shape} and {b.t.shape} do not match") from None
        if op in ("+",):
            t = ta + tb
        elif op == "-":
            t = ta - tb
        elif op == "/":
            t = ta / tb
        else:
            t = ta * tb
        return Indexed(t, names)

    def _matmul(self, a: Indexed, b: Indexed) -> Indexed:
        ta, tb = a.t, b.t
        if ta.ndim == 1 and tb.ndim == 2 and tb.shape[0] == 1:
            ta = ta.reshape(ta.shape[0], 1)  # column times row: the outer product
        if ta.ndim > 2 or tb.ndim > 2:
            raise FormulaError("matrix products of more than two axes are not supported")
        try:
            out = ta @ tb
        except ValueError:
            raise ShapeMismatch(
                f"a matrix product of shapes {ta.shape} and {tb.shape} does not align"
            ) from None
        if out.ndim == 1 and out.shape[0] == 1 and a.t.ndim == 2 and a.t.shape[0] == 1:
            out = out.reshape(())  # row times column: a number
        return Indexed(out, ())

    def _threshold(self, items) -> Indexed:
        """The product of the symbols of a subscript (``prox_{\\lambda t}``: lambda * t)."""
        out = _const(1.0)
        for item in items:
            value = _const(float(item)) if item.isdigit() else self.symbol(item)
            if value.names or value.t.ndim:
                raise FormulaError("a threshold must be a number")
            out = Indexed(out.t * value.t, ())
        return out

    def eval_pow(self, base, exponent):
        if base == ("sym", "e") and self.context.canonical("e") is None:
            v = self(exponent)
            return Indexed(v.t.exp(), v.names)
        if exponent[0] == "sym" and exponent[1] in ("k", "t") or exponent[0] == "bin":
            if base[0] == "sym":  # x^{(k)}, x^{k+1}: the iterate, named by the context
                return self.symbol(base[1])
        e = self(exponent)
        if e.names or e.t.ndim or e.t.requires_grad:
            raise FormulaError("an exponent must be a number")
        p = float(e.t.data)
        if abs(p) > MAX_LATEX_EXPONENT:
            raise FormulaError(f"exponent {p:g} is too large (|exponent| <= {MAX_LATEX_EXPONENT})")
        if p == 2 and base[0] == "norm":  # ||v||^2 as a sum of squares (smooth at 0)
            v = self(base[1])
            axes = tuple(range(len(v.names), v.t.ndim))
            return Indexed((v.t * v.t).sum(axis=axes) if axes else v.t * v.t, v.names)
        v = self(base)
        if p == -1 and v.positional == 2:
            raise FormulaError("matrix inverses are not supported")
        return Indexed(v.t**p, v.names)

    def eval_call(self, name, fsub, args, _posts):
        full = name + ("_" + "".join(fsub) if fsub else "")
        if name in ("max", "min") and len(args) == 2:
            a, b = self(args[0]), self(args[1])
            names, ta, tb = self._align(a, b)
            mask = (ta.data >= tb.data) if name == "max" else (ta.data <= tb.data)
            return Indexed(ta * Tensor(mask * 1.0) + tb * Tensor(1.0 - mask), names)
        if len(args) != 1:
            raise FormulaError(f"{full} takes one argument here")
        v = self(args[0])
        if name in ("prox", "S") and fsub:
            return soft_threshold(v, self._threshold(fsub))
        if name in ("max", "min"):
            axes = tuple(range(len(v.names), v.t.ndim))
            return Indexed(v.t.max(axis=axes) if name == "max" else v.t.min(axis=axes), v.names)
        fn = self.context.functions.get(full) or self.context.functions.get(name)
        fn = fn or DEFAULT_FUNCTIONS.get(full) or DEFAULT_FUNCTIONS.get(name)
        if fn is None:
            raise FormulaError(f"unknown function {full}")
        return fn(v)

    def eval_sum(self, kind, indices, excluded, body):
        v = self(body)
        if not indices:
            axes = tuple(range(len(v.names), v.t.ndim))
            if not axes:
                raise FormulaError("a sum without an index over a single number")
            return Indexed(v.t.sum(axis=axes) if kind == "sum" else _product(v.t, axes), v.names)
        for k, other in excluded:
            if k not in v.names:
                raise FormulaError(f"the summand does not depend on {k}")
            n = v.t.shape[v.names.index(k)]
            if self.sizes.setdefault(other, n) != n:
                raise FormulaError(f"{k} and {other} range over different sizes")
            mask = Indexed(Tensor(1.0 - np.eye(n)), (k, other))
            names, ta, tb = self._align(v, mask)
            v = Indexed(
                _masked(ta, np.broadcast_to(tb.data, np.broadcast_shapes(ta.shape, tb.shape))),
                names,
            )
        for k in indices:
            if k not in v.names:
                raise FormulaError(f"the summand does not depend on {k}")
            if k not in self.sizes:
                self.sizes[k] = v.t.shape[v.names.index(k)]
            axis = v.names.index(k)
            t = v.t.sum(axis=axis) if kind == "sum" else _product(v.t, (axis,))
            v = Indexed(t, v.names[:axis] + v.names[axis + 1 :])
        return v

    def eval_iverson(self, op, left, right):
        letters = [
            n[1]
            for n in (left, right)
            if n[0] == "sym" and len(n[1]) == 1 and self.context.canonical(n[1]) is None
        ]
        if len(letters) == 2 and op in ("=", "!="):
            known = [self.sizes[k] for k in letters if k in self.sizes]
            if not known:
                raise FormulaError(f"the range of {letters[0]} and {letters[1]} is unknown here")
            n = known[0]  # indices compared with each other range alike
            for k in letters:
                if self.sizes.setdefault(k, n) != n:
                    raise FormulaError(f"{letters[0]} and {letters[1]} range over different sizes")
            eye = np.eye(n) if op == "=" else 1.0 - np.eye(n)
            return Indexed(Tensor(eye), tuple(letters))
        a, b = self(left), self(right)
        names, ta, tb = self._align(a, b)
        x, y = np.broadcast_arrays(ta.data, tb.data)
        table = {"=": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}
        return Indexed(Tensor(table[op] * 1.0), names)

    def eval_vector(self, items):
        values = [self(x) for x in items]
        if any(v.names or v.t.ndim for v in values):
            raise FormulaError("vector entries must be numbers")
        out = None
        for k, v in enumerate(values):
            e = np.zeros(len(values))
            e[k] = 1
            term = v.t * Tensor(e)
            out = term if out is None else out + term
        return Indexed(out, ())

    def eval_matrix(self, rows):
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise FormulaError("the rows of a matrix have different lengths")
        if len(rows) * width > 10_000:
            raise FormulaError("a matrix with more than 10000 entries")
        out = None
        for r, row in enumerate(rows):
            for c, item in enumerate(row):
                v = self(item)
                if v.names or v.t.ndim:
                    raise FormulaError("matrix entries must be numbers")
                e = np.zeros((len(rows), width))
                e[r, c] = 1
                term = v.t * Tensor(e)
                out = term if out is None else out + term
        if len(rows) == 1 or width == 1:
            out = out.reshape(-1) if width == 1 else out
        return Indexed(out, ())

    def eval_nabla(self, wrt_items, body):
        return self.eval_deriv(body, ("sym", "".join(wrt_items)))

    # -------------------------------------------------------------- derivatives
    def eval_deriv(self, num, den):
        items = ()
        if den[0] == "sub":
            den, items = den[1], den[2]
        name = _symbol_of(den)
        if name is None:
            raise FormulaError("a derivative with respect to an expression is not supported")
        canonical = self.context.canonical(name)
        if canonical is None:
            raise FormulaError(f"unknown symbol {_show(name)} in a derivative")
        value = self.symbol(canonical).t.data
        leaf = Tensor(np.array(value, dtype=np.float64), requires_grad=True)
        child = Evaluator(self.context, self.values, (canonical, leaf), self.depth + 1)
        child.sizes = self.sizes
        a = child(num)
        if a.t.size > MAX_JACOBIAN_ROWS:
            raise FormulaError(f"a Jacobian with more than {MAX_JACOBIAN_ROWS} rows")
        jac = np.zeros(a.t.shape + leaf.shape)
        if a.t.requires_grad:
            for idx in np.ndindex(*a.t.shape):
                leaf.grad = None
                seed = np.zeros(a.t.shape)
                seed[idx] = 1.0
                a.t.backward(seed)
                if leaf.grad is not None:
                    jac[idx] = leaf.grad
        if items:
            if a.positional:
                raise FormulaError("an indexed derivative of a vector-valued expression")
            if len(items) > leaf.ndim:
                raise FormulaError(f"{len(items)} indices for a value with {leaf.ndim} axes")
            index = [slice(None)] * len(a.names)
            names = list(a.names)
            for axis, item in enumerate(items):
                if item.isdigit():
                    index.append(int(item) - 1)
                else:
                    index.append(slice(None))
                    names.append(item)
                    self.sizes.setdefault(item, leaf.shape[axis])
            jac = jac[tuple(index)]
            jac, names = _diag_names(jac, names)
            return Indexed(Tensor(jac), names)
        return Indexed(Tensor(jac), a.names)


def _symbol_of(node):
    """The symbol name of ``x``, ``W^*`` (``W*``) or ``b'`` (``b'``), else None."""
    if node[0] == "sym":
        return node[1]
    if node[0] in ("star", "prime") and node[1][0] == "sym":
        return node[1][1] + ("*" if node[0] == "star" else "'")
    return None


def _show(name: str) -> str:
    return "\\hat{" + name[4:] + "}" if name.startswith("hat:") else name
