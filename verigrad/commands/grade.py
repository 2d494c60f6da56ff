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


def run(args) -> int:
    from ..grading import format_terminal, grade_sheet, report_html, report_json
    from ..io import atomic_write_text

    report = grade_sheet(args.sheet)
    print(format_terminal(report))
    if args.json:
        atomic_write_text(args.json, report_json(report) + "\n", "json")
        print(f"wrote {args.json}")
    if args.html:
        atomic_write_text(args.html, report_html(report), "html")
        print(f"wrote {args.html}")
    summary = report.summary
    return 1 if summary["wrong"] or summary["missing"] else 0
