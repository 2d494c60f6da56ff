"""The ``verigrad`` command.

Each subcommand lives in ``verigrad/commands/<name>.py`` with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``, so
``verigrad --help`` is instant. Bad usage or bad input ends with one line on stderr and exit
code 2, never a traceback (set ``VERIGRAD_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "UsageError", "name_option"]

#: subcommand -> module in verigrad.commands
COMMANDS = {
    "train": "train",
    "evaluate": "evaluate",
    "tsne": "tsne",
    "answers": "answers",
    "check-grad": "check_grad",
    "optimize": "optimize",
    "bench": "bench",
}


#: subcommand -> options whose value may start with '-' (a formula "-y/p", a point "-1,2")
DASH_VALUES = {"check-grad": ("--f", "--grad"), "optimize": ("--start",)}


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
        p.set_defaults(_run=module.run)
    return parser


def name_option(exc: Exception, options: dict) -> Exception:
    """``exc`` with its leading ``"field:"`` replaced by the option the user typed.

    Library errors name the parameter (``"lr: ..."``, ``"checkpoint: ..."``); ``options`` maps
    such a field to the command-line option it came from (``{"checkpoint": "--resume"}``).
    Other errors are returned unchanged.
    """
    text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    field, sep, rest = text.partition(":")
    if sep and field in options:
        return type(exc)(f"{options[field]}:{rest}")
    return exc


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
        print(f"verigrad {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"verigrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
