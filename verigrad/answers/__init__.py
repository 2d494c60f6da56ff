"""Worked, checked answers to the assignment (``verigrad answers``). The formula language and
gradient checker behind ``verigrad check-grad`` are a general tool: :mod:`verigrad.formula`.

Each section module has ``answers() -> list[Answer]``: the library computes the answer and
an independent route (autograd vs closed form vs central finite differences vs brute force)
checks it.
"""

from __future__ import annotations

import importlib

from .record import Answer, format_answer

__all__ = ["SECTIONS", "compute", "Answer", "format_answer"]

#: section number -> (title, module in verigrad.answers)
SECTIONS = {
    1: ("General questions", "general"),
    2: ("Softmax regression gradient", "softmax"),
    3: ("Chain rule", "chain_rule"),
    4: ("Variants of pooling", "pooling"),
    5: ("Convolution", "convolution"),
    6: ("Optimization", "optimization"),
    7: ("Top-k error", "topk"),
    8: ("t-SNE", "tsne"),
    9: ("Proximal gradient descent", "proximal"),
}


def compute(sections=None) -> list:
    """The answers of the given sections (default: all), in order.

    A section whose computation raises is reported as one failed answer carrying the error,
    so one broken piece never hides the others.
    """
    chosen = sorted(SECTIONS) if not sections else sorted(set(sections))
    out = []
    for number in chosen:
        if number not in SECTIONS:
            raise ValueError(f"--section: must be one of {sorted(SECTIONS)}, got {number}")
        title, module_name = SECTIONS[number]
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
            out.extend(module.answers())
        except Exception as exc:  # noqa: BLE001 - reported as a failed check, not hidden
            out.append(
                Answer(
                    number,
                    str(number),
                    title,
                    "not computed",
                    f"error: {type(exc).__name__}: {exc}",
                    False,
                )
            )
    return out
