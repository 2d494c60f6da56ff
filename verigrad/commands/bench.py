"""``verigrad bench [NAME ...]``: side-by-side benchmarks against the reference libraries."""

from __future__ import annotations

import os
import sys

from .._checks import ParameterError

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


def _check_output(path, param: str) -> None:
    """Refuse an output file that cannot be written, before any benchmark runs (a full run
    takes minutes, and its table would be lost to a typo in the path)."""
    if path is None:
        return
    if not path.strip():
        raise ParameterError(param, "give a file name, got an empty one")
    if os.path.isdir(path):
        raise ParameterError(param, f"{path} is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ParameterError(param, f"{path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ParameterError(param, f"{path}: not writable")


def run(args) -> int:
    from ..bench import BENCHMARKS, available, format_table, run_benchmarks, to_json, to_markdown
    from ..io import atomic_write_text

    if args.list:
        have = available()
        for name, (_, text) in BENCHMARKS.items():
            print(f"{name:10s} {text}{'' if name in have else '  (not available)'}")
        return 0
    _check_output(args.markdown, "markdown")
    _check_output(args.json, "json")
    names = list(dict.fromkeys(args.names))  # a name given twice runs once, in first-seen order
    rows = run_benchmarks(
        names,
        quick=args.quick,
        progress=lambda n: print(f"running {n} ...", file=sys.stderr, flush=True),
    )
    print(format_table(rows))
    if args.markdown is not None:
        atomic_write_text(args.markdown, to_markdown(rows), "markdown")
    if args.json is not None:
        atomic_write_text(args.json, to_json(rows), "json")
    return 0
