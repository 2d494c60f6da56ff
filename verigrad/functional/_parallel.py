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
"""

from __future__ import annotations

from .._threads import LazyPool, num_threads

__all__ = ["MIN_PARALLEL", "num_threads", "run_split"]

#: elements a pass must touch before it is split over threads
MIN_PARALLEL = 1 << 16

_POOL = LazyPool("verigrad-kernels")


def run_split(count: int, work, elements: int, threads: int | None = None) -> None:
    """Call ``work(part)`` for contiguous slices ``part`` covering ``range(count)``.

    One slice per thread when the pass touches at least :data:`MIN_PARALLEL` ``elements``
    and ``count >= 2``; otherwise ``work(slice(0, count))`` on the calling thread.
    """
    threads = num_threads() if threads is None else threads
    threads = min(threads, count)
    if threads <= 1 or elements < MIN_PARALLEL:
        work(slice(0, count))
        return
    bounds = [round(i * count / threads) for i in range(threads + 1)]
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    pool = _POOL.get(threads - 1)
    futures = [pool.submit(work, part) for part in parts[1:]]
    try:
        work(parts[0])
    finally:
        for future in futures:
            future.result()
