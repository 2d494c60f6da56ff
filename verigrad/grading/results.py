"""The grade report's records: a verdict per question and per derivation step.

Question verdicts: ``right``, ``wrong``, ``missing`` (no answer found) and ``human`` (prose a
machine cannot judge, or a formula it could not read: the reason is given). Step verdicts:
``right``, ``wrong`` or ``unchecked``. ``as_dict`` gives the JSON schema of the grading issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..formula import FormulaError

__all__ = [
    "StepResult",
    "QuestionResult",
    "Report",
    "TOLERANCE",
    "TRIALS",
    "MAX_BLOCKS",
    "quantity_name",
]

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


_DERIVATIVE = re.compile(r"\\frac\{\\partial\s*(.+?)\}\{\\partial\s*(.+)\}")


def _plain(latex: str) -> str:
    text = re.sub(r"\\hat\{(\w+)\}", r"\1hat", latex).replace("^*", "*")
    text = re.sub(r"\\(\w+)", r"\1", text)
    return re.sub(r"[{}\s]", "", text)


def quantity_name(latex: str) -> str:
    """An asked quantity's LaTeX as the plain text of a detail:
    ``\\frac{\\partial l}{\\partial W_{ij}}`` is ``dl/dW_ij``, ``W^*`` is ``W*``."""
    match = _DERIVATIVE.fullmatch(latex.strip())
    if match:
        return f"d{_plain(match[1])}/d{_plain(match[2])}"
    return _plain(latex)


def one_line(exc) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def excerpt(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."
