"""--to torch: a torch.export program that equals verigrad and loads without verigrad."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from verigrad import Tensor
from verigrad._checks import ParameterError
from verigrad.export.torch_program import export_torch
from verigrad.nn.models import build_model

from .cases import sample_input

torch = pytest.importorskip("torch")


def test_exported_program_equals_verigrad_and_runs_without_verigrad(tmp_path):
    model = build_model("cnn", (1, 8, 8), 10, "mixed", rng=2)
    model[2].alpha_logit.data[...] = 1.3
    path = tmp_path / "model.pt2"
    export_torch(model, path, (1, 8, 8))
    assert model.training  # the model itself is left as it was
    x = sample_input((5, 1, 8, 8), np.float32)
    np.save(tmp_path / "x.npy", x)
    want = model.eval()(Tensor(x)).data
    program = torch.export.load(path)
    with torch.no_grad():
        got = program.module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

    # a fresh interpreter where `import verigrad` fails, run away from the checkout
    script = textwrap.dedent(
        """
        import sys
        sys.modules["verigrad"] = None  # blocks verigrad and every submodule
        import numpy as np, torch
        program = torch.export.load("model.pt2")
        with torch.no_grad():
            for n in (5, 1):
                y = program.module()(torch.from_numpy(np.load("x.npy")[:n])).numpy()
        np.save("y.npy", y)
        print(sorted(m for m in sys.modules if m.startswith("verigrad")))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['verigrad']"  # only the blocking entry
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want[:1], rtol=0, atol=1e-5)


def test_a_shape_the_model_refuses_is_named(tmp_path):
    with pytest.raises(ParameterError) as info:
        export_torch(build_model("mlp", (1, 8, 8), 10, rng=0), tmp_path / "m.pt2", (1, 9, 9))
    assert info.value.param == "input_shape"
    assert not (tmp_path / "m.pt2").exists()
