"""The answer record: one worked, checked answer to one question of the assignment."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Answer", "format_answer", "fmt", "max_abs_diff", "jsonable"]


@dataclass
class Answer:
    """A question, the answer computed by the library and its independent check.

    ``section`` is the assignment's section number, ``part`` the question within it
    (``"2.1"``, ``"b"``); ``work`` holds the lines of the worked solution and ``values`` the
    key numbers (machine readable, for ``--json``).
    """

    section: int
    part: str
    question: str
    answer: str
    check: str
    passed: bool
    work: list = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return jsonable(
            {
                "section": self.section,
                "part": self.part,
                "question": self.question,
                "answer": self.answer,
                "check": self.check,
                "passed": bool(self.passed),
                "work": list(self.work),
                "values": self.values,
            }
        )


def jsonable(value):
    """Plain JSON types: arrays to lists, NumPy scalars to Python, NaN/inf to strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


def fmt(value, precision: int = 4) -> str:
    """Numbers and small arrays for the printed solutions."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{precision}g}"
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.{precision}g}" if array.dtype.kind == "f" else str(array.item())
    whole = (
        array.dtype.kind == "f"
        and array.size
        and np.all(np.isfinite(array))
        and np.all(array == np.round(array))
        and np.max(np.abs(array)) < 1e15
    )
    if whole:
        array = array.astype(np.int64)  # whole numbers print as integers
    text = np.array2string(
        array, precision=precision, suppress_small=True, separator=", ", max_line_width=96
    )
    if array.size <= 30:  # small arrays on one line
        text = " ".join(text.split())
    return text


def max_abs_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def format_answer(answer: Answer) -> str:
    """A short readable worked solution."""
    mark = "PASS" if answer.passed else "FAIL"
    label = (
        answer.part
        if answer.part.startswith(str(answer.section))
        else f"{answer.section}({answer.part})"
    )
    lines = [f"[{mark}] {label}: {answer.question}"]
    for line in answer.work:
        lines.extend("    " + part for part in str(line).splitlines())
    lines.append("  answer: " + answer.answer)
    lines.append("  check:  " + answer.check)
    return "\n".join(lines)
