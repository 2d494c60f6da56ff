"""Side-by-side timing: verigrad against a reference library in the same process.

Each benchmark is a function ``run(quick: bool) -> list[Row]`` in a module of this package,
registered in :data:`verigrad.bench.BENCHMARKS`. A row times verigrad and the reference on the
same data, interleaving their repeats (A B A B ...) so a slow phase of the host hits both
sides, and reports medians and the ratio ``verigrad / reference`` (below 1 means verigrad is
faster) beside the issue's target. Reference libraries are imported inside the benchmark
functions, never at module import.
"""

from __future__ import annotations

import gc
import json
import math
import time
from dataclasses import asdict, dataclass, field

__all__ = ["Row", "compare", "back_to_back", "format_table", "to_markdown", "to_json"]


@dataclass
class Row:
    """One comparison: medians in seconds, ratio ours/reference, target ratio if any."""

    benchmark: str
    case: str
    reference: str
    ours_s: float
    reference_s: float
    target: float | None = None
    repeats: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours_s / self.reference_s if self.reference_s > 0 else math.inf

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["met"] = self.met
        return d


def _median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def time_call(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    benchmark: str,
    case: str,
    ours,
    reference,
    reference_name: str,
    *,
    repeats: int = 5,
    warmup: int = 1,
    target: float | None = None,
    extra: dict | None = None,
) -> Row:
    """Time ``ours()`` and ``reference()`` interleaved ``repeats`` times after ``warmup`` each."""
    for _ in range(warmup):
        ours()
        reference()
    ours_t, ref_t = [], []
    for i in range(repeats):
        # alternate which side goes first so neither always runs on a warm cache
        if i % 2 == 0:
            ours_t.append(time_call(ours))
            ref_t.append(time_call(reference))
        else:
            ref_t.append(time_call(reference))
            ours_t.append(time_call(ours))
    return Row(
        benchmark,
        case,
        reference_name,
        _median(ours_t),
        _median(ref_t),
        target,
        repeats,
        dict(extra or {}),
    )


def back_to_back(*calls, repeats: int = 5) -> tuple:
    """The median time of each of ``calls``, each run ``repeats`` times in a row (after one
    warm-up call), not interleaved: what each costs when it has the machine to itself.

    Interleaving spreads a slow phase of the host over both sides, but each side also runs
    right after the other, whose thread pools may still be spinning (OpenBLAS after numpy's
    matmuls, OpenMP after torch's kernels). Rows that show a difference report both.
    """
    medians = []
    for fn in calls:
        fn()
        medians.append(_median([time_call(fn) for _ in range(repeats)]))
    return tuple(medians)


def _fmt_time(s: float, unit: str | None = None) -> str:
    if unit is not None:  # a row that measures something other than time (e.g. GB)
        return f"{s:.3g} {unit}"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def _cells(row: Row):
    extra = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.extra.items()
    )
    target = "" if row.target is None else f"<= {row.target:g}x"
    verdict = "" if row.met is None else ("ok" if row.met else "MISSED")
    return [
        row.benchmark,
        row.case,
        row.reference,
        _fmt_time(row.ours_s, row.extra.get("unit")),
        _fmt_time(row.reference_s, row.extra.get("unit")),
        f"{row.ratio:.2f}x",
        target,
        verdict,
        extra,
    ]


_HEAD = [
    "benchmark",
    "case",
    "reference",
    "verigrad time",
    "reference time",
    "ratio",
    "target",
    "verdict",
    "notes",
]


def format_table(rows) -> str:
    """A plain-text table for the terminal."""
    cells = [_HEAD] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEAD))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(_HEAD))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    """A table cell: a literal ``|`` (as in a note ``max|dW|``) would end the cell."""
    return text.replace("|", "\\|")


def to_markdown(rows) -> str:
    cells = [[_markdown_cell(t) for t in _cells(r)] for r in rows]
    out = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    out += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(out) + "\n"


def to_json(rows) -> str:
    return json.dumps([r.as_dict() for r in rows], indent=2) + "\n"
