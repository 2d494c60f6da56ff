"""``verigrad grade``: read a student's answer sheet as written and grade every question.

The coursework layer: it imports the formula package, the worked answers and the library;
only the commands import it.

* :mod:`~verigrad.grading.key`: the question ids and the truth for each;
* :mod:`~verigrad.grading.sheet`: reading a ``.md``/``.tex``/``.txt`` sheet into answers and
  formulas;
* :mod:`~verigrad.grading.grader`: a verdict for every question (derivations, update rules,
  prose), with :mod:`~verigrad.grading.steps` (one derivation step),
  :mod:`~verigrad.grading.numbers` (numbers, sizes, matrices) and
  :mod:`~verigrad.grading.results` (the records and their JSON);
* :mod:`~verigrad.grading.report`: terminal, JSON and HTML reports.
"""

from __future__ import annotations

from .grader import QuestionResult, Report, StepResult, grade_sheet, grade_text
from .key import KEY, QUESTION_IDS
from .report import format_terminal, report_html, report_json
from .sheet import parse_sheet, read_sheet

__all__ = [
    "QUESTION_IDS",
    "KEY",
    "read_sheet",
    "parse_sheet",
    "grade_sheet",
    "grade_text",
    "Report",
    "QuestionResult",
    "StepResult",
    "format_terminal",
    "report_json",
    "report_html",
]
