"""A small trained checkpoint shared by the command and example tests."""

import pytest


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """``model.npz`` of 1 epoch of the mixed-pooling cnn with Adam and the step schedule."""
    from verigrad.training import TrainConfig, Trainer

    run_dir = tmp_path_factory.mktemp("run")
    config = TrainConfig(data="digits", model="cnn", pool="mixed", epochs=1, seed=0)
    Trainer(config, run_dir).run(progress=False, log=None)
    return str(run_dir / "model.npz")
