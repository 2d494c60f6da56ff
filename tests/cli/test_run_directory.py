"""``verigrad train`` run directories: default names never collide; --out errors name --out."""

import time

from verigrad.cli import main

FAST = ["--no-progress", "--quiet", "--no-tsne", "--model", "softmax", "--epochs", "1"]


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "strftime", lambda *a: "20260101-000000")
    for _ in range(3):
        assert main(["train", *FAST]) == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["20260101-000000", "20260101-000000-2", "20260101-000000-3"]
    assert all((tmp_path / "runs" / r / "model.npz").exists() for r in runs)
    out = capsys.readouterr().out
    assert "wrote runs/20260101-000000-3/" in out


def test_out_that_cannot_be_a_directory_is_named(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out, needle in ((tmp_path / "file", "is not a directory"), ("/dev/null/x", "cannot")):
        assert main(["train", "--out", str(out), *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("verigrad train: error: --out: ") and needle in err, err
