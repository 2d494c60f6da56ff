"""Values and symbols of LaTeX evaluation: index-named arrays, the function table, contexts.

An :class:`Indexed` is a :class:`~verigrad.Tensor` whose first axes are named by index letters
(see :mod:`~verigrad.formula.indexed`); a :class:`Context` holds a problem's symbols. The
helpers here build autograd nodes: :func:`soft_threshold` (the prox of the l1 norm) and a mask
that is exactly 0 where a sum excludes terms (even NaN ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from ..tensor import Tensor, make_node
from .language import FormulaError
from .latex import LatexFormula, parse_latex

__all__ = [
    "Indexed",
    "Context",
    "NotCheckable",
    "ShapeMismatch",
    "DEFAULT_FUNCTIONS",
    "soft_threshold",
]


class ShapeMismatch(FormulaError):
    """Operands whose shapes do not fit (a matrix product that does not align): the formula
    is wrong for these variables, not unreadable."""


class NotCheckable(FormulaError):
    """A formula that is well formed but states nothing a machine can check (``\\dots``,
    ``x \\in \\mathbb{R}^d``)."""


@dataclass(frozen=True)
class Indexed:
    """A tensor whose first ``len(names)`` axes are named by index letters."""

    t: Tensor
    names: tuple = ()

    @property
    def positional(self) -> int:
        return self.t.ndim - len(self.names)


def _const(value) -> Indexed:
    return Indexed(Tensor(np.asarray(value, dtype=np.float64)), ())


def _softmax_or_sigmoid(x: Indexed) -> Indexed:
    if x.positional == 1 and x.t.shape[-1] > 1:
        return Indexed(F.softmax(x.t, -1), x.names)
    return Indexed(F.sigmoid(x.t), x.names)


def _elementwise(fn):
    return lambda x: Indexed(fn(x.t), x.names)


def _sign(x: Indexed) -> Indexed:
    return Indexed(Tensor(np.sign(x.t.data)), x.names)


#: default meaning of the function names
DEFAULT_FUNCTIONS = {
    "exp": _elementwise(lambda t: t.exp()),
    "log": _elementwise(lambda t: t.log()),
    "ln": _elementwise(lambda t: t.log()),
    "sqrt": _elementwise(lambda t: t.sqrt()),
    "tanh": _elementwise(F.tanh),
    "relu": _elementwise(F.relu),
    "sigmoid": _elementwise(F.sigmoid),
    "sign": _sign,
    "sigma": _softmax_or_sigmoid,
    "softmax": lambda x: Indexed(F.softmax(x.t, -1), x.names),
}


@dataclass
class Context:
    """The symbols of a problem.

    ``variables``: name -> :class:`~verigrad.formula.checker.Variable` (drawn at random);
    ``definitions``: name -> LaTeX right-hand side; ``aliases``: name -> name; ``functions``:
    function name -> callable on :class:`Indexed` (overrides :data:`DEFAULT_FUNCTIONS`).
    Symbol names are LaTeX-ish: ``W``, ``hat:y``, ``lambda``, ``b'``, ``W*``, ``sigma_1``.
    """

    variables: dict = field(default_factory=dict)
    definitions: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)

    def __post_init__(self):
        self._parsed = {}

    def definition(self, name):
        if name not in self._parsed:
            text = self.definitions[name]
            self._parsed[name] = text if isinstance(text, tuple) else _single(parse_latex(text))
        return self._parsed[name]

    def with_definitions(self, extra: dict) -> Context:
        out = Context(
            dict(self.variables),
            {**self.definitions, **extra},
            dict(self.aliases),
            dict(self.functions),
        )
        return out

    def knows(self, name) -> bool:
        name = self.aliases.get(name, name)
        return name in self.variables or name in self.definitions

    def canonical(self, name):
        name = self.aliases.get(name, name)
        if name in self.variables or name in self.definitions:
            return name
        if len(name) == 1 and name.isupper():
            lower = self.aliases.get(name.lower(), name.lower())
            if lower in self.variables or lower in self.definitions:
                return lower
        return None

    def draw(self, rng) -> dict:
        return {n: v.draw(rng) for n, v in self.variables.items()}


def _single(formula: LatexFormula):
    if len(formula.parts) != 1:
        raise FormulaError(f"a definition must be one expression: {formula.source}")
    return formula.parts[0]


def _diag_names(t: np.ndarray, names: list):
    """Take the diagonal over repeated names (``J[i, i, j] -> D[i, j]``)."""
    letters = {}
    subs = "".join(letters.setdefault(n, chr(97 + len(letters))) for n in names)
    out_names = list(dict.fromkeys(names))
    out = "".join(letters[n] for n in out_names)
    return np.einsum(f"{subs}...->{out}...", t).copy(), tuple(out_names)


def soft_threshold(v: Indexed, threshold: Indexed) -> Indexed:
    """``sign(v) max(|v| - threshold, 0)``, the prox of ``threshold ||.||_1``."""
    sign = Tensor(np.sign(v.t.data))
    return Indexed(sign * F.relu(v.t.abs() - threshold.t), v.names)


def _masked(t: Tensor, mask: np.ndarray) -> Tensor:
    """``t`` where ``mask`` is 1 and exactly 0 elsewhere (even where ``t`` is NaN: an excluded
    ``p_ii log(p_ii / q_ii)`` with ``p_ii = 0``)."""
    keep = mask != 0
    data = np.where(keep, np.broadcast_to(t.data, keep.shape), 0.0)

    def backward(g):
        g = np.where(keep, g, 0.0)
        extra = g.ndim - t.ndim
        g = g.sum(axis=tuple(range(extra))) if extra else g
        axes = tuple(i for i, n in enumerate(t.shape) if n == 1 and g.shape[i] != 1)
        return (g.sum(axis=axes, keepdims=True) if axes else g,)

    return make_node(data, (t,), backward, "masked")


def _product(t: Tensor, axes) -> Tensor:
    for axis in sorted(axes, reverse=True):
        n = t.shape[axis]
        out = None
        for k in range(n):
            index = (slice(None),) * axis + (k,)
            out = t[index] if out is None else out * t[index]
        t = out
    return t
