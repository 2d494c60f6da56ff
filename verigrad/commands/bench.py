"""``verigrad bench [NAME ...]``: side-by-side benchmarks against the reference libraries."""

from __future__ import annotations

import sys

HELP = "run side-by-side benchmarks against the reference libraries"
DESCRIPTION = """Time verigrad and the reference library (torch, scikit-learn, openTSNE) on the
same data in one process, interleaving repeats, and print medians and the ratio
verigrad/reference (below 1: verigrad is faster) beside each target.

Run it alone on the machine: parallel jobs distort every ratio."""


def add_arguments(p):
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="benchmarks to run (default: all); see --list"
    )
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--quick", action="store_true", help="smaller problems and fewer repeats (a smoke test)"
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")


def run(args) -> int:
    from ..bench import BENCHMARKS, available, format_table, run_benchmarks, to_json, to_markdown

    if args.list:
        have = available()
        for name, (_, text) in BENCHMARKS.items():
            print(f"{name:10s} {text}{'' if name in have else '  (not available)'}")
        return 0
    rows = run_benchmarks(
        args.names,
        quick=args.quick,
        progress=lambda n: print(f"running {n} ...", file=sys.stderr, flush=True),
    )
    print(format_table(rows))
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(to_markdown(rows))
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(to_json(rows))
    return 0
