"""A safe little language for formulas typed on the command line (``verigrad check-grad``).

A formula is a Python *expression* restricted by a whitelist and evaluated by walking its
syntax tree here: the text never reaches ``eval``, ``exec`` or ``compile``. Parsing
(:func:`parse`) validates the whole tree before anything runs; evaluation
(:func:`evaluate`) only ever sees a validated tree.

Allowed
    * numbers (int or float literals, finite, ``|v| <= 1e300``) and the constant ``pi``;
    * names declared by the caller (the variables), bound to arrays at evaluation;
    * ``+ - * / ** @`` and unary ``-``/``+`` (NumPy broadcasting);
    * indexing with integer literals, slices of integer literals and tuples of those
      (``W[0]``, ``x[1:3]``, ``A[:, -1]``);
    * calls to the functions of :data:`FUNCTIONS`, with tensor arguments, plus the integer
      options that function lists (``sum(x, axis=0)``, ``softmax(z, 0)``).

Refused (a :class:`FormulaError` naming the reason, nothing evaluated): attributes,
underscore or dunder names, undeclared names, calls of anything outside the table, keyword
arguments the function does not take, ``*args``/``**kwargs``, lambdas, comprehensions,
conditionals, comparisons, strings and every other node; text longer than
:data:`MAX_LENGTH` characters; nesting deeper than :data:`MAX_DEPTH`; an exponent whose value
is known before evaluation (no variables in it) with ``|p| > MAX_EXPONENT`` (so
``10**10**10`` is refused: its exponent ``10**10`` is folded and found too large).

At evaluation every intermediate result is limited to :data:`MAX_ELEMENTS` entries
(``outer`` of two long vectors, say), all intermediates together to
:data:`MAX_TOTAL_ELEMENTS` (autograd keeps them alive) and a matrix product to
:data:`MAX_MATMUL_FLOPS`, each checked *before* the array is allocated.

Every function is built from :class:`verigrad.Tensor` operations, so ``evaluate`` on tensors
that require grad gives the reference gradient by autograd, and the same table evaluates a
hand-derived gradient formula on constants.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._checks import NotFiniteError, ParameterTypeError
from ..tensor import Tensor
from .functions import CONSTANTS, FUNCTIONS

__all__ = [
    "FormulaError",
    "NotFiniteHere",
    "Formula",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_ELEMENTS",
    "MAX_TOTAL_ELEMENTS",
    "MAX_MATMUL_FLOPS",
    "parse",
    "evaluate",
    "check_name",
]

MAX_LENGTH = 1000
MAX_DEPTH = 50
MAX_EXPONENT = 100
MAX_ELEMENTS = 4_000_000
MAX_TOTAL_ELEMENTS = 20_000_000
MAX_MATMUL_FLOPS = 2_000_000_000
MAX_LITERAL = 1e300


class FormulaError(ValueError):
    """The formula was refused (at parse time) or could not be evaluated."""


class NotFiniteHere(FormulaError):
    """The formula is not finite at these values (an operation refused them as such): another
    random point may do."""


_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}


# ---------------------------------------------------------------------------- validation
def check_name(name: str) -> str:
    """A name the caller may declare as a variable (a plain identifier, not a table name)."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise FormulaError(f"name {name!r}: must be a plain identifier")
    if name.startswith("_"):
        raise FormulaError(f"name {name!r}: names starting with '_' are not allowed")
    if name in FUNCTIONS or name in CONSTANTS:
        raise FormulaError(f"name {name!r}: clashes with the function or constant of that name")
    if keyword.iskeyword(name):
        raise FormulaError(f"name {name!r}: is a Python keyword")
    return name


@dataclass(frozen=True)
class Formula:
    """A validated expression: ``source`` text, its tree and the variables it uses."""

    source: str
    tree: ast.expr
    names: frozenset

    def __str__(self):
        return self.source


def _describe(node) -> str:
    """A short human name for a refused node."""
    kinds = {
        ast.Attribute: "attribute access",
        ast.Lambda: "lambda",
        ast.ListComp: "comprehension",
        ast.SetComp: "comprehension",
        ast.DictComp: "comprehension",
        ast.GeneratorExp: "generator expression",
        ast.IfExp: "conditional expression",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.NamedExpr: "assignment (:=)",
        ast.Starred: "starred argument",
        ast.List: "list",
        ast.Dict: "dict",
        ast.Set: "set",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.JoinedStr: "f-string",
    }
    return kinds.get(type(node), type(node).__name__)


def _precheck_text(source: str) -> None:
    """Cheap checks on the raw text, before Python's parser sees it."""
    if not isinstance(source, str):
        raise FormulaError(f"expected text, got {type(source).__name__}")
    if not source.strip():
        raise FormulaError("the formula is empty")
    if len(source) > MAX_LENGTH:
        raise FormulaError(
            f"the formula has {len(source)} characters, more than the limit {MAX_LENGTH}"
        )
    if not source.isascii() or any(c in source for c in "\x00;'\"`\\\n\r"):
        raise FormulaError(
            "the formula may contain only ASCII letters, digits, operators, "
            "brackets, commas, dots in numbers and spaces (no strings, ';' or newlines)"
        )
    depth = deepest = 0
    for c in source:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise FormulaError(f"brackets nest {deepest} deep, more than the limit {MAX_DEPTH}")


def _depth(tree) -> int:
    """Depth of an AST, iteratively (so a pathological tree cannot exhaust the stack)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _literal(node):
    """The value of a number literal, or None if ``node`` is not one."""
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, numbers.Real)
        and not isinstance(node.value, bool)
    ):
        return node.value
    return None


def _int_literal(node):
    """An int literal, optionally negated (``-1``), or None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    value = _literal(node)
    if isinstance(value, int) and abs(value) <= 2**31:
        return sign * value
    return None


class _Validator:
    """Walks a parsed tree once; raises FormulaError on the first disallowed thing."""

    def __init__(self, names):
        self.names = frozenset(names)
        self.used = set()

    def visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise FormulaError(f"{_describe(node)} is not allowed")
        return method(node)

    def visit_Expression(self, node):
        self.visit(node.body)

    def visit_Constant(self, node):
        value = _literal(node)
        if value is None:
            raise FormulaError(
                f"constant {type(node.value).__name__} is not allowed (numbers only)"
            )
        too_big = (
            (abs(value) > MAX_LITERAL)
            if isinstance(value, int)
            else (not math.isfinite(value) or abs(value) > MAX_LITERAL)
        )
        if too_big:
            raise FormulaError(f"number literal too large (limit {MAX_LITERAL:g})")

    def visit_Name(self, node):
        name = node.id
        if not isinstance(node.ctx, ast.Load):
            raise FormulaError(f"assignment to {name!r} is not allowed")
        if name.startswith("_"):
            raise FormulaError(
                f"name {name!r} is not allowed (names starting with '_' are refused)"
            )
        if name in FUNCTIONS:
            raise FormulaError(f"function {name!r} must be called, as {name}(...)")
        if name not in self.names and name not in CONSTANTS:
            declared = ", ".join(sorted(self.names)) or "none"
            raise FormulaError(f"undeclared name {name!r} (declared: {declared})")
        if name in self.names:
            self.used.add(name)

    def visit_BinOp(self, node):
        if type(node.op) not in _BINARY:
            raise FormulaError(
                f"operator {type(node.op).__name__} is not allowed (only + - * / ** @)"
            )
        self.visit(node.left)
        self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            exponent = _fold(node.right)
            if exponent is not None and abs(exponent) > MAX_EXPONENT:
                raise FormulaError(
                    f"exponent {exponent:g} is too large (|exponent| <= {MAX_EXPONENT})"
                )
        _fold(node)  # refuses constant sub-expressions that overflow

    def visit_UnaryOp(self, node):
        if type(node.op) not in _UNARY:
            raise FormulaError(
                f"operator {type(node.op).__name__} is not allowed (only unary - and +)"
            )
        self.visit(node.operand)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise FormulaError(
                f"only the table functions can be called; {_describe(node.func)} cannot"
            )
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            raise FormulaError(
                f"call of {name!r} is not allowed (functions: {', '.join(sorted(FUNCTIONS))})"
            )
        low, high = function.n_tensors
        n_pos = len(node.args)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(f"{name}: starred arguments are not allowed")
        if n_pos < low or n_pos > high + len(function.options):
            raise FormulaError(
                f"{name}: takes {low}"
                + (f"-{high}" if high != low else "")
                + " argument(s)"
                + (f" and options {function.options}" if function.options else "")
                + f", got {n_pos}"
            )
        for arg in node.args[:high]:
            self.visit(arg)
        for option, arg in zip(function.options, node.args[high:], strict=False):
            self._option(name, option, arg)
        seen = set()
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in function.options:
                raise FormulaError(
                    f"{name}: keyword argument {kw.arg if kw.arg else '**'!s} is not allowed"
                )
            if kw.arg in seen:
                raise FormulaError(f"{name}: option {kw.arg} given twice")
            seen.add(kw.arg)
            self._option(name, kw.arg, kw.value)

    def _option(self, function, option, node):
        if _int_literal(node) is None:
            raise FormulaError(f"{function}: option {option} must be an integer literal")

    def visit_Subscript(self, node):
        self.visit(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(items) > 8:
            raise FormulaError("too many indices")
        for item in items:
            if isinstance(item, ast.Slice):
                for part in (item.lower, item.upper, item.step):
                    if part is not None and _int_literal(part) is None:
                        raise FormulaError("slice bounds must be integer literals")
                if item.step is not None and _int_literal(item.step) == 0:
                    raise FormulaError("slice step cannot be zero")
            elif _int_literal(item) is None:
                raise FormulaError("indices must be integer literals or slices of them")


def _fold(node):
    """The value of a variable-free arithmetic sub-expression (None if it has variables).

    Folding is bounded: every exponent is checked before the power is taken and every value
    must stay below ``MAX_LITERAL``, so this never does big-integer arithmetic.
    """
    value = _literal(node)
    if value is not None:
        return float(value)
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        inner = _fold(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if (
        isinstance(node, ast.BinOp)
        and type(node.op) in _BINARY
        and not isinstance(node.op, ast.MatMult)
    ):
        left, right = _fold(node.left), _fold(node.right)
        if left is None or right is None:
            return None
        op = type(node.op)
        if op is ast.Pow and abs(right) > MAX_EXPONENT:
            raise FormulaError(f"exponent {right:g} is too large (|exponent| <= {MAX_EXPONENT})")
        try:
            if op is ast.Add:
                result = left + right
            elif op is ast.Sub:
                result = left - right
            elif op is ast.Mult:
                result = left * right
            elif op is ast.Div:
                result = left / right
            else:
                result = left**right
        except (OverflowError, ZeroDivisionError):
            raise FormulaError("a constant sub-expression overflows or divides by zero") from None
        if isinstance(result, complex) or not math.isfinite(result) or abs(result) > MAX_LITERAL:
            raise FormulaError("a constant sub-expression overflows or is not a real number")
        return result
    return None


def parse(source: str, names) -> Formula:
    """Validate ``source`` against the whitelist and the declared ``names``.

    Raises :class:`FormulaError` with a one-line reason; nothing of the formula is run.
    """
    names = [check_name(n) for n in names]
    _precheck_text(source)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"not a valid expression ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("the expression is too complex to parse") from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise FormulaError(f"the expression nests {depth} deep, more than the limit {MAX_DEPTH}")
    validator = _Validator(names)
    validator.visit(tree)
    return Formula(source.strip(), tree.body, frozenset(validator.used))


# ---------------------------------------------------------------------------- evaluation
class _Evaluator:
    def __init__(self, env):
        self.env = env
        self.allocated = 0

    def __call__(self, node):
        out = getattr(self, "eval_" + type(node).__name__)(node)
        if isinstance(out, Tensor) and node is not None and not isinstance(node, ast.Name):
            self.allocated += out.size
            if self.allocated > MAX_TOTAL_ELEMENTS:
                raise FormulaError(
                    f"the intermediate results exceed {MAX_TOTAL_ELEMENTS} entries in all"
                )
        return out

    def _check_size(self, shape, what) -> None:
        size = math.prod(shape)
        if size > MAX_ELEMENTS or self.allocated + size > MAX_TOTAL_ELEMENTS:
            raise FormulaError(
                f"{what} would have {size} entries, more than the limit "
                f"({MAX_ELEMENTS} per result, {MAX_TOTAL_ELEMENTS} in all)"
            )

    def eval_Constant(self, node):
        return float(node.value)

    def eval_Name(self, node):
        if node.id in self.env:
            return self.env[node.id]
        return CONSTANTS[node.id]

    def eval_UnaryOp(self, node):
        value = self(node.operand)
        return -value if isinstance(node.op, ast.USub) else value

    def eval_BinOp(self, node):
        left, right = self(node.left), self(node.right)
        op = type(node.op)
        if not isinstance(left, Tensor) and not isinstance(right, Tensor):
            if op is ast.MatMult:
                raise FormulaError("@ needs arrays on both sides")
            return _fold(node)
        shape_l, shape_r = (
            np.shape(getattr(left, "data", left)),
            np.shape(getattr(right, "data", right)),
        )
        if op is ast.MatMult:
            if not isinstance(left, Tensor) or not isinstance(right, Tensor):
                raise FormulaError("@ needs arrays on both sides")
            if len(shape_l) >= 2 and len(shape_r) >= 2:
                self._check_size(shape_l[:-1] + shape_r[-1:], "a matrix product")
            flops = math.prod(shape_l) * (shape_r[-1] if len(shape_r) >= 2 else 1)
            if flops > MAX_MATMUL_FLOPS:
                raise FormulaError(
                    f"a matrix product of shapes {shape_l} and {shape_r} is too "
                    f"costly (limit {MAX_MATMUL_FLOPS:.0e} multiply-adds)"
                )
            return left @ right
        try:
            self._check_size(np.broadcast_shapes(shape_l, shape_r), f"the result of {_BINARY[op]}")
        except ValueError:
            raise FormulaError(
                f"shapes {shape_l} and {shape_r} do not broadcast for {_BINARY[op]}"
            ) from None
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        return left**right

    def eval_Call(self, node):
        function = FUNCTIONS[node.func.id]
        high = function.n_tensors[1]
        tensors = [self._tensor(self(arg)) for arg in node.args[:high]]
        options = {
            name: _int_literal(arg)
            for name, arg in zip(function.options, node.args[high:], strict=False)
        }
        options.update({k.arg: _int_literal(k.value) for k in node.keywords})
        if node.func.id == "outer":
            self._check_size((tensors[0].size, tensors[1].size), "outer")
        return function.impl(*tensors, **options)

    def eval_Subscript(self, node):
        value = self._tensor(self(node.value))
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index = []
        for item in items:
            if isinstance(item, ast.Slice):
                index.append(
                    slice(
                        *(
                            None if p is None else _int_literal(p)
                            for p in (item.lower, item.upper, item.step)
                        )
                    )
                )
            else:
                index.append(_int_literal(item))
        index = tuple(index)
        if len(index) > value.ndim:
            raise FormulaError(
                f"too many indices ({len(index)}) for an array of shape {value.shape}"
            )
        for axis, i in enumerate(index):
            if isinstance(i, int) and not -value.shape[axis] <= i < value.shape[axis]:
                raise FormulaError(
                    f"index {i} is out of range for axis {axis} of size {value.shape[axis]}"
                )
        return value[index]

    @staticmethod
    def _tensor(value):
        return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=np.float64))


def evaluate(formula: Formula, env: dict):
    """Evaluate a validated :class:`Formula` with ``env`` mapping each variable to a Tensor.

    Returns a Tensor (or a float for a formula without variables). Errors during evaluation
    (shapes that do not align, an index out of range) raise :class:`FormulaError`.
    """
    if not isinstance(formula, Formula):
        raise ParameterTypeError(
            "formula", f"expected a Formula from parse(), got {type(formula).__name__}"
        )
    missing = formula.names - set(env)
    if missing:
        raise FormulaError(f"no value for {', '.join(sorted(missing))}")
    try:
        with np.errstate(all="ignore"):
            return _Evaluator(env)(formula.tree)
    except FormulaError:
        raise
    except (
        ValueError,
        TypeError,
        IndexError,
        ZeroDivisionError,
        FloatingPointError,
        OverflowError,
    ) as exc:
        # an operation that refused non-finite values (NotFiniteError): another point may do
        error = NotFiniteHere if isinstance(exc, NotFiniteError) else FormulaError
        raise error(f"cannot evaluate {formula.source!r}: {' '.join(str(exc).split())}") from None
