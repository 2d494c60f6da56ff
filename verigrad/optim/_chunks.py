"""Run an elementwise update over chunks of flat parameter views on a small thread pool.

Optimizer updates such as Adam's are elementwise and memory-bound: every coordinate is
updated independently from the same coordinates of a handful of arrays. So the parameters
can be cut into flat chunks of :data:`CHUNK` elements and the chunks shared among threads;
NumPy releases the GIL inside its ufunc loops, so the threads run concurrently, as torch's
intra-op threads do. The result is bitwise the same for any chunking and thread count.

The chunk size is a trade: every ufunc call hands the GIL back and forth, which costs a few
microseconds when two threads contend for it, so a chunk must hold enough work to dwarf
that; but smaller chunks keep the scratch arrays in cache. Measured with Adam's kernel on 2
cores (``verigrad bench adam``): 64K elements ran at 1.25x torch's time, 256K at about 1.0x,
and 512K no better.

``VERIGRAD_NUM_THREADS`` sets the number of threads (default: the usable cores, at most 4).
"""

from __future__ import annotations

from .._threads import LazyPool, num_threads

__all__ = ["CHUNK", "MIN_PARALLEL", "num_threads", "chunk_views", "run_pieces"]

#: elements per chunk (1 MiB of float32)
CHUNK = 1 << 18
#: below this many elements in one step the threads cost more than they save
MIN_PARALLEL = 1 << 17

_POOL = LazyPool("verigrad-optim")


def chunk_views(arrays, chunk: int = CHUNK) -> list:
    """Cut same-shape arrays (None entries pass through) into aligned flat chunks.

    Chunks are of equal size, at most ``chunk`` elements, and there are at least two once
    the arrays reach :data:`MIN_PARALLEL` elements (so one mid-sized parameter still uses two
    threads). Returns a list of tuples of views when every array is C-contiguous, else the
    single tuple ``arrays`` unchanged (the update then runs on the whole arrays).
    """
    present = [a for a in arrays if a is not None]
    if not all(a.flags.c_contiguous for a in present):
        return [tuple(arrays)]
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    n = present[0].size
    count = max(-(-n // chunk), 2 if n >= MIN_PARALLEL else 1)
    if count == 1:
        return [tuple(flat)]
    size = -(-n // count)
    return [
        tuple(None if a is None else a[start : start + size] for a in flat)
        for start in range(0, n, size)
    ]


def run_pieces(pieces, work, threads: int | None = None) -> None:
    """Call ``work(slot, piece)`` for every piece, split over up to ``threads`` threads.

    ``pieces`` is a list whose items start with the array that sets their size; ``slot``
    (0 .. threads-1) tells the worker which scratch memory is its own. Runs in the calling
    thread when the pieces are small in total or there is one thread.
    """
    threads = num_threads() if threads is None else threads
    sizes = [piece[0].size for piece in pieces]
    total = sum(sizes)
    if threads <= 1 or total < MIN_PARALLEL or len(pieces) < 2:
        for piece in pieces:
            work(0, piece)
        return
    threads = min(threads, len(pieces))
    # contiguous runs of pieces with about total/threads elements each
    bounds, acc, target = [0], 0, total / threads
    for i, size in enumerate(sizes):
        acc += size
        if acc >= target * len(bounds) and len(bounds) < threads:
            bounds.append(i + 1)
    bounds.append(len(pieces))

    def run_slot(slot):
        for piece in pieces[bounds[slot] : bounds[slot + 1]]:
            work(slot, piece)

    pool = _POOL.get(threads)
    futures = [pool.submit(run_slot, slot) for slot in range(1, len(bounds) - 1)]
    run_slot(0)
    for future in futures:
        future.result()
