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
