"""``verigrad grade``: grade a student's answer sheet, question by question and step by step."""

from __future__ import annotations

HELP = "grade an answer sheet (LaTeX math in .md/.tex/.txt), every step of every derivation"
DESCRIPTION = """Read an answer sheet as the student wrote it (LaTeX math in $...$, $$...$$,
\\[...\\], equation/align environments; the noise of PDF extractions is tolerated), find each
answer by its section and part labels and grade it against the assignment's key:

  right    the answer equals the truth (formulas at random points against autograd, numbers
           to the digits written, matrices entry by entry)
  wrong    it does not: the first false step of a derivation and a counterexample are shown
  missing  no answer was found
  human    prose a machine cannot judge (the report lists the model answer's key points)

  verigrad grade answer-sheet.txt --json grade.json --html grade.html

Exit status: 0 every question right or for a human, 1 some question wrong or missing,
2 an unreadable sheet."""

#: library parameters set by options of another name
PARAMETER_DESTS = {"sheet": "sheet"}


def add_arguments(p):
    p.add_argument("sheet", metavar="SHEET", help="the answer sheet (.md, .tex or .txt)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")


def _check_output(path, param: str, sheet: str) -> None:
    """Refuse an output name that cannot be a file, or that is the sheet itself, before the
    sheet is graded."""
    import os

    from .._checks import MissingFileError, ParameterError
    from ..io import same_file

    if path is None:
        return
    if same_file(path, sheet):
        raise ParameterError(param, f"{path} is the sheet being graded: choose another file")
    if not path.strip() or os.path.isdir(path):
        raise ParameterError(param, f"expected a file name, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MissingFileError(param, f"directory {directory} does not exist")


def run(args) -> int:
    from ..grading import format_terminal, grade_sheet, report_html, report_json
    from ..io import atomic_write_text

    _check_output(args.json, "json", args.sheet)
    _check_output(args.html, "html", args.sheet)
    report = grade_sheet(args.sheet)
    print(format_terminal(report))
    if args.json is not None:
        atomic_write_text(args.json, report_json(report) + "\n", "json")
        print(f"wrote {args.json}")
    if args.html is not None:
        atomic_write_text(args.html, report_html(report), "html")
        print(f"wrote {args.html}")
    summary = report.summary
    return 1 if summary["wrong"] or summary["missing"] else 0
