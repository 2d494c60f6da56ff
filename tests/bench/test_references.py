"""A benchmark whose reference library is missing is one line naming it, before anything runs."""

import subprocess
import sys

BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Block())
import importlib.util
_find = importlib.util.find_spec
def find_spec(name, package=None):
    if name.split(".")[0] in {blocked!r}:
        return None
    return _find(name, package)
importlib.util.find_spec = find_spec
from verigrad.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(blocked, *argv):
    code = BLOCK.format(blocked=set(blocked))
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )


def test_bench_without_torch_names_torch_and_exits_2():
    out = _run({"torch"}, "bench", "--quick", "softmax", "mlp")
    assert out.returncode == 2, out.stderr
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "NAME: benchmark 'mlp' compares with torch, which is not installed" in err
    assert "running" not in out.stderr  # refused before softmax ran


def test_unknown_benchmark_names_the_positional():
    out = _run(set(), "bench", "nosuch")
    assert out.returncode == 2
    assert "NAME: unknown benchmark(s) nosuch" in out.stderr
