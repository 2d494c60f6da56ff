"""Formulas as people write them, and the gradient checker behind ``verigrad check-grad``.

A general tool, not coursework: :mod:`~verigrad.formula.language` is a safe, whitelisted
expression language (Python syntax, never passed to ``eval``) evaluated with
:class:`verigrad.Tensor` operations, so autograd differentiates any formula;
:mod:`~verigrad.formula.functions` is its function table; :mod:`~verigrad.formula.checker`
compares a hand-derived gradient formula with autograd at random points;
:mod:`~verigrad.formula.latex` parses LaTeX as students write it (lark grammar, whitelisted
commands), :mod:`~verigrad.formula.indexed` evaluates it with index notation and autograd
derivatives, and :mod:`~verigrad.formula.latex_check` checks identities and gradients.

Layering: this package imports the library (tensor, gradcheck, functional); the worked answers
(:mod:`verigrad.answers`), the grader (:mod:`verigrad.grading`) and the commands import it,
never the other way round.
"""

from __future__ import annotations

from .checker import (
    KINDS,
    MAX_TOTAL_SIZE,
    MAX_TRIALS,
    GradientCheck,
    Variable,
    check_gradients,
    parse_shape,
)
from .functions import CONSTANTS, FUNCTIONS
from .indexed import Context, Evaluator, Indexed, NotCheckable
from .language import Formula, FormulaError, NotFiniteHere, check_name, evaluate, parse
from .latex import LatexFormula, parse_latex
from .latex_check import Comparison, check_latex_gradient, compare, parse_definition

__all__ = [
    "Formula",
    "FormulaError",
    "NotFiniteHere",
    "FUNCTIONS",
    "CONSTANTS",
    "parse",
    "evaluate",
    "check_name",
    "Variable",
    "parse_shape",
    "GradientCheck",
    "check_gradients",
    "KINDS",
    "MAX_TOTAL_SIZE",
    "MAX_TRIALS",
    "LatexFormula",
    "parse_latex",
    "Context",
    "Evaluator",
    "Indexed",
    "NotCheckable",
    "Comparison",
    "compare",
    "check_latex_gradient",
    "parse_definition",
]
