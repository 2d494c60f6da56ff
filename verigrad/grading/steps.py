"""Derivation steps: one displayed equation, its local definitions, and its verdict.

A trailing ``\\text{where} C = ...`` defines ``C`` for the following steps; an equation whose
left side is a symbol the problem does not know is a local definition; each ``=`` of a chain
``a = b = c`` is checked by :func:`~verigrad.formula.compare` at random points; a true step
``f = u / v`` (``f`` the problem's) rebinds ``f`` through the sheet's own ``u`` and ``v``; an
update rule ``x^{k+1} = ...`` is not an identity.
"""

from __future__ import annotations

import re

from ..formula import FormulaError, compare, parse_latex
from .results import TOLERANCE, TRIALS, StepResult

__all__ = ["check_step", "statements", "top_level_split", "is_update", "TEXT"]

_WHERE = re.compile(
    r",?\s*(?:\\quad|\\qquad|\\,)*\s*\\(?:text|mbox|mathrm)\{\s*(?:where|with)\s*\}"
)
TEXT = re.compile(r"\\(?:text|mbox)\{[^{}]*\}")


def _split_where(latex: str):
    """``main, [definitions]`` of ``... , \\text{ where } C = ..., D = ...``."""
    parts = _WHERE.split(latex, maxsplit=1)
    main = parts[0]
    definitions = []
    if len(parts) == 2:
        definitions = [d for d in top_level_split(parts[1]) if "=" in d]
    return main, definitions


def top_level_split(text: str, sep: str = ",") -> list:
    out, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == sep and depth == 0:
            out.append(text[start:k])
            start = k + 1
    out.append(text[start:])
    return [o.strip() for o in out if o.strip()]


def statements(latex: str) -> list:
    """The parsed chains of one block (a block ``a = b, c \\in R`` holds two)."""
    latex = TEXT.sub(" ", latex)
    try:
        return [parse_latex(latex)]
    except FormulaError as first:
        pieces = top_level_split(latex)
        if len(pieces) == 1:
            raise first
        return [parse_latex(p) for p in pieces]


def _definition(context, chain):
    """``(name, node)`` when ``chain`` defines a symbol the problem does not know."""
    if len(chain.parts) != 2 or chain.relations != ("=",):
        return None
    left = chain.parts[0]
    if left[0] == "sub" and left[1][0] == "sym":
        left = left[1]
    if left[0] == "sym" and context.canonical(left[1]) is None and left[1] != "e":
        return left[1], chain.parts[1]
    return None


def is_update(node) -> bool:
    """``x^{k+1}``, ``x^{(k+1)}``, ``x_{k+1}``: the next iterate of an update rule."""
    if node[0] == "sub" and ("+" in node[2] or "-" in node[2]):
        return True
    return node[0] == "pow" and node[2][0] == "bin" and node[2][1] in ("+", "-")


def _rewritten(context, left, right):
    """After a true step ``f = u / v`` (``f`` defined by the problem, ``u``, ``v`` by the
    sheet), ``f`` is read through ``u / v`` in the later steps, so ``\\partial f / \\partial u``
    means what the student's chain rule means; the value is unchanged (the step holds)."""
    if left[0] != "sym":
        return context
    name = context.canonical(left[1])
    if name is None or name not in context.definitions:
        return context
    return context.with_definitions({name: right})


def check_step(context, block, seed):
    """``(StepResult, context with the step's definitions, chains)``."""
    main, where = _split_where(block.latex)
    for text in where:
        chain = parse_latex(text)
        definition = _definition(context, chain)
        if definition is not None:
            context = context.with_definitions({definition[0]: definition[1]})
    chains = statements(main)
    verdicts, details, counterexample = [], [], None
    for chain in chains:
        definition = _definition(context, chain)
        if definition is not None:
            context = context.with_definitions({definition[0]: definition[1]})
            verdicts.append("unchecked")
            details.append(f"defines {definition[0]}")
            continue
        if len(chain.parts) < 2:
            verdicts.append("unchecked")
            details.append("no equation")
            continue
        if is_update(chain.parts[0]):
            verdicts.append("unchecked")
            details.append("an update rule (its left side is the next iterate)")
            continue
        for k, relation in enumerate(chain.relations):
            if relation not in ("=", "~"):
                verdicts.append("unchecked")
                details.append(f"a '{relation}' statement is not checked")
                continue
            result = compare(
                context,
                chain.parts[k],
                chain.parts[k + 1],
                TRIALS,
                seed,
                TOLERANCE,
                quantity=chain.parts[0],  # the derived quantity orders a counterexample's indices
            )
            if result.equal is None:
                verdicts.append("unchecked")
                details.append(result.detail)
            elif result.equal:
                verdicts.append("right")
                details.append("")
                context = _rewritten(context, chain.parts[k], chain.parts[k + 1])
            else:
                verdicts.append("wrong")
                which = f"equality {k + 1}: " if len(chain.relations) > 1 else ""
                details.append(which + result.detail)
                counterexample = counterexample or result.counterexample
    if "wrong" in verdicts:
        verdict = "wrong"
        details = [d for d, v in zip(details, verdicts, strict=False) if v == "wrong"]
    elif verdicts and all(v == "right" for v in verdicts):
        verdict = "right"
        details = [f"holds at {TRIALS} random points"]
    else:
        verdict = "unchecked"
        details = [d for d in details if d]
    step = StepResult(block.label, block.latex, verdict, "; ".join(details), counterexample)
    return step, context, chains
