"""``verigrad answers``: the assignment's questions, worked and checked."""

from __future__ import annotations

import json

HELP = "print the assignment's worked answers, each checked by an independent route"
DESCRIPTION = """Work every question of the assignment with the library and check each answer by
an independent route (autograd vs closed form vs central finite differences vs brute force).

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


def run(args) -> int:
    from ..answers import SECTIONS, compute, format_answer

    for number in args.section or ():
        if number not in SECTIONS:
            raise ValueError(f"--section: must be one of {sorted(SECTIONS)}, got {number}")
    answers = compute(args.section)
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
    return 0 if all(a.passed for a in answers) else 1
