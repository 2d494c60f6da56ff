"""Checking LaTeX identities and gradients at random points.

:func:`compare` decides whether two parsed LaTeX expressions are equal as functions of a
:class:`~verigrad.formula.indexed.Context`'s variables: both are evaluated at ``trials``
random points (a point where either side is not finite is redrawn, up to ``max_redraws``
times) and agree when every entry satisfies ``|left - right| <= tol (1 + |right|)`` after
aligning their named axes. A disagreement comes with a counterexample: the point, the entry
(index letters, 1-based) and both values.

:func:`check_latex_gradient` is ``check-grad --latex``: the gradient of ``f`` with respect to
``wrt`` by autograd against a LaTeX formula written in matrix or index notation
(``(\\hat y - y) x^\\top`` or ``(\\hat y_i - y_i) x_j``, optionally as
``\\frac{\\partial l}{\\partial W_{ij}} = ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import ParameterError, check_int, check_number
from .checker import GradientCheck
from .indexed import Context, Evaluator, Indexed, NotCheckable, ShapeMismatch
from .language import FormulaError, NotFiniteHere
from .latex import parse_latex

__all__ = ["Comparison", "compare", "evaluate_at", "check_latex_gradient", "parse_definition"]


@dataclass
class Comparison:
    """The verdict of :func:`compare`: ``equal`` (None when it could not be checked)."""

    equal: bool | None
    detail: str = ""
    counterexample: dict | None = None
    points: int = 0
    extra: dict = field(default_factory=dict)


def _small(a) -> object:
    a = np.asarray(a, dtype=np.float64)
    return np.round(a, 6).tolist() if a.size <= 30 else f"array of shape {a.shape}"


def evaluate_at(context: Context, node, values: dict) -> Indexed:
    """``node`` evaluated at one point (``values``: variable -> array)."""
    return Evaluator(context, values)(node)


def _aligned(ev: Evaluator, left: Indexed, right: Indexed):
    names, ta, tb = ev._align(left, right)
    a, b = np.broadcast_arrays(ta.data, tb.data)
    return names, a, b


def compare(
    context: Context,
    left,
    right,
    trials: int = 3,
    seed: int = 0,
    tol: float = 1e-6,
    max_redraws: int = 20,
    quantity=None,
) -> Comparison:
    """Are tree nodes ``left`` and ``right`` equal at random points? (see the module doc)

    ``quantity`` is the node both sides stand for (``\\frac{\\partial l}{\\partial W_{ij}}``,
    by default ``left``): a counterexample's entry names its indices first, in its order
    (``i=1, j=4``), then any other index in order of appearance, so every message about one
    quantity lists its indices the same way."""
    rng = np.random.default_rng(seed)
    points = 0
    redraws = 0
    while points < trials:
        values = context.draw(rng)
        ev = Evaluator(context, values)
        try:
            with np.errstate(all="ignore"):
                a, b = ev(left), ev(right)
        except NotCheckable as exc:
            return Comparison(None, str(exc))
        except NotFiniteHere:
            a = b = None
        except ShapeMismatch as exc:
            return Comparison(False, str(exc), {"shapes": str(exc)}, points + 1)
        except FormulaError as exc:
            return Comparison(None, f"cannot evaluate: {exc}")
        except (ValueError, TypeError, IndexError, ZeroDivisionError, FloatingPointError) as exc:
            return Comparison(None, f"cannot evaluate: {' '.join(str(exc).split())}")
        if a is not None:
            a, b = _matrix_as_index(a, b), _matrix_as_index(b, a)
            try:
                names, x, y = _aligned(ev, a, b)
            except ValueError:
                return Comparison(
                    False,
                    f"the two sides have shapes {a.t.shape} and {b.t.shape}",
                    {"left_shape": list(a.t.shape), "right_shape": list(b.t.shape)},
                    points + 1,
                )
            if np.isfinite(x).all() and np.isfinite(y).all():
                points += 1
                bad = np.abs(x - y) > tol * (1 + np.abs(y))
                if bad.any():
                    index = np.unravel_index(int(np.argmax(np.abs(x - y))), x.shape)
                    found = {n: int(i) + 1 for n, i in zip(names, index, strict=False)}
                    own = a.names if quantity is None else _index_names(ev, quantity)
                    entry = {n: found[n] for n in _index_order(own, names)}
                    rest = [int(i) + 1 for i in index[len(names) :]]
                    if rest:
                        entry["position"] = rest
                    point = {k: _small(v) for k, v in values.items()}
                    where = (
                        " at " + ", ".join(f"{k}={v}" for k, v in entry.items()) if entry else ""
                    )
                    return Comparison(
                        False,
                        f"differ{where}: {float(x[index]) + 0.0:.6g} vs {float(y[index]) + 0.0:.6g}",
                        {
                            "point": point,
                            "entry": entry,
                            "left": float(x[index]),
                            "right": float(y[index]),
                        },
                        points,
                    )
                continue
        redraws += 1
        if redraws > max_redraws:
            return Comparison(None, "not finite at the random points tried")
    return Comparison(True, f"equal at {points} random points (tol {tol:g})", None, points)


def _index_names(ev: Evaluator, node) -> tuple:
    """The free indices of ``node`` in its own order; none when it cannot be evaluated (the
    counterexample then keeps the order of appearance)."""
    try:
        with np.errstate(all="ignore"):
            return ev(node).names
    except (FormulaError, ValueError, TypeError, IndexError, ZeroDivisionError, FloatingPointError):
        return ()


def _index_order(own, names) -> list:
    """``names`` with those of ``own`` first, in ``own``'s order."""
    return [n for n in own if n in names] + [n for n in names if n not in own]


def _matrix_as_index(a: Indexed, other: Indexed) -> Indexed:
    """Matrix notation read as index notation beside it: ``a`` with only positional axes,
    as many as ``other`` has names and no positional ones, takes those names in order."""
    if not a.names and other.names and not other.positional and a.positional == len(other.names):
        return Indexed(a.t, other.names)
    return a


def parse_definition(text: str):
    """``"NAME = EXPR"`` (LaTeX) as ``(symbol name, tree node)``."""
    if not isinstance(text, str) or text.count("=") < 1:
        raise ParameterError("definitions", f"expected NAME = EXPR, got {text!r}")
    formula = parse_latex(text)
    if len(formula.parts) != 2 or formula.relations != ("=",):
        raise ParameterError("definitions", f"expected one NAME = EXPR, got {text!r}")
    name = formula.parts[0]
    if name[0] == "sub" and name[1][0] == "sym":  # \sigma(a)_i style is not a name
        name = ("sym", name[1][1] + "_" + "".join(name[2]))
    if name[0] != "sym":
        raise ParameterError("definitions", f"the left side must be a symbol, got {text!r}")
    return name[1], formula.parts[1]


def _gradient_formula(text: str, wrt: str):
    """The right-hand side of ``--grad`` and the index letters naming ``wrt``'s axes (from a
    ``\\frac{\\partial l}{\\partial W_{ij}} = ...`` left side, else None)."""
    formula = parse_latex(text)
    rhs = formula.parts[-1]
    letters = None
    first = formula.parts[0]
    if len(formula.parts) > 1 and first[0] == "deriv":
        den = first[2]
        if den[0] == "sub" and den[1][0] == "sym":
            letters = den[2]
    return rhs, letters


def check_latex_gradient(
    f: str,
    wrt,
    grads,
    variables,
    definitions=(),
    trials: int = 5,
    seed: int = 0,
    tol: float = 1e-6,
):
    """``check-grad --latex``: each LaTeX gradient in ``grads`` against autograd.

    ``f`` is the scalar function (LaTeX), ``wrt`` the variable names, ``grads`` their claimed
    gradients, ``variables`` :class:`~verigrad.formula.checker.Variable` s (their names are
    LaTeX symbols: ``W``, ``x``; ``\\hat{y}`` is ``hat:y``), ``definitions`` ``"NAME = EXPR"``
    texts. A gradient in index notation has its free indices mapped to the axes of ``wrt`` in
    the order of the left side's subscripts (``W_{ij}``), else in order of appearance.
    Returns a list of :class:`~verigrad.formula.checker.GradientCheck`. Errors are
    :class:`ParameterError` about ``f``, ``grads``, ``wrt``, ``definitions``, ``trials``,
    ``seed`` or ``tol``.
    """
    trials = check_int(trials, "trials", 1, 1000)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    tol = check_number(tol, "tol", 0, 1, low_open=True, high_open=True)
    wrt, grads = list(wrt), list(grads)
    if not wrt or len(wrt) != len(grads):
        raise ParameterError("grads", f"{len(grads)} formula(s) for {len(wrt)} variable(s)")
    context = Context({v.name: v for v in variables})
    for text in definitions:
        try:
            name, node = parse_definition(text)
        except FormulaError as exc:
            raise ParameterError("definitions", f"refused: {exc}") from None
        context.definitions[name] = node
    for name in wrt:
        if name not in context.variables:
            raise ParameterError("wrt", f"{name!r} is not a declared variable")
    try:
        f_node = parse_latex(f).parts[-1]
    except FormulaError as exc:
        raise ParameterError("f", f"refused: {exc}") from None
    parsed = []
    for text, name in zip(grads, wrt, strict=True):
        try:
            parsed.append(_gradient_formula(text, name))
        except FormulaError as exc:
            raise ParameterError("grads", f"refused: {exc}") from None
    checks = []
    for (rhs, letters), name in zip(parsed, wrt, strict=True):
        check = GradientCheck(name, grads[wrt.index(name)], context.variables[name].shape)
        rng = np.random.default_rng(seed)
        for trial in range(trials):
            for _ in range(21):
                values = context.draw(rng)
                try:
                    truth = _autograd(context, values, f_node, name)
                    claimed = Evaluator(context, values)(rhs)
                except NotFiniteHere:
                    continue
                except NotCheckable as exc:
                    raise ParameterError("grads", str(exc)) from None
                except (FormulaError, ValueError, TypeError) as exc:
                    raise ParameterError("grads", f"cannot evaluate: {exc}") from None
                if np.isfinite(truth).all() and np.isfinite(claimed.t.data).all():
                    break
            else:
                raise ParameterError("f", "not finite at 21 random points")
            try:
                array = _as_array(claimed, letters, truth.shape, name)
            except ValueError as exc:  # a transposed or misshapen formula: wrong, not refused
                check.agrees = False
                check.points_tried += 1
                check.points_wrong += 1
                check.reason = getattr(exc, "reason", str(exc))
                break
            _record(check, array, truth, trial, tol)
        checks.append(check)
    return checks


def _autograd(context, values, f_node, name) -> np.ndarray:
    ev = Evaluator(context, values)
    den = ("sym", name)
    try:
        out = ev.eval_deriv(f_node, den)
    except FormulaError as exc:
        raise ParameterError("f", f"cannot evaluate: {exc}") from None
    if out.names:
        raise ParameterError("f", "must be a scalar (it has free indices)")
    return out.t.data


def _as_array(claimed: Indexed, letters, shape, name) -> np.ndarray:
    """The claimed gradient as an array of ``shape``: free indices become axes."""
    names = list(claimed.names)
    data = np.asarray(claimed.t.data)
    if not names:
        if data.shape == shape or data.size == 1:
            return np.broadcast_to(data.reshape(()) if data.size == 1 else data, shape)
        raise ParameterError(
            "grads", f"the formula has shape {data.shape} but {name} has shape {shape}"
        )
    order = list(letters) if letters else sorted(names)
    if sorted(order) != sorted(names) and not set(names) <= set(order):
        raise ParameterError(
            "grads", f"free indices {', '.join(names)} do not match {name}'s {len(shape)} axes"
        )
    if len(order) != len(shape) or data.ndim != len(names):
        raise ParameterError(
            "grads", f"{len(names)} free indices for {name} with {len(shape)} axes"
        )
    expanded = data
    for n in order:
        if n not in names:
            expanded = expanded[..., None]
            names.append(n)
    expanded = np.transpose(expanded, [names.index(n) for n in order])
    try:
        return np.broadcast_to(expanded, shape)
    except ValueError:
        raise ParameterError(
            "grads", f"the formula's array has shape {expanded.shape} but {name} has {shape}"
        ) from None


def _record(check: GradientCheck, claimed, reference, trial, tol) -> None:
    check.points_tried += 1
    check.entries_tried += reference.size
    bad = np.abs(claimed - reference) > tol * (1 + np.abs(reference))
    if not bad.any():
        return
    check.agrees = False
    check.points_wrong += 1
    check.entries_wrong += int(bad.sum())
    index = np.unravel_index(int(np.argmax(np.abs(claimed - reference))), reference.shape)
    diff = abs(float(claimed[index]) - float(reference[index]))
    if not check.worst or diff > check.worst["abs_diff"]:
        check.worst = {
            "point": trial + 1,
            "index": [int(i) for i in index],
            "entry": f"{check.wrt}[{', '.join(str(int(i)) for i in index)}]"
            if index
            else check.wrt,
            "yours": float(claimed[index]),
            "autograd": float(reference[index]),
            "abs_diff": diff,
            "yours_at_point": np.asarray(claimed).tolist() if claimed.size <= 25 else None,
            "autograd_at_point": reference.tolist() if reference.size <= 25 else None,
        }
    check.reason = (
        f"disagrees at {check.points_wrong} of {check.points_tried} points "
        f"({check.entries_wrong} of {check.entries_tried} entries)"
    )
