"""Check a hand-derived gradient formula against autograd at random points.

The scalar function ``f`` and each claimed gradient are :mod:`~verigrad.formula.language`
expressions over declared variables. At every trial the variables are drawn at random,
``f`` is evaluated on Tensors that require grad and differentiated by autograd (the
reference), and each gradient formula is evaluated with the same function table on
constants. An entry agrees when ``|yours - autograd| <= tol * (1 + |autograd|)``. At the
first point the reference itself is checked against central finite differences, so a wrong
verdict cannot come from a bug in autograd.

Variables (``parse_shape("W=3x4", kind)``)
    ``normal``   entries ~ N(0, 1)
    ``positive`` entries ~ U(0.5, 2)  (for log, sqrt)
    ``onehot``   a one-hot vector of length K, constant
    ``prob``     a probability vector ~ Dirichlet(1)

Errors are :class:`~verigrad._checks.ParameterError` naming the parameter as data: ``f``
(the function was refused, could not be evaluated, is not scalar or never finite), ``grads``
(a gradient formula was refused or could not be evaluated), ``wrt``, ``variables``,
``trials``, ``seed``, ``tol``; ``parse_shape`` names ``spec`` or ``kind``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._checks import ParameterError, check_int, check_number
from ..gradcheck import numerical_gradient
from ..tensor import Tensor, no_grad
from .language import FormulaError, NotFiniteHere, check_name, evaluate, parse

__all__ = [
    "Variable",
    "parse_shape",
    "GradientCheck",
    "check_gradients",
    "MAX_TOTAL_SIZE",
    "MAX_TRIALS",
    "KINDS",
]

MAX_TOTAL_SIZE = 100_000
MAX_TRIALS = 1000
MAX_NDIM = 6
KINDS = ("normal", "positive", "onehot", "prob")
_FD_LIMIT = 500  # entries differentiated by finite differences to validate autograd


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple
    kind: str = "normal"

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "normal":
            return rng.standard_normal(self.shape)
        if self.kind == "positive":
            return rng.uniform(0.5, 2.0, self.shape)
        if self.kind == "onehot":
            out = np.zeros(self.shape)
            out[rng.integers(self.shape[0])] = 1.0
            return out
        return rng.dirichlet(np.ones(self.shape[0]))

    def describe(self) -> str:
        return f"{self.name} {self.shape} {self.kind}"


def parse_shape(spec: str, kind: str = "normal") -> Variable:
    """``"W=3x4"`` (also ``"W=3,4"``, ``"s=scalar"`` or ``"s=()"``) as a :class:`Variable`.

    A scalar is said explicitly: an empty ``"x="`` is refused (a forgotten size must not
    quietly become a scalar). Raises :class:`ParameterError` about ``spec`` (or ``kind``).
    """
    if kind not in KINDS:
        raise ParameterError("kind", f"must be one of {KINDS}, got {kind!r}")
    if not isinstance(spec, str) or spec.count("=") != 1:
        raise ParameterError("spec", f"expected NAME=DIMS such as W=3x4, got {spec!r}")
    name, dims = (part.strip() for part in spec.split("="))
    try:
        check_name(name)
    except FormulaError as exc:
        raise ParameterError("spec", f"{exc}") from None
    if not dims:
        raise ParameterError(
            "spec", f"no dimensions for {name} in {spec!r}; write {name}=3x4, or {name}=scalar"
        )
    if dims in ("scalar", "()"):
        shape = ()
    else:
        parts = dims.replace(",", "x").split("x")
        if not all(p.strip().isdigit() for p in parts):
            raise ParameterError(
                "spec",
                f"dimensions of {name} must be positive integers separated by 'x', got {dims!r}",
            )
        if any(len(p.strip()) > 7 for p in parts):  # before int(): no huge-number parsing
            raise ParameterError(
                "spec", f"{name} is too large ({dims!r}); at most {MAX_TOTAL_SIZE} entries"
            )
        shape = tuple(int(p) for p in parts)
    if any(n < 1 for n in shape):
        raise ParameterError("spec", f"dimensions of {name} must be >= 1, got {dims!r}")
    if len(shape) > MAX_NDIM:
        raise ParameterError("spec", f"{name} has {len(shape)} dimensions, more than {MAX_NDIM}")
    if math.prod(shape) > MAX_TOTAL_SIZE:
        raise ParameterError(
            "spec",
            f"{name} would have {math.prod(shape)} entries, more than the limit {MAX_TOTAL_SIZE}",
        )
    if kind in ("onehot", "prob") and len(shape) != 1:
        raise ParameterError("spec", f"{name} must be a vector (one dimension K), got {dims!r}")
    return Variable(name, shape, kind)


@dataclass
class GradientCheck:
    """Verdict for one variable: does the claimed formula equal the autograd gradient?"""

    wrt: str
    formula: str
    shape: tuple
    agrees: bool = True
    points_tried: int = 0
    points_wrong: int = 0
    entries_wrong: int = 0
    entries_tried: int = 0
    reason: str = ""
    worst: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "wrt": self.wrt,
            "formula": self.formula,
            "shape": list(self.shape),
            "agrees": self.agrees,
            "points_tried": self.points_tried,
            "points_wrong": self.points_wrong,
            "entries_tried": self.entries_tried,
            "entries_wrong": self.entries_wrong,
            "reason": self.reason,
            "worst": self.worst,
        }


def _entry_name(name, index) -> str:
    return name if not index else f"{name}[{', '.join(str(int(i)) for i in index)}]"


#: wall-clock seconds one :func:`check_gradients` call may take over all its trials
TIME_BUDGET = 60.0


def check_gradients(
    f: str,
    wrt,
    grads,
    variables,
    trials: int = 5,
    seed: int = 0,
    tol: float = 1e-6,
    max_redraws: int = 20,
    time_budget: float = TIME_BUDGET,
):
    """Compare each formula in ``grads`` with the autograd gradient of ``f`` w.r.t. ``wrt``.

    The formulas are untrusted text: their size limits bound each evaluation's memory and work,
    and ``time_budget`` (seconds of wall clock, over all trials) bounds the whole check. After
    the first point the check is refused if ``trials`` points would exceed the budget at that
    pace, and at any point once the budget is spent; the refusal names ``trials``.

    Parameters
    ----------
    f : str
        Scalar function of the variables (formula language).
    wrt, grads : lists of str, same length
        Variable names and their claimed gradients (``grads[i]`` is d f / d ``wrt[i]``, the
        shape of that variable).
    variables : list of :class:`Variable`
    trials : int
        Random points tried; a point where ``f`` or autograd is not finite is redrawn (up to
        ``max_redraws`` times per point).

    Returns ``(checks, info)``: a list of :class:`GradientCheck` and a dict with the
    finite-difference validation of autograd. Raises :class:`ParameterError` (a ValueError)
    naming the parameter (``f``, ``grads``, ``wrt``, ...) for a refused formula or bad usage,
    before anything is evaluated, and for a formula that cannot be evaluated.
    """
    variables = list(variables)
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise ParameterError("variables", "a variable is declared twice")
    total = sum(math.prod(v.shape) for v in variables)
    if total > MAX_TOTAL_SIZE:
        raise ParameterError(
            "variables", f"the variables have {total} entries in all, more than {MAX_TOTAL_SIZE}"
        )
    wrt, grads = list(wrt), list(grads)
    if not wrt:
        raise ParameterError("wrt", "give at least one variable to differentiate with respect to")
    if len(wrt) != len(grads):
        raise ParameterError(
            "grads",
            f"{len(grads)} formula(s) for {len(wrt)} variable(s); give one gradient formula "
            "per variable, in the same order",
        )
    kinds = {v.name: v for v in variables}
    for name in wrt:
        if name not in kinds:
            raise ParameterError("wrt", f"{name!r} is not a declared variable ({', '.join(names)})")
        if kinds[name].kind == "onehot":
            raise ParameterError(
                "wrt", f"{name!r} is a one-hot constant and cannot be differentiated"
            )
    if len(set(wrt)) != len(wrt):
        raise ParameterError("wrt", "a variable is given twice")
    trials = check_int(trials, "trials", 1, MAX_TRIALS)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    tol = check_number(tol, "tol", 0, 1, low_open=True, high_open=True)
    time_budget = check_number(time_budget, "time_budget", 0.0, low_open=True)

    f_formula = _parse(f, names, "f")
    grad_formulas = [_parse(g, names, "grads") for g in grads]

    rng = np.random.default_rng(seed)
    checks = [
        GradientCheck(w, g.source, kinds[w].shape) for w, g in zip(wrt, grad_formulas, strict=False)
    ]
    info = {"fd_max_abs_diff": None, "fd_checked": False, "redraws": 0}
    start = time.perf_counter()
    for trial in range(trials):
        _within_budget(time.perf_counter() - start, trial, trials, time_budget)
        for _ in range(max_redraws + 1):
            values = {v.name: v.draw(rng) for v in variables}
            env = {n: Tensor(a, requires_grad=n in wrt) for n, a in values.items()}
            try:
                out = _evaluate(f_formula, env, "f")
            except NotFiniteHere:  # e.g. a softmax of NaN logits: as any non-finite value
                info["redraws"] += 1
                continue
            if not isinstance(out, Tensor):  # a formula without variables
                out = Tensor(np.asarray(out, dtype=np.float64))
            if out.size != 1:
                shape = getattr(out, "shape", ())
                raise ParameterError("f", f"must give a scalar, gives shape {tuple(shape)}")
            if not np.isfinite(out.data).all():
                info["redraws"] += 1
                continue
            if out.requires_grad:
                try:
                    out.backward()
                except (ValueError, TypeError, FloatingPointError) as exc:
                    raise ParameterError("f", f"cannot differentiate: {exc}") from None
            reference = {
                n: (env[n].grad if env[n].grad is not None else np.zeros(kinds[n].shape))
                for n in wrt
            }
            if all(np.isfinite(r).all() for r in reference.values()):
                break
            info["redraws"] += 1
        else:
            raise ParameterError(
                "f",
                f"not finite (or its gradient is not) at {max_redraws + 1} random points; "
                "declare variables positive for log/sqrt",
            )
        if trial == 0:
            _validate_reference(f_formula, values, wrt, reference, info)
        constants = {n: Tensor(a) for n, a in values.items()}
        for check, formula in zip(checks, grad_formulas, strict=False):
            with no_grad():
                claimed = _evaluate(formula, constants, "grads", finite_or_redraw=False)
            _compare(check, claimed, reference[check.wrt], trial, tol)
    return checks, info


def _within_budget(elapsed: float, done: int, trials: int, budget: float) -> None:
    """Refuse the rest of a check that has spent its budget, or would at its pace so far."""
    if done == 0:
        return
    expected = elapsed / done * trials
    if elapsed > budget or expected > budget:
        raise ParameterError(
            "trials",
            f"the check would take about {expected:.0f} s ({done} of {trials} points took "
            f"{elapsed:.1f} s), more than its {budget:g} s budget; use fewer trials or smaller "
            "shapes",
        )


def _parse(text, names, param):
    """:func:`parse`, a refusal as a :class:`ParameterError` about ``param``."""
    try:
        return parse(text, names)
    except FormulaError as exc:
        raise ParameterError(param, f"refused: {exc}") from None


def _evaluate(formula, env, param, finite_or_redraw=True):
    """:func:`evaluate`, its errors (shapes that do not align, an index out of range) as a
    :class:`ParameterError` about ``param``. A :class:`NotFiniteHere` stays one when the
    caller redraws the point (``finite_or_redraw``)."""
    try:
        return evaluate(formula, env)
    except NotFiniteHere as exc:
        if finite_or_redraw:
            raise
        raise ParameterError(param, str(exc)) from None
    except FormulaError as exc:
        raise ParameterError(param, str(exc)) from None


def _validate_reference(f_formula, values, wrt, reference, info) -> None:
    """Central differences of ``f`` at the first point, to vouch for the autograd reference."""
    size = sum(np.size(values[n]) for n in wrt)
    if size > _FD_LIMIT:
        return
    names = list(values)
    positions = [names.index(n) for n in wrt]

    def fn(*tensors):
        return _evaluate(f_formula, dict(zip(names, tensors, strict=False)), "f")

    numerical = numerical_gradient(fn, *[values[n] for n in names], wrt=positions)
    worst = 0.0
    for n, p in zip(wrt, positions, strict=False):
        with np.errstate(invalid="ignore"):
            diff = np.abs(numerical[p] - reference[n]) / (1 + np.abs(reference[n]))
        worst = max(worst, float(np.nanmax(diff)) if diff.size else 0.0)
    info["fd_checked"] = True
    info["fd_max_abs_diff"] = worst


def _compare(check: GradientCheck, claimed, reference: np.ndarray, trial: int, tol: float) -> None:
    check.points_tried += 1
    claimed = np.asarray(claimed.data if isinstance(claimed, Tensor) else claimed, dtype=np.float64)
    if claimed.shape != reference.shape:
        if claimed.size == 1:
            claimed = np.broadcast_to(claimed.reshape(()), reference.shape)
        else:
            check.agrees = False
            check.points_wrong += 1
            check.entries_tried += reference.size
            check.entries_wrong += reference.size
            check.reason = (
                f"the formula has shape {claimed.shape} but {check.wrt} has shape {reference.shape}"
            )
            return
    with np.errstate(invalid="ignore"):
        excess = np.abs(claimed - reference) - tol * (1 + np.abs(reference))
    excess = np.where(np.isnan(excess), np.inf, excess)
    bad = excess > 0
    check.entries_tried += reference.size
    if not bad.any():
        return
    check.agrees = False
    check.points_wrong += 1
    check.entries_wrong += int(bad.sum())
    index = np.unravel_index(
        int(np.argmax(np.where(bad, np.abs(claimed - reference), -1))), reference.shape
    )
    diff = abs(float(claimed[index]) - float(reference[index]))
    if not check.worst or not diff <= check.worst["abs_diff"]:
        check.worst = {
            "point": trial + 1,
            "index": [int(i) for i in index],
            "entry": _entry_name(check.wrt, index),
            "yours": float(claimed[index]),
            "autograd": float(reference[index]),
            "abs_diff": diff,
            "yours_at_point": claimed.tolist() if claimed.size <= 25 else None,
            "autograd_at_point": reference.tolist() if reference.size <= 25 else None,
        }
    check.reason = (
        f"disagrees at {check.points_wrong} of {check.points_tried} points "
        f"({check.entries_wrong} of {check.entries_tried} entries)"
    )
