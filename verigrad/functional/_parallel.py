"""Memory-bound kernel passes (layout copies, transforms, pooling) split over both cores.

NumPy's GEMMs use every core through OpenBLAS, but its copies and ufuncs run on one. They
release the GIL inside their loops, so a pass over a large array can be cut into contiguous
slices along a leading axis (channels, samples) and the slices run on the threads of a small
pool, as torch's intra-op threads do. Every slice writes its own part of the outputs, so the
result is bitwise the same for any number of threads.

``VERIGRAD_NUM_THREADS`` sets the number of threads (default: the usable cores, at most 4),
the variable the optimizers' chunked updates read; :mod:`verigrad.bench` sets it with
``OPENBLAS_NUM_THREADS`` so both sides of a comparison get the same cores. Passes over fewer
than :data:`MIN_PARALLEL` elements stay on the calling thread: handing work to a thread and
waiting for it costs tens of microseconds, about what one core copies in 2^16 elements.

Whole GEMM-bearing stages (a convolution's chunks of samples, each with its im2col, GEMM and
layout passes) are split the same way by :func:`run_split_gemm`, with BLAS held to one thread
for the duration (:func:`verigrad._threads.single_threaded_blas`): OpenBLAS serialises
concurrent multi-threaded GEMMs, so two threads gain only with one BLAS thread each. A split
inside a split (a chunk's im2col pass) runs on the calling thread.
"""

from __future__ import annotations

import threading

from .._threads import LazyPool, blas_is_controllable, num_threads, single_threaded_blas

__all__ = ["MIN_PARALLEL", "num_threads", "run_split", "run_split_gemm", "gemm_threads"]

#: elements a pass must touch before it is split over threads
MIN_PARALLEL = 1 << 16

#: whether :func:`run_split_gemm` splits at all. Off: measured in 396 quiet windows at 2
#: threads, the LeNet-5 step took 24.7 ms with conv2d's chunks on two threads (one BLAS
#: thread each) against 21.9 ms with OpenBLAS's own two threads (torch 20.7 ms)
SPLIT_GEMMS = False

_POOL = LazyPool("verigrad-kernels")
_INSIDE = threading.local()  # set while a thread runs one part of a split


def _run_parts(count, work, threads) -> None:
    bounds = [round(i * count / threads) for i in range(threads + 1)]
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    pool = _POOL.get(threads - 1)

    def part_of_split(part):
        _INSIDE.active = True
        try:
            work(part)
        finally:
            _INSIDE.active = False

    futures = [pool.submit(part_of_split, part) for part in parts[1:]]
    try:
        part_of_split(parts[0])
    finally:
        for future in futures:
            future.result()


def gemm_threads(count: int) -> int:
    """Threads :func:`run_split_gemm` would use for ``count`` parts (1: no split)."""
    if not SPLIT_GEMMS or getattr(_INSIDE, "active", False) or not blas_is_controllable():
        return 1
    return max(1, min(num_threads(), count))


def run_split(count: int, work, elements: int, threads: int | None = None) -> None:
    """Call ``work(part)`` for contiguous slices ``part`` covering ``range(count)``.

    One slice per thread when the pass touches at least :data:`MIN_PARALLEL` ``elements``
    and ``count >= 2``; otherwise ``work(slice(0, count))`` on the calling thread.
    """
    threads = num_threads() if threads is None else threads
    threads = min(threads, count)
    if threads <= 1 or elements < MIN_PARALLEL or getattr(_INSIDE, "active", False):
        work(slice(0, count))
        return
    _run_parts(count, work, threads)


def run_split_gemm(count: int, work) -> None:
    """Call ``work(part)`` for contiguous slices ``part`` covering ``range(count)``, one per
    thread (:func:`gemm_threads`), with BLAS on one thread while they run.

    ``work`` may call BLAS; its results must not depend on how ``range(count)`` is cut (each
    index writes its own outputs), so they are the same bits for any number of threads.
    """
    threads = gemm_threads(count)
    if threads <= 1:
        work(slice(0, count))
        return
    with single_threaded_blas():
        _run_parts(count, work, threads)
