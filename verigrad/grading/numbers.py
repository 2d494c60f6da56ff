"""Numbers, sizes and matrices: right when they equal the truth to the digits written.

A number is checked against its equation's left side evaluated at the problem's point
(``\\frac{\\partial f}{\\partial x}(1, 0) = 0.0646``); a size is read from ``3x3``,
``3 \\times 3`` or ``9 values``; a matrix entry by entry, a wrong entry named by row and column.
"""

from __future__ import annotations

import re

import numpy as np

from ..formula import FormulaError, parse_latex
from ..formula.indexed import Evaluator
from .results import QuestionResult, StepResult, excerpt, quantity_name
from .sheet import Block, math_blocks
from .steps import TEXT, statements, top_level_split

__all__ = ["grade_values", "grade_shape", "grade_matrix"]

_NUMBER_AT_END = re.compile(r"(-?\s*\d+(?:\.(\d+))?)\s*$")


def _without_arguments(node):
    """``f(1, 0)`` and ``\\frac{\\partial f}{\\partial x}(1, 0)`` as ``f`` and the derivative
    (the arguments are the problem's point)."""
    if node[0] == "bin" and node[1] == "juxt" and node[3][0] == "tuple":
        return node[2]
    return node


def _written_tolerance(literal: str) -> float:
    decimals = len(literal.split(".")[1]) if "." in literal else 0
    return 0.5 * 10.0**-decimals + 1e-12


def grade_values(question, text) -> QuestionResult:
    context = question.context
    targets = [[parse_latex(t).parts[0] for t in group] for group in question.targets]
    found, steps, problems, counterexample = {}, [], [], None
    pieces = []
    for block in math_blocks(text):
        for piece in top_level_split(TEXT.sub(" ", block.latex)):
            pieces.append(Block(piece, block.label, block.display))
    for block in pieces:
        literal = _NUMBER_AT_END.search(block.latex)
        if not literal:
            continue
        try:
            chain = parse_latex(block.latex)
        except FormulaError:
            continue
        if len(chain.parts) < 2:
            continue
        written = float(literal.group(1).replace(" ", ""))
        left = _without_arguments(chain.parts[-2])
        try:
            value = Evaluator(context, context.draw(np.random.default_rng(0)))(left)
        except (FormulaError, ValueError, TypeError) as exc:
            steps.append(StepResult(block.label, block.latex, "unchecked", f"not read: {exc}"))
            continue
        if value.t.size != 1:
            continue
        true = float(value.t.data.reshape(()))
        tol = _written_tolerance(literal.group(1))
        ok = abs(written - true) <= tol
        detail = f"true value {true:.6g}; written {literal.group(1).strip()}"
        steps.append(StepResult(block.label, block.latex, "right" if ok else "wrong", detail))
        parts = [_without_arguments(p) for p in chain.parts]
        for k, group in enumerate(targets):
            if any(t in parts for t in group):
                found[k] = ok
        if not ok:
            problems.append(f"{block.label}: {detail}")
            counterexample = counterexample or {"written": written, "true": true}
    missing = [quantity_name(question.targets[k][0]) for k in range(len(targets)) if k not in found]
    answer = "; ".join(s.latex for s in steps)
    if not steps:
        return QuestionResult(
            question.id, "human", excerpt(text), question.expected, "no number found to check"
        )
    if problems or missing:
        detail = "; ".join(problems + [f"no value given for {m}" for m in missing])
        first = next((s.label for s in steps if s.verdict == "wrong"), None)
        return QuestionResult(
            question.id, "wrong", answer, question.expected, detail, counterexample, steps, first
        )
    return QuestionResult(
        question.id,
        "right",
        answer,
        question.expected,
        "every value equals the truth to the digits written",
        None,
        steps,
    )


# ------------------------------------------------------------------------------ shapes, matrices
_SHAPE = re.compile(r"(\d+)\s*(?:x|×|\\times|\*)\s*(\d+)(?!\s*[-+)])")
_COUNT = re.compile(r"(\d+)\s*(?:values|entries|outputs|numbers)")


def grade_shape(question, text) -> QuestionResult:
    shapes = [(int(a), int(b)) for a, b in _SHAPE.findall(text)]
    counts = [int(c) for c in _COUNT.findall(text)]
    expected = question.shape
    if shapes:
        found = shapes[-1]
        ok = found == expected
        detail = f"read {found[0]}x{found[1]}; the output is {expected[0]}x{expected[1]}"
        answer = f"{found[0]} \\times {found[1]}"
    elif counts:
        ok = counts[-1] == int(np.prod(expected))
        detail = f"read {counts[-1]} values; the output has {int(np.prod(expected))}"
        answer = str(counts[-1])
    else:
        return QuestionResult(
            question.id, "human", excerpt(text), question.expected, "no size found to check"
        )
    return QuestionResult(
        question.id,
        "right" if ok else "wrong",
        answer,
        question.expected,
        detail,
        None if ok else {"read": answer, "expected": list(expected)},
    )


def _matrix_latex(m: np.ndarray) -> str:
    rows = " \\\\ ".join(" & ".join(f"{v:g}" for v in row) for row in m)
    return f"\\begin{{pmatrix}} {rows} \\end{{pmatrix}}"


def grade_matrix(question, text) -> QuestionResult:
    expected = question.matrix
    expected_latex = _matrix_latex(expected)
    blocks = [b for b in math_blocks(text) if "matrix" in b.latex]
    if not blocks:
        return QuestionResult(
            question.id, "human", excerpt(text), expected_latex, "no matrix found to check"
        )
    block = blocks[-1]
    node = statements(block.latex)[-1].parts[-1]
    if node[0] != "matrix":
        raise FormulaError("the last formula is not a matrix")
    rows = node[1]
    written = np.array([[_entry(item) for item in row] for row in rows], dtype=np.float64)
    if written.shape != expected.shape:
        return QuestionResult(
            question.id,
            "wrong",
            block.latex,
            expected_latex,
            f"the matrix is {written.shape[0]}x{written.shape[1]}, the answer "
            f"is {expected.shape[0]}x{expected.shape[1]}",
            {"read_shape": list(written.shape), "expected_shape": list(expected.shape)},
        )
    tolerance = np.array(
        [[_written_tolerance(repr(v)) if v != int(v) else 0.5 for v in row] for row in written]
    )
    bad = np.abs(written - expected) > tolerance
    if not bad.any():
        return QuestionResult(
            question.id,
            "right",
            block.latex,
            expected_latex,
            f"all {expected.size} entries equal the truth",
        )
    wrong = [(int(r), int(c)) for r, c in zip(*np.nonzero(bad), strict=False)]
    names = ", ".join(
        f"row {r + 1}, column {c + 1}: {written[r, c]:g} instead of {expected[r, c]:g}"
        for r, c in wrong[:5]
    )
    r, c = wrong[0]
    return QuestionResult(
        question.id,
        "wrong",
        block.latex,
        expected_latex,
        f"{len(wrong)} wrong entr{'y' if len(wrong) == 1 else 'ies'}: {names}",
        {
            "row": r + 1,
            "column": c + 1,
            "written": float(written[r, c]),
            "expected": float(expected[r, c]),
        },
    )


def _entry(node) -> float:
    sign = 1.0
    while node[0] == "neg":
        sign, node = -sign, node[1]
    if node[0] != "num":
        raise FormulaError("matrix entries must be numbers")
    return sign * node[1]
