"""docs/api.md's signatures are the code's: every ``name(args)`` written on the page is compared
with ``inspect.signature`` of what it names (argument names in order, and defaults).

How a name is found: a section ``## `verigrad.prox``` looks names up in that module (the
others in ``verigrad``); ``Class.method`` and ``verigrad.x.y`` are followed as written; a
method written alone (``step()``, ``.value(x)``) belongs to the last class the section named.
A module named on its own (``verigrad.optim.lr_scheduler``) is searched first from there on.
A call may end in ``...``: then the arguments it lists must exist, in that order, with those
defaults, and the rest are left out. Without ``...`` the list is complete."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "api.md"
SPAN = re.compile(r"`([^`]+)`")
NAME = re.compile(r"(?:\.?[A-Za-z_][\w.]*)(?:/\.?[A-Za-z_][\w.]*)*")

#: spans that are notation, not a signature of the package
NOT_SIGNATURES = {
    "fn(*inputs)",  # the user's function in gradcheck's description
    "softmax(W x + b)",  # the model's formula
}
#: a proximal operator applied, ``op(v, t)``
ALIASES = {
    "op": "verigrad.prox.operators.ProxOperator.__call__",
    ".value": "verigrad.prox.operators.ProxOperator.value",  # after the operator functions
}
_EMPTY = inspect.Parameter.empty


def _split_call(span: str):
    """``(names, argument text, ...)`` of ``name(args) ...``; None for a span without a call."""
    match = NAME.match(span)
    if not match or match.end() >= len(span) or span[match.end()] != "(":
        return None
    depth = 0
    for k in range(match.end(), len(span)):
        depth += {"(": 1, ")": -1}.get(span[k], 0)
        if depth == 0:
            return match.group().split("/"), span[match.end() + 1 : k]
    return None


def _documented(arguments: str):
    """``([(name, default or _EMPTY)], complete)`` of a written argument list; a default that
    is not a literal (``np.float32``) is kept as its text."""
    complete = "..." not in arguments
    arguments = re.sub(r"\.\.\.\s*,?", "", arguments).strip().rstrip(",")
    call = ast.parse(f"f({arguments})", mode="eval").body
    out = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            out.append(("*" + arg.value.id, _EMPTY))
        else:
            out.append((arg.id, _EMPTY))
    for keyword in call.keywords:
        try:
            out.append((keyword.arg, ast.literal_eval(keyword.value)))
        except ValueError:
            out.append((keyword.arg, ast.unparse(keyword.value)))
    return out, complete


def _same_default(real, written) -> bool:
    if isinstance(real, type):  # dtype=np.float32
        return written == f"np.{real.__name__}" and real.__module__ == "numpy"
    return type(real) is type(written) or {type(real), type(written)} == {int, float}


def _resolve(name: str, modules: list, owner):
    if name in ALIASES:
        name = ALIASES[name]
    if name.startswith(".") and owner is not None:
        return getattr(owner, name[1:], None)
    parts = name.split(".")
    if parts[0] == "verigrad":
        obj, rest = importlib.import_module("verigrad"), parts[1:]
        while rest and hasattr(obj, "__path__"):  # submodules, imported lazily
            try:
                obj, rest = importlib.import_module(f"{obj.__name__}.{rest[0]}"), rest[1:]
            except ModuleNotFoundError:
                break
    else:
        obj, rest = None, parts
        for where in (*modules, "verigrad", *PAGE_MODULES):
            if hasattr(importlib.import_module(where), parts[0]):
                obj, rest = importlib.import_module(where), parts
                break
        if obj is None and len(parts) == 1 and owner is not None and hasattr(owner, name):
            return getattr(owner, name)
        if obj is None:
            return None
    for part in rest:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


PAGE_MODULES = re.findall(r"^## .*?`(verigrad[\w.]*)`", PAGE.read_text(encoding="utf-8"), re.M)


def _signatures():
    """Every ``(section, span, names, arguments, object)`` of the page."""
    cases = []
    for section in re.split(r"^## ", PAGE.read_text(encoding="utf-8"), flags=re.M)[1:]:
        title = section.splitlines()[0]
        modules = re.findall(r"`(verigrad[\w.]*)`", title)[:1]
        owner = None
        for match in SPAN.finditer(section):
            span = " ".join(match.group(1).split())
            bare = NAME.fullmatch(span)
            if bare and "/" not in span:
                named = _resolve(span, modules, None)
                if inspect.ismodule(named):  # `verigrad.optim.lr_scheduler`: StepLR(...)
                    modules.insert(0, named.__name__)
                owner = named if inspect.isclass(named) else owner
                continue
            if span in NOT_SIGNATURES:
                continue
            call = _split_call(span)
            if call is None:
                continue
            names, arguments = call
            for name in names:
                obj = _resolve(name, modules, owner)
                cases.append((title, span, name, arguments, obj))
                if inspect.isclass(obj):
                    owner = obj
    return cases


CASES = _signatures()


def test_the_page_has_its_signatures():
    assert len(CASES) >= 90
    names = {name for _, _, name, _, _ in CASES}
    assert {"GroupLasso", "TSNE", "cross_entropy", "SGD", "proximal_gradient"} <= names


@pytest.mark.parametrize(
    "title, span, name, arguments, obj", CASES, ids=[f"{c[2]}({c[3][:20]})" for c in CASES]
)
def test_signature_matches_the_code(title, span, name, arguments, obj):
    assert obj is not None, f"{name} ({title}): not found"
    documented, complete = _documented(arguments)
    parameters = list(inspect.signature(obj).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    actual = {
        ("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + p.name: p
        for p in parameters
    }
    written = [n for n, _ in documented]
    if complete:
        assert written == list(actual), f"`{span}`: the code has ({', '.join(actual)})"
    else:
        missing = [n for n in written if n not in actual]
        assert not missing, f"`{span}`: no argument {missing} in ({', '.join(actual)})"
        order = [n for n in actual if n in written]
        assert written == order, f"`{span}`: the code's order is ({', '.join(order)})"
    for argument, default in documented:
        if argument.startswith("*"):
            continue
        real = actual[argument].default
        if default is _EMPTY:
            assert real is _EMPTY, f"`{span}`: {argument} defaults to {real!r} in the code"
        else:
            assert real is not _EMPTY, f"`{span}`: {argument} has no default in the code"
            same = _same_default(real, default) and (isinstance(real, type) or real == default)
            assert same, f"`{span}`: {argument}={real!r} in the code"
