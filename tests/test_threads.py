"""LazyPool: made on first use, regrown on demand, fresh in a forked child."""

import os

import pytest

from verigrad._threads import LazyPool


def test_pool_is_made_once_and_regrown_only_for_more_workers():
    lazy = LazyPool("test-pool")
    one = lazy.get()
    assert lazy.get(1) is one and one.submit(lambda: 7).result() == 7
    two = lazy.get(2)
    assert two is not one and lazy.get(1) is two
    two.shutdown()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_a_working_pool():
    lazy = LazyPool("test-fork")
    lazy.get().submit(lambda: None).result()  # the parent's thread exists
    pid = os.fork()
    if pid == 0:  # child: without the reset this submit would wait forever
        os._exit(0 if lazy.get().submit(lambda: 5).result(timeout=10) == 5 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_single_threaded_blas_limits_and_restores_without_touching_the_environment():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from verigrad._threads import blas_is_controllable, single_threaded_blas

    assert blas_is_controllable()
    env = dict(os.environ)

    def counts():
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = counts()
        with single_threaded_blas():
            assert set(counts()) == {1}
            with single_threaded_blas():  # nested: still one; the inner exit restores nothing
                assert set(counts()) == {1}
            assert set(counts()) == {1}
        assert counts() == before
    assert dict(os.environ) == env


def test_gemm_split_runs_every_part_once_and_nested_splits_inline():
    import threading

    from verigrad.functional import _parallel

    seen, lock = [], threading.Lock()

    def work(part):
        inner = []
        _parallel.run_split(8, inner.append, 1 << 20, threads=2)  # nested: one inline call
        with lock:
            seen.append((part.start, part.stop, len(inner), threading.get_ident()))

    _parallel._run_parts(10, work, 2)
    assert sorted((a, b) for a, b, _, _ in seen) == [(0, 5), (5, 10)]
    assert all(n == 1 for _, _, n, _ in seen) and len({t for *_, t in seen}) == 2


def test_growing_the_pool_never_breaks_a_thread_that_holds_the_old_one():
    """Threads asking for ever more workers while others submit to the pool they got: no
    submit may meet a pool shut down under it (it used to raise RuntimeError)."""
    import itertools
    import threading

    pool = LazyPool("verigrad-test-grow")
    counter = itertools.count(1)
    errors = []

    def user():
        try:
            for _ in range(50):
                executor = pool.get(next(counter))
                executor.submit(lambda: None).result()
        except RuntimeError as error:  # pragma: no cover - the failure this guards against
            errors.append(error)

    threads = [threading.Thread(target=user) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
