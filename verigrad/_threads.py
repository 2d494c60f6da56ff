"""A process-wide worker pool that survives ``fork()``."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ._checks import ParameterError

__all__ = ["LazyPool", "num_threads"]


class LazyPool:
    """A ``ThreadPoolExecutor`` made on first use and regrown when more workers are asked for.

    A child forked after the pool existed inherits the pool object but not its threads, so
    work submitted there would wait forever: the pool (and its lock) start afresh in the child
    through ``os.register_at_fork``. Used by the optimizers' chunked updates and t-SNE's
    attractive-force thread.
    """

    def __init__(self, name: str):
        self.name = name
        self._forget()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def get(self, workers: int = 1) -> ThreadPoolExecutor:
        """The pool, with at least ``workers`` threads."""
        with self._lock:
            if self._pool is None or self._size < workers:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name)
                self._size = workers
            return self._pool


def num_threads() -> int:
    """Threads for verigrad's own parallel passes: ``$VERIGRAD_NUM_THREADS`` or the usable
    cores (at most 4)."""
    env = os.environ.get("VERIGRAD_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ParameterError(
                "VERIGRAD_NUM_THREADS", f"expected an integer, got {env!r}"
            ) from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))
