"""``import verigrad as vg`` loads the core only; ``vg.nn``, ``vg.prox``, ... load on access."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

LAZY = ("nn", "functional", "optim", "metrics", "manifold", "prox", "data")


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_verigrad_does_not_import_the_submodules():
    loaded = _run(
        "import json, sys, verigrad\n"
        f"print(json.dumps([m for m in {LAZY!r} if 'verigrad.' + m in sys.modules]"
        " + [m for m in ('sklearn', 'scipy.sparse', 'verigrad.training') if m in sys.modules]))"
    )
    assert loaded == []


def test_each_submodule_loads_on_first_access_and_only_it():
    for name in LAZY:
        result = _run(
            "import json, sys, verigrad as vg\n"
            f"module = vg.{name}\n"
            "print(json.dumps({'name': module.__name__, 'cached': "
            f"{name!r} in vars(vg), 'prox': 'verigrad.prox' in sys.modules}}))"
        )
        assert result["name"] == f"verigrad.{name}" and result["cached"]
        assert result["prox"] == (name == "prox")


def test_attributes_and_unknown_names():
    import verigrad as vg

    assert vg.nn.Linear is __import__("verigrad.nn", fromlist=["Linear"]).Linear
    assert vg.prox.SoftmaxClassifier.__module__ == "verigrad.prox.classifier"
    assert set(LAZY) <= set(dir(vg))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vg.nope  # noqa: B018


def test_load_model_resolves_lazily_to_training():
    import verigrad as vg

    training = pytest.importorskip("verigrad.training")
    assert vg.load_model is training.load_model
