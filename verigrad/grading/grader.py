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
counterexample. An answer that leaves out one of the asked quantities is ``wrong``, and its
detail names the missing quantity and says how the given ones fared (``no final expression for
df/dx (the answer gives df/dy, which is right)``). Counterexamples list a quantity's indices
in its own order (``dl/dW_ij``: ``i=1, j=4``).

Numbers, sizes and matrices are graded in :mod:`~verigrad.grading.numbers`; update rules
(6c) here, against ``W - \\eta \\partial L / \\partial W``. Symbols a sheet defines in one part of
a problem are known in its later parts.
"""

from __future__ import annotations

from dataclasses import replace

from ..formula import FormulaError, compare, parse_latex
from .key import KEY, QUESTION_IDS
from .numbers import grade_matrix, grade_shape, grade_values
from .results import (
    MAX_BLOCKS,
    TOLERANCE,
    TRIALS,
    QuestionResult,
    Report,
    StepResult,
    excerpt,
    one_line,
    quantity_name,
)
from .sheet import Sheet, math_blocks, read_sheet
from .steps import TEXT, check_step, is_update, top_level_split

__all__ = ["StepResult", "QuestionResult", "Report", "grade_sheet", "grade_text", "TOLERANCE"]

_GRADING_ERRORS = (FormulaError, ValueError, TypeError, ArithmeticError, IndexError, RecursionError)


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
                excerpt(text),
                question.expected,
                f"could not grade automatically: {one_line(exc)}",
            )
        result.title, result.key_points = question.title, question.key_points
        carried.setdefault(section, {}).update(result.definitions)
        results.append(result)
    return Report(sheet.path, results)


# ------------------------------------------------------------------------------ prose
def _grade_prose(question, text) -> QuestionResult:
    return QuestionResult(
        question.id,
        "human",
        excerpt(text),
        question.expected,
        "prose: to be judged against the model answer's key points",
    )


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
            step, context, chains = check_step(context, block, seed=n)
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
    names = [quantity_name(group[0]) for group in question.targets] or [None]
    answer_blocks, problems, counterexample = [], [], None
    absent, given = [], {}  # asked quantities without a final expression; the others' outcome
    for name, (truth, final) in zip(names, pairs, strict=True):
        if final is None:
            absent.append(name)
            continue
        node, block = final
        if block.latex not in answer_blocks:
            answer_blocks.append(block.latex)
        result = compare(context, node, truth, TRIALS + 2, 99, TOLERANCE, quantity=truth)
        if result.equal is None:
            given[name] = "could not be checked"
            problems.append(f"final expression {block.label} not checked: {result.detail}")
        elif not result.equal:
            given[name] = "is wrong"
            problems.append(f"final expression {block.label} is wrong: {result.detail}")
            counterexample = counterexample or result.counterexample
        else:
            given[name] = "is right"
    if absent:
        problems.insert(0, _absent_detail(absent, given))
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
            answer or excerpt(text),
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


def _absent_detail(absent: list, given: dict) -> str:
    """``no final expression for df/dx (the answer gives df/dy, which is right)``."""
    if absent == [None]:
        return "no final expression found"
    detail = f"no final expression for {' or '.join(absent)}"
    if given:
        outcomes = ", ".join(f"{name}, which {outcome}" for name, outcome in given.items())
        detail += f" (the answer gives {outcomes})"
    return detail


def _updated_symbol(context, chain):
    """The parameter a chain updates (``W^{t+1} = ...``, ``W_{t+1} = ...``,
    ``W \\leftarrow ...``, ``W^*_{new} = ...``), or None."""
    if len(chain.parts) != 2:
        return None
    left = chain.parts[0]
    if chain.relations == ("<-",):
        base = left
    elif is_update(left) or (left[0] == "sub" and chain.relations == ("=",)):
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
        for piece in top_level_split(TEXT.sub(" ", block.latex)):
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
            question.id, "human", excerpt(text), question.expected, "no update rule found"
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
    "values": grade_values,
    "shape": grade_shape,
    "matrix": grade_matrix,
    "update": _grade_update,
}
