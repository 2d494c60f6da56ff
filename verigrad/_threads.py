"""A process-wide worker pool that survives ``fork()``, the thread count verigrad's own
parallel passes use, and a way to run BLAS on one thread while they run."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ._checks import ParameterError

__all__ = ["LazyPool", "num_threads", "single_threaded_blas", "blas_is_controllable"]


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
                # the smaller pool is not shut down: another thread may have it in hand and be
                # about to submit (shutdown would make that submit raise); its idle threads
                # end when the last reference to it goes
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


class _BlasThreads:
    """BLAS limited to one thread while any caller is inside :meth:`limited`.

    Why: OpenBLAS runs a multi-threaded GEMM under one process-wide lock, so two threads that
    each call a large GEMM take turns, each turn on every core: a kernel that splits its work
    over our own threads (one sample range each) gains only if each thread's GEMMs run on a
    single BLAS thread. Uses ``threadpoolctl`` (optional; without it nothing is limited and
    :func:`blas_is_controllable` is False), whose library handles are looked up once; setting
    the count is one C call (about 2 us). Nested and concurrent users are counted: the first
    one in sets 1, the last one out restores the count it found. Environment variables are
    never touched.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._libraries = None  # threadpoolctl controllers of the loaded BLAS libraries
        self._users = 0
        self._saved: list = []
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = []

    def libraries(self) -> list:
        if self._libraries is None:
            try:
                from threadpoolctl import ThreadpoolController

                selected = ThreadpoolController().select(user_api="blas")
                self._libraries = list(selected.lib_controllers)
            except Exception:  # noqa: BLE001 - absent or failing threadpoolctl: no control
                self._libraries = []
        return self._libraries

    @contextlib.contextmanager
    def limited(self):
        libraries = self.libraries()
        with self._lock:
            if self._users == 0:
                self._saved = [lib.get_num_threads() for lib in libraries]
                for lib, count in zip(libraries, self._saved, strict=True):
                    if count != 1:
                        lib.set_num_threads(1)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    for lib, count in zip(libraries, self._saved, strict=True):
                        if count != 1:
                            lib.set_num_threads(count)


_BLAS = _BlasThreads()


def single_threaded_blas():
    """A context manager: BLAS (NumPy's OpenBLAS) on one thread inside it (see
    :class:`_BlasThreads`); a no-op without ``threadpoolctl``."""
    return _BLAS.limited()


def blas_is_controllable() -> bool:
    """Whether :func:`single_threaded_blas` can limit the BLAS threads here."""
    return bool(_BLAS.libraries())
