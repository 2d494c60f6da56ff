"""Reading an answer sheet: the text of each question and the formulas in it.

A sheet is ``.md``, ``.tex`` or ``.txt`` with LaTeX math in ``$...$``, ``$$...$$``,
``\\[...\\]``, ``\\(...\\)`` or ``equation``/``align`` environments. It is untrusted text:
nothing in it is expanded or followed (``\\input`` is just text here, and refused by the
formula parser). The noise of PDF extractions is removed first: line numbers at the start of
a line (an integer above 9, or any integer before a bold marker or a part label) and ``**``
bold markers.

Sections are found by headings: ``2 Softmax ...`` / ``## 2 ...`` (a digit 1-9 and a title),
``\\section{...}`` (numbered in order); parts by ``2.1`` / ``\\subsection{...}`` and
``(a)`` / ``(A)`` / ``(b)`` labels at the start of a line. A part label is matched to the
question ids of its section by position (``(b)`` of section 5 is ``5b``, ``3.2`` is ``3b``,
``(A)`` of section 9 is ``9A``). Text of a section before its first part label is its
preamble (context, not an answer) unless the section has no part labels at all, when it is
the answer to the section's first question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .._checks import MissingFileError, ParameterError
from .key import QUESTION_IDS

__all__ = ["Block", "Sheet", "read_sheet", "parse_sheet", "math_blocks", "MAX_SHEET_BYTES"]

MAX_SHEET_BYTES = 2_000_000
_SUFFIXES = (".md", ".tex", ".txt")

_SECTION_IDS = {}
for _qid in QUESTION_IDS:
    _SECTION_IDS.setdefault(int(_qid[0]), []).append(_qid)


@dataclass
class Block:
    """One piece of math: its LaTeX, its label (``(4)``) and whether it was displayed."""

    latex: str
    label: str
    display: bool


@dataclass
class Sheet:
    """The sheet's answers: question id -> text (only ids with some text)."""

    path: str
    answers: dict = field(default_factory=dict)
    preambles: dict = field(default_factory=dict)


def read_sheet(path) -> Sheet:
    """Read and split the sheet at ``path`` (errors are about parameter ``sheet``)."""
    p = Path(path)
    if p.suffix.lower() not in _SUFFIXES:
        raise ParameterError("sheet", f"{path}: must be a .md, .tex or .txt file")
    if not p.is_file():
        raise MissingFileError("sheet", f"{path}: no such file")
    if p.stat().st_size > MAX_SHEET_BYTES:
        raise ParameterError("sheet", f"{path}: larger than {MAX_SHEET_BYTES} bytes")
    data = p.read_bytes()
    if b"\x00" in data:
        raise ParameterError("sheet", f"{path}: not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError("sheet", f"{path}: not UTF-8 text") from None
    return parse_sheet(text, str(path), tex=p.suffix.lower() == ".tex")


_LINE_NUMBER = re.compile(r"^\s*(\d{1,3})(?:\s+(.*))?$")
_HEADING = re.compile(r"^\s*#*\s*([1-9])\.?\s+([A-Za-z][^$\n]{0,60})$")
_SUBHEADING = re.compile(r"^\s*#*\s*([1-9])\.(\d)\.?(?:\s+(.*))?$")
_PART = re.compile(r"^\s*\(([a-zA-Z]|[ivx]{1,3})\)\s*(.*)$")
_TEX_SECTION = re.compile(r"^\s*\\(section|subsection)\*?\{([^}]*)\}(.*)$")


def _clean(line: str) -> str:
    line = line.replace("**", "").replace("__", "")
    m = _LINE_NUMBER.match(line)
    if m:
        number, rest = int(m.group(1)), m.group(2) or ""
        if number > 9 or not rest or rest[0].isdigit() or rest.startswith("("):
            line = rest
    return line


def parse_sheet(text: str, name: str = "<sheet>", tex: bool = False) -> Sheet:
    """Split ``text`` into answers by section and part labels (see the module doc)."""
    sheet = Sheet(name)
    section = part_index = None
    tex_section = tex_sub = 0
    current = None  # (kind, key): ("answer", qid) or ("preamble", section)
    labelled = set()
    buffers = {}

    def start(kind, key):
        nonlocal current
        current = (kind, key)
        buffers.setdefault(current, [])

    for raw in text.splitlines():
        line = _clean(raw)
        m = _TEX_SECTION.match(line)
        if m:
            if m.group(1) == "section":
                tex_section += 1
                tex_sub = 0
                number = re.match(r"\s*([1-9])\b", m.group(2))
                section = int(number.group(1)) if number else tex_section
                start("preamble", section)
            elif section is not None:
                tex_sub += 1
                number = re.match(r"\s*[1-9]\.(\d)", m.group(2))
                part_index = int(number.group(1)) - 1 if number else tex_sub - 1
                _start_part(section, part_index, start, labelled)
            line = m.group(3)
        elif (sub := _SUBHEADING.match(line)) and int(sub.group(1)) in _SECTION_IDS:
            section = int(sub.group(1))
            _start_part(section, int(sub.group(2)) - 1, start, labelled)
            line = sub.group(3) or ""
        elif (head := _HEADING.match(line)) and (section is None or int(head.group(1)) >= section):
            section = int(head.group(1))
            start("preamble", section)
            continue
        elif (part := _PART.match(line)) and section is not None:
            label = part.group(1)
            index = _part_index(label)
            if index is not None and index < len(_SECTION_IDS.get(section, [])):
                _start_part(section, index, start, labelled)
                line = part.group(2)
        if current is not None:
            buffers[current].append(line)
    for (kind, key), lines in buffers.items():
        body = "\n".join(lines).strip()
        if kind == "answer":
            if body:
                sheet.answers[key] = (sheet.answers.get(key, "") + "\n" + body).strip()
        elif body:
            sheet.preambles[key] = body
            if key not in labelled and key in _SECTION_IDS:
                first = _SECTION_IDS[key][0]
                sheet.answers.setdefault(first, body)
    return sheet


def _part_index(label: str):
    if len(label) == 1 and label.isalpha():
        return ord(label.lower()) - ord("a")
    romans = {"i": 0, "ii": 1, "iii": 2, "iv": 3}
    return romans.get(label)


def _start_part(section, index, start, labelled):
    ids = _SECTION_IDS.get(section, [])
    if 0 <= index < len(ids):
        labelled.add(section)
        start("answer", ids[index])


_DISPLAY = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(equation|align|gather|multline)\*?\}(.+?)"
    r"\\end\{\3\*?\}",
    re.S,
)
_INLINE = re.compile(r"(?<![\\$])\$([^$]+?)\$|\\\((.+?)\\\)", re.S)
_LABEL = re.compile(
    r"(?:\\q?quad\s*\(\s*(\d{1,3}[a-z]?)\s*\)|\\tag\*?\{\s*(\d{1,3}[a-z]?)\s*\}"
    r"|\s\(\s*(\d{1,3}[a-z]?)\s*\))\s*[.,]?\s*$"
)


def math_blocks(text: str) -> list:
    """The math of ``text`` in order: displayed blocks (an ``align`` split at ``\\\\``) and
    inline ``$...$``; a trailing ``\\quad (4)`` / ``\\tag{4}`` / ``(4)`` after the block is its
    label."""
    out, n = [], 0
    spans = []
    for m in _DISPLAY.finditer(text):
        body = m.group(1) or m.group(2) or m.group(4) or ""
        after = text[m.end() : m.end() + 12].split("\n")[0]
        spans.append((m.start(), m.end(), body, True, after))
    covered = [(s, e) for s, e, *_ in spans]
    for m in _INLINE.finditer(text):
        if any(s <= m.start() < e for s, e in covered):
            continue
        spans.append((m.start(), m.end(), m.group(1) or m.group(2) or "", False, ""))
    for _, _, body, display, after in sorted(spans, key=lambda s: s[0]):
        aligned = display and "&" in body and "\\begin" not in body
        pieces = re.split(r"\\\\", body) if aligned else [body]
        for piece in pieces:
            piece = piece.replace("&", " ") if aligned else piece
            label = ""
            m = _LABEL.search(piece)
            if m and display:
                label = f"({m.group(1) or m.group(2) or m.group(3)})"
                piece = piece[: m.start()]
            elif display:
                tail = re.match(r"\s*\((\d{1,3})\)", after)
                if tail:
                    label = f"({tail.group(1)})"
            if not piece.strip():
                continue
            n += 1
            out.append(Block(piece.strip().rstrip(".,;").strip(), label or f"eq{n}", display))
    return out
