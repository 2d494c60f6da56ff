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
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields

__all__ = [
    "Row",
    "compare",
    "back_to_back",
    "format_table",
    "to_markdown",
    "to_json",
    "minor_faults",
    "run_with_threads",
    "THREAD_COUNTS",
]

#: the thread counts the conv and train rows are measured at (the machine has 2 cores)
THREAD_COUNTS = (1, 2)


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


def minor_faults() -> int:
    """Minor page faults of this process so far (``getrusage``): a fresh page costs one."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def time_call(fn, faults: list | None = None) -> float:
    """Seconds one ``fn()`` takes; its minor page faults are appended to ``faults``."""
    gc.collect()
    before = minor_faults()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    if faults is not None:
        faults.append(minor_faults() - before)
    return elapsed


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
    faults_per: int = 0,
) -> Row:
    """Time ``ours()`` and ``reference()`` interleaved ``repeats`` times after ``warmup`` each.

    With ``faults_per`` (the steps one call makes, e.g. 1 for a kernel, the batches of an
    epoch), ``extra`` also gets the median minor page faults per step of each side,
    ``faults`` and ``ref_faults``.
    """
    for _ in range(warmup):
        ours()
        reference()
    ours_t, ref_t, ours_f, ref_f = [], [], [], []
    for i in range(repeats):
        # alternate which side goes first so neither always runs on a warm cache
        if i % 2 == 0:
            ours_t.append(time_call(ours, ours_f))
            ref_t.append(time_call(reference, ref_f))
        else:
            ref_t.append(time_call(reference, ref_f))
            ours_t.append(time_call(ours, ours_f))
    extra = dict(extra or {})
    if faults_per:
        extra["faults"] = _median(ours_f) / faults_per
        extra["ref_faults"] = _median(ref_f) / faults_per
    return Row(
        benchmark,
        case,
        reference_name,
        _median(ours_t),
        _median(ref_t),
        target,
        repeats,
        extra,
    )


def run_with_threads(module: str, threads: int, quick: bool) -> list:
    """``verigrad.bench.<module>.run_here(quick)`` in a fresh process limited to ``threads``.

    OpenBLAS fixes its thread count when NumPy loads, so each count needs its own process:
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` and
    ``VERIGRAD_NUM_THREADS`` are set for the child (which also calls
    ``torch.set_num_threads``). The rows come back as JSON, their case
    names marked with the thread count.
    """
    env = dict(os.environ)
    for name in (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VERIGRAD_NUM_THREADS",  # verigrad's own pool (optimizers, kernel passes)
    ):
        env[name] = str(threads)
    code = (
        "import sys, json; from verigrad.bench import harness; "
        f"from verigrad.bench.{module} import run_here; "
        f"rows = run_here({bool(quick)!r}, {int(threads)}); "
        "sys.stdout.write(harness.to_json(rows))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark {module} with {threads} thread(s) failed:\n{done.stderr[-2000:]}"
        )
    names = {f.name for f in fields(Row)}
    return [Row(**{k: v for k, v in d.items() if k in names}) for d in json.loads(done.stdout)]


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
