"""examples/continue_in_torch.py: a verigrad checkpoint continues under DDP (gloo, 2 processes)."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from verigrad import Tensor
from verigrad.data import load_dataset
from verigrad.training import load_checkpoint, load_model
from verigrad.training.checkpoint import optimizer_state

torch = pytest.importorskip("torch")

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "continue_in_torch.py"


def _example():
    spec = importlib.util.spec_from_file_location("continue_in_torch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_conversion_picks_up_where_verigrad_stopped(checkpoint):
    model, optimizer, scheduler, meta = _example().convert(checkpoint)
    assert model.training
    _, _, X_test, _, _ = load_dataset("digits", 0, 0.2)
    X_test = X_test[:50].astype(np.float32)
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(X_test)).numpy()
    np.testing.assert_allclose(got, load_model(checkpoint)(Tensor(X_test)).data, rtol=0, atol=1e-5)
    arrays, _ = load_checkpoint(checkpoint)
    saved = optimizer_state(arrays)
    assert type(optimizer) is torch.optim.Adam
    assert optimizer.param_groups[0]["lr"] == saved["param_groups"][0]["lr"]
    state = optimizer.state_dict()["state"]
    assert len(state) == len(saved["state"]) == len(list(model.parameters()))
    assert state[0]["step"].item() == saved["state"][0]["step"] == 45  # 1438 images / 32
    np.testing.assert_array_equal(state[0]["exp_avg"].numpy(), saved["state"][0]["exp_avg"])
    assert isinstance(scheduler, torch.optim.lr_scheduler.StepLR)
    assert scheduler.last_epoch == meta["epoch"] == 1


@pytest.mark.slow  # two torch processes: about a minute on 2 shared cores
def test_one_epoch_under_ddp_with_gloo_in_two_processes(checkpoint, tmp_path):
    out = tmp_path / "torch_run.pt"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), checkpoint, "--epochs", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    # 1438 images, 719 per process in batches of 32 / 2 = 16: 45 steps, as verigrad's epoch
    assert "epoch 2 (torch, 2 processes, 45 steps each)" in done.stdout
    saved = torch.load(out, weights_only=True)
    assert saved["epoch"] == 2
    before = load_model(checkpoint).state_dict()
    assert list(saved["model"]) == list(before)
    moved = max(np.abs(saved["model"][k].numpy() - v).max() for k, v in before.items())
    assert moved > 1e-4
    assert saved["optimizer"]["state"][0]["step"].item() == 45 + 45
    assert saved["scheduler"]["last_epoch"] == 2
    accuracy = float(done.stdout.split("test acc ")[1].split()[0])
    assert accuracy > 0.8
