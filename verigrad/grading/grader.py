"""Grading a sheet: a verdict for every question id, and a verdict for every step.

Verdicts: ``right``, ``wrong``, ``missing`` (no answer found) and ``human`` (prose a machine
cannot judge, or a formula it could not read: the reason is given). Steps are ``right``,
``wrong`` or ``unchecked``.

A derivation step is one displayed equation (or an inline one when the answer has none). A
trailing ``\\text{where} C = ...`` defines ``C`` for the following steps; an equation whose
left side is a symbol the problem does not know is a local definition. Each ``=`` of a chain
``a = b = c`` is checked by :func:`~verigrad.formula.compare` at random points (tolerance
:data:`TOLERANCE`). A derivation is ``right`` when its final expression for every target
equals the truth and no step is false; the report names the first false step with its
counterexample.

Numbers are right when they equal the true value rounded to the digits written; matrices
entry by entry, to the digits written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..formula import FormulaError, compare, parse_latex
from ..formula.indexed import Evaluator
from .key import KEY, QUESTION_IDS
from .sheet import Block, Sheet, math_blocks, read_sheet

__all__ = ["StepResult", "QuestionResult", "Report", "grade_sheet", "grade_text", "TOLERANCE"]

TOLERANCE = 1e-6
TRIALS = 3
MAX_BLOCKS = 200
_GRADING_ERRORS = (FormulaError, ValueError, TypeError, ArithmeticError, IndexError, RecursionError)


@dataclass
class StepResult:
    label: str
    latex: str
    verdict: str
    detail: str = ""
    counterexample: dict | None = None

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "latex": self.latex,
            "verdict": self.verdict,
            "detail": self.detail,
        }


@dataclass
class QuestionResult:
    id: str
    verdict: str
    answer: str = ""
    expected: str = ""
    detail: str = ""
    counterexample: dict | None = None
    steps: list = field(default_factory=list)
    first_wrong_step: str | None = None
    title: str = ""
    key_points: tuple = ()
    definitions: dict = field(default_factory=dict)  # the sheet's own, for later questions

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "verdict": self.verdict,
            "answer": self.answer,
            "expected": self.expected,
            "detail": self.detail,
            "counterexample": self.counterexample,
            "steps": [s.as_dict() for s in self.steps],
            "first_wrong_step": self.first_wrong_step,
        }


@dataclass
class Report:
    sheet: str
    questions: list

    @property
    def summary(self) -> dict:
        counts = {"right": 0, "wrong": 0, "missing": 0, "human": 0}
        for q in self.questions:
            counts[q.verdict] += 1
        return counts

    def as_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "questions": [q.as_dict() for q in self.questions],
            "summary": self.summary,
        }


def grade_sheet(path) -> Report:
    """Read the sheet at ``path`` and grade every question (errors about ``sheet``)."""
    return grade_text(read_sheet(path))


def grade_text(sheet: Sheet) -> Report:
    """Grade every question of ``sheet``; symbols a sheet defines in one part of a problem
    (``\\delta`` in 6b) are known in its later parts (6c)."""
    results, carried = [], {}
    for qid in QUESTION_IDS:
        question = KEY[qid]
        section = qid[0]
        if question.context is not None and carried.get(section):
            question = replace(
                question, context=question.context.with_definitions(carried[section])
            )
        text = sheet.answers.get(qid, "").strip()
        if not text:
            results.append(
                QuestionResult(
                    qid,
                    "missing",
                    "",
                    question.expected,
                    "no answer found",
                    title=question.title,
                    key_points=question.key_points,
                )
            )
            continue
        try:
            result = _GRADERS[question.kind](question, text)
        except _GRADING_ERRORS as exc:
            result = QuestionResult(
                qid,
                "human",
                _excerpt(text),
                question.expected,
                f"could not grade automatically: {_one_line(exc)}",
            )
        result.title, result.key_points = question.title, question.key_points
        carried.setdefault(section, {}).update(result.definitions)
        results.append(result)
    return Report(sheet.path, results)


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _excerpt(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


# ------------------------------------------------------------------------------ prose
def _grade_prose(question, text) -> QuestionResult:
    return QuestionResult(
        question.id,
        "human",
        _excerpt(text),
        question.expected,
        "prose: to be judged against the model answer's key points",
    )


# ------------------------------------------------------------------------------ steps
_WHERE = re.compile(
    r",?\s*(?:\\quad|\\qquad|\\,)*\s*\\(?:text|mbox|mathrm)\{\s*(?:where|with)\s*\}"
)
_TEXT = re.compile(r"\\(?:text|mbox)\{[^{}]*\}")


def _split_where(latex: str):
    """``main, [definitions]`` of ``... , \\text{ where } C = ..., D = ...``."""
    parts = _WHERE.split(latex, maxsplit=1)
    main = parts[0]
    definitions = []
    if len(parts) == 2:
        definitions = [d for d in _top_level_split(parts[1]) if "=" in d]
    return main, definitions


def _top_level_split(text: str, sep: str = ",") -> list:
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


def _statements(latex: str) -> list:
    """The parsed chains of one block (a block ``a = b, c \\in R`` holds two)."""
    latex = _TEXT.sub(" ", latex)
    try:
        return [parse_latex(latex)]
    except FormulaError as first:
        pieces = _top_level_split(latex)
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


def _is_update(node) -> bool:
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


def _check_step(context, block, seed):
    """``(StepResult, context with the step's definitions, chains)``."""
    main, where = _split_where(block.latex)
    for text in where:
        chain = parse_latex(text)
        definition = _definition(context, chain)
        if definition is not None:
            context = context.with_definitions({definition[0]: definition[1]})
    chains = _statements(main)
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
        if _is_update(chain.parts[0]):
            verdicts.append("unchecked")
            details.append("an update rule (its left side is the next iterate)")
            continue
        for k, relation in enumerate(chain.relations):
            if relation not in ("=", "~"):
                verdicts.append("unchecked")
                details.append(f"a '{relation}' statement is not checked")
                continue
            result = compare(context, chain.parts[k], chain.parts[k + 1], TRIALS, seed, TOLERANCE)
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


def _grade_derivation(question, text) -> QuestionResult:
    blocks = math_blocks(text)
    if len(blocks) > MAX_BLOCKS:
        raise FormulaError(f"more than {MAX_BLOCKS} formulas in one answer")
    displayed = [b for b in blocks if b.display] or blocks
    context = question.context
    targets = [[parse_latex(t).parts[0] for t in group] for group in question.targets]
    finals = {k: None for k in range(len(targets))}
    last = None
    steps = []
    for n, block in enumerate(displayed):
        try:
            step, context, chains = _check_step(context, block, seed=n)
        except FormulaError as exc:
            steps.append(StepResult(block.label, block.latex, "unchecked", f"not read: {exc}"))
            continue
        steps.append(step)
        for chain in chains:
            if len(chain.parts) < 2:
                continue
            last = (chain.parts[-1], block)
            for k, group in enumerate(targets):
                if any(t in chain.parts for t in group) and chain.parts[-1] not in group:
                    finals[k] = (chain.parts[-1], block)
    first_wrong = next((s for s in steps if s.verdict == "wrong"), None)
    if targets:
        pairs = [(targets[k][0], finals[k]) for k in finals]
    else:
        truth = parse_latex(question.extra["truth"]).parts[0]
        pairs = [(truth, last)]
    answer_blocks, problems, counterexample = [], [], None
    for truth, final in pairs:
        if final is None:
            problems.append("no final expression found for one of the asked quantities")
            continue
        node, block = final
        if block.latex not in answer_blocks:
            answer_blocks.append(block.latex)
        result = compare(context, node, truth, TRIALS + 2, 99, TOLERANCE)
        if result.equal is None:
            problems.append(f"final expression {block.label} not checked: {result.detail}")
        elif not result.equal:
            problems.append(f"final expression {block.label} is wrong: {result.detail}")
            counterexample = counterexample or result.counterexample
    answer = "; ".join(answer_blocks)
    own = {
        k: v for k, v in context.definitions.items() if question.context.definitions.get(k) is not v
    }
    if first_wrong is not None:
        counterexample = first_wrong.counterexample or counterexample
    if (
        problems
        and all("not checked" in p or "no final" in p for p in problems)
        and not any(s.verdict != "unchecked" for s in steps)
    ):
        reasons = [f"{s.label}: {s.detail}" for s in steps if s.detail.startswith("not read")]
        return QuestionResult(
            question.id,
            "human",
            answer or _excerpt(text),
            question.expected,
            "; ".join(problems + reasons[:2]),
            None,
            steps,
            None,
            definitions=own,
        )
    if problems or first_wrong is not None:
        detail = "; ".join(problems) if problems else "the final expression is right"
        if first_wrong is not None:
            detail += f"; first false step {first_wrong.label}: {first_wrong.detail}"
        return QuestionResult(
            question.id,
            "wrong",
            answer,
            question.expected,
            detail,
            counterexample,
            steps,
            first_wrong.label if first_wrong else None,
            definitions=own,
        )
    return QuestionResult(
        question.id,
        "right",
        answer,
        question.expected,
        "the final expression equals the truth and every checked step holds",
        None,
        steps,
        None,
        definitions=own,
    )


# ------------------------------------------------------------------------------ numbers
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


def _grade_values(question, text) -> QuestionResult:
    context = question.context
    targets = [[parse_latex(t).parts[0] for t in group] for group in question.targets]
    found, steps, problems, counterexample = {}, [], [], None
    pieces = []
    for block in math_blocks(text):
        for piece in _top_level_split(_TEXT.sub(" ", block.latex)):
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
    missing = [question.targets[k][0] for k in range(len(targets)) if k not in found]
    answer = "; ".join(s.latex for s in steps)
    if not steps:
        return QuestionResult(
            question.id, "human", _excerpt(text), question.expected, "no number found to check"
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


def _grade_shape(question, text) -> QuestionResult:
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
            question.id, "human", _excerpt(text), question.expected, "no size found to check"
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


def _grade_matrix(question, text) -> QuestionResult:
    expected = question.matrix
    expected_latex = _matrix_latex(expected)
    blocks = [b for b in math_blocks(text) if "matrix" in b.latex]
    if not blocks:
        return QuestionResult(
            question.id, "human", _excerpt(text), expected_latex, "no matrix found to check"
        )
    block = blocks[-1]
    node = _statements(block.latex)[-1].parts[-1]
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


def _updated_symbol(context, chain):
    """The parameter a chain updates (``W^{t+1} = ...``, ``W_{t+1} = ...``,
    ``W \\leftarrow ...``, ``W^*_{new} = ...``), or None."""
    if len(chain.parts) != 2:
        return None
    left = chain.parts[0]
    if chain.relations == ("<-",):
        base = left
    elif _is_update(left) or (left[0] == "sub" and chain.relations == ("=",)):
        base = left[1]
    else:
        return None
    if base[0] == "sym":
        name = base[1]
    elif base[0] in ("star", "prime") and base[1][0] == "sym":
        name = base[1][1] + ("*" if base[0] == "star" else "'")
    else:
        return None
    return context.canonical(name)


def _grade_update(question, text) -> QuestionResult:
    context = question.context
    steps, problems, counterexample, answers = [], [], None, []
    for block in math_blocks(text):
        for piece in _top_level_split(_TEXT.sub(" ", block.latex)):
            try:
                chain = parse_latex(piece)
            except FormulaError:
                continue
            name = _updated_symbol(context, chain)
            if name not in question.targets:
                continue
            truth = (
                "bin",
                "-",
                ("sym", name),
                ("bin", "*", ("sym", "eta"), ("deriv", ("sym", "L"), ("sym", name))),
            )
            result = compare(context, chain.parts[1], truth, TRIALS + 2, 7, TOLERANCE)
            verdict = {True: "right", False: "wrong", None: "unchecked"}[result.equal]
            steps.append(StepResult(block.label, piece, verdict, result.detail))
            answers.append(piece)
            if result.equal is False:
                problems.append(f"the update of {name} is wrong: {result.detail}")
                counterexample = counterexample or result.counterexample
    if not steps:
        return QuestionResult(
            question.id, "human", _excerpt(text), question.expected, "no update rule found"
        )
    answer = "; ".join(answers)
    if problems:
        first = next(s.label for s in steps if s.verdict == "wrong")
        return QuestionResult(
            question.id,
            "wrong",
            answer,
            question.expected,
            "; ".join(problems),
            counterexample,
            steps,
            first,
        )
    if all(s.verdict == "unchecked" for s in steps):
        return QuestionResult(
            question.id, "human", answer, question.expected, steps[0].detail, None, steps
        )
    return QuestionResult(
        question.id,
        "right",
        answer,
        question.expected,
        "every update equals the parameter minus the step size times its gradient",
        None,
        steps,
    )


_GRADERS = {
    "prose": _grade_prose,
    "derivation": _grade_derivation,
    "values": _grade_values,
    "shape": _grade_shape,
    "matrix": _grade_matrix,
    "update": _grade_update,
}
