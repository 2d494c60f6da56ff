"""``verigrad answers``: the assignment's questions, worked and checked."""

from __future__ import annotations

import json
import sys

HELP = "print the assignment's worked answers, each checked by an independent route"
DESCRIPTION = """Work every question of the assignment with the library and check each answer by
an independent route (autograd vs closed form vs central finite differences vs brute force).

With --html FILE the same answers are also written as one self-contained HTML page: per
question the derivation typeset (MathML), the numbers, the check and its figures.

Exit status: 0 every check passed, 1 some check failed, 2 bad usage."""


def add_arguments(p):
    p.add_argument(
        "--section", type=int, action="append", metavar="N", help="only section N (1-9; repeatable)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of records (section, part, question, answer, check, "
        "passed, work, values)",
    )
    p.add_argument(
        "--html",
        metavar="FILE",
        help="also write the worked answers as one self-contained page (MathML formulas, "
        "embedded figures; readable offline)",
    )


def _check_html_target(path: str) -> None:
    """Refuse a --html target whose directory is missing before the answers are computed."""
    import os

    from .._checks import MissingFileError, ParameterError

    if not path or os.path.isdir(path):
        raise ParameterError("html", f"expected a file name, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MissingFileError("html", f"directory {directory} does not exist")


def run(args) -> int:
    from ..answers import SECTIONS, compute, format_answer

    for number in args.section or ():
        if number not in SECTIONS:
            raise ValueError(f"--section: must be one of {sorted(SECTIONS)}, got {number}")
    if args.html is not None:
        _check_html_target(args.html)
    answers = compute(args.section)
    if args.html is not None:
        from ..answers.html import answers_html
        from ..io import atomic_write_bytes

        page = answers_html(answers).encode("utf-8")
        atomic_write_bytes(args.html, page, "html")
    if args.json:
        print(json.dumps([a.as_dict() for a in answers], indent=2))
    else:
        current = None
        for answer in answers:
            if answer.section != current:
                current = answer.section
                title = SECTIONS[current][0]
                print(f"\n=== {current}. {title} ===")
            print(format_answer(answer))
        passed = sum(a.passed for a in answers)
        print(f"\n{passed} of {len(answers)} checks passed")
    if args.html is not None:
        print(f"wrote {args.html}", file=sys.stderr if args.json else sys.stdout)
    return 0 if all(a.passed for a in answers) else 1
