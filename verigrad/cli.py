"""The ``verigrad`` command.

Each subcommand lives in ``verigrad/commands/<name>.py`` with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``, so
``verigrad --help`` is instant. Bad usage or bad input ends with one line on stderr and exit
code 2, never a traceback (set ``VERIGRAD_DEBUG=1`` to see one).

Errors name what the user typed: the library raises
:class:`~verigrad._checks.ParameterError` (or ``ParameterTypeError``) carrying the parameter's
name as data, and :func:`option_for` finds the option that sets it through argparse's own
``dest`` and option strings. A command whose options set library parameters of another name
lists them in ``PARAMETER_DESTS`` (library parameter -> argparse ``dest``), e.g. TSNE's
``random_state`` is set by ``--seed``. A file that cannot be written (a full disk, a read-only
directory: :class:`~verigrad.io.UnwritableError`) is reported as the option that chose it, or,
when the library names it only as its own ``path`` (a figure, a report), as the option that
chose where the command writes (:data:`OUTPUTS`):
``verigrad train: error: --out: cannot write RUN/model.npz: No space left on device``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._checks import NamesParameter

__all__ = ["main", "UsageError", "option_for"]

#: subcommand -> module in verigrad.commands
COMMANDS = {
    "train": "train",
    "evaluate": "evaluate",
    "tsne": "tsne",
    "answers": "answers",
    "check-grad": "check_grad",
    "optimize": "optimize",
    "bench": "bench",
    "grade": "grade",
    "compact": "compact",
    "export": "export",
    "graph": "graph",
}


#: subcommand -> options whose value may start with '-' (a formula "-y/p", a point "-1,2")
DASH_VALUES = {
    "check-grad": ("--f", "--grad", "--define"),
    "optimize": ("--start",),
    "graph": ("--f", "--latex", "--at"),
}


def _join_dash_values(argv: list) -> list:
    """``--grad -y/p`` -> ``--grad=-y/p`` for the options of :data:`DASH_VALUES`.

    argparse takes a value starting with '-' for an option and fails with "expected one
    argument"; joining it is unambiguous because no value of these options starts with '--'.
    """
    command = next((a for a in argv if a in COMMANDS), None)
    options = DASH_VALUES.get(command, ())
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if arg in options and nxt is not None and nxt.startswith("-") and not nxt.startswith("--"):
            out.append(f"{arg}={nxt}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


#: subcommand -> the argparse ``dest`` of the option that chooses where it writes: a failed
#: write the library reports about no option of the command (``path`` of a figure) names it
OUTPUTS = {
    "train": "out",
    "tsne": "out",
    "optimize": "out",
    "compact": "out",
    "export": "out",
    "graph": "out",
    "answers": "html",
}


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="verigrad", description="Deep learning in NumPy, derived and verified.")
    parser.add_argument("--version", action="version", version=f"verigrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"verigrad.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"verigrad.commands.{module_name}":
                raise
            continue
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _parser=p, _dests=getattr(module, "PARAMETER_DESTS", {}))
    return parser


def option_for(parser: argparse.ArgumentParser, param: str, dests=None) -> str | None:
    """The option (``--weight-decay``) or positional (``INPUT``) of ``parser`` that sets library
    parameter ``param``: the action whose ``dest`` is ``dests.get(param, param)``; None if no
    option sets it."""
    dest = (dests or {}).get(param, param)
    for action in parser._actions:
        if action.dest != dest or isinstance(action, argparse._HelpAction):
            continue
        long = [o for o in action.option_strings if o.startswith("--")]
        if long or action.option_strings:
            return (long or action.option_strings)[0]
        return action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return None


def _message(exc: BaseException, args) -> str:
    """One line for ``exc``; a parameter error names the option that set the parameter (a
    failed write with no option of its own: the command's output option, :data:`OUTPUTS`)."""
    from .io import UnwritableError  # numpy: imported once something failed, not at --help

    if isinstance(exc, NamesParameter):
        option = option_for(args._parser, exc.param, args._dests)
        if option is None and isinstance(exc, UnwritableError) and args.command in OUTPUTS:
            option = option_for(args._parser, OUTPUTS[args.command])
        if option is not None:
            return " ".join(f"{option}: {exc.reason}".split())
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (FileNotFoundError, KeyError)) and exc.args:
        text = (
            str(exc.args[-1])
            if not isinstance(exc, FileNotFoundError) or not exc.filename
            else f"{exc.filename}: {exc.strerror or 'no such file'}"
        )
    return " ".join(text.split())


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 a check failed, 2 bad usage/input)."""
    parser = build_parser()
    argv = _join_dash_values(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(f"verigrad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, KeyError, OSError, FloatingPointError) as exc:
        if os.environ.get("VERIGRAD_DEBUG"):
            raise
        print(f"verigrad {args.command}: error: {_message(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"verigrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
