"""``verigrad bench``: output paths are checked before anything runs; names run once."""

import pytest

import verigrad.bench
from verigrad.cli import main


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake_run(names, quick=False, progress=None):
        seen.append(list(names))
        return []

    monkeypatch.setattr(verigrad.bench, "run_benchmarks", fake_run)
    monkeypatch.setattr(verigrad.bench, "format_table", lambda rows: "table")
    return seen


@pytest.mark.parametrize(
    "option,path,needle",
    [
        ("--markdown", "/nonexistent_dir_x/a.md", "does not exist"),
        ("--json", "DIR", "is a directory"),
        ("--markdown", "", "empty"),
    ],
)
def test_bad_output_paths_are_refused_before_running(calls, tmp_path, capsys, option, path, needle):
    path = str(tmp_path) if path == "DIR" else path
    assert main(["bench", "--quick", option, path, "softmax"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{option}:" in err and needle in err and len(err.splitlines()) == 1
    assert calls == []


def test_a_name_given_twice_runs_once(calls, tmp_path, capsys):
    out = tmp_path / "t.md"
    assert main(["bench", "--quick", "--markdown", str(out), "softmax", "conv", "softmax"]) == 0
    assert calls == [["softmax", "conv"]]
    assert out.exists()
