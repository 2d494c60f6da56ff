"""How the sparsity penalties are applied: per-layer l1 scale, the linear ramp, fine-tuning's
schedule, and runs saved before these options existed."""

import json

import numpy as np
import pytest

from verigrad.nn.models import build_model
from verigrad.optim import SGD
from verigrad.optim.registry import STEP_SIZE, make_scheduler
from verigrad.training import TrainConfig, Trainer
from verigrad.training.checkpoint import save_checkpoint
from verigrad.training.loop import finetune_step_size, l1_layer_scales, penalty_factor


def test_fan_in_scales_of_the_digits_cnn():
    model = build_model("cnn", (1, 8, 8), 10, rng=0)
    scales = l1_layer_scales(model, "fan-in")
    assert [w.shape for w, _ in scales] == [(16, 1, 3, 3), (32, 16, 3, 3), (10, 128)]
    roots = np.array([3.0, 12.0, np.sqrt(128.0)])
    mean = (144 * roots[0] + 4608 * roots[1] + 1280 * roots[2]) / 6032
    np.testing.assert_allclose([f for _, f in scales], roots / mean)
    np.testing.assert_allclose([f for _, f in scales], [0.258, 1.031, 0.972], atol=1e-3)
    assert [f for _, f in l1_layer_scales(model, "none")] == [1.0, 1.0, 1.0]


def test_penalty_factor_ramps_linearly_to_the_full_penalty():
    assert [penalty_factor(e, 4) for e in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert penalty_factor(9, 4) == 1.0  # past the sparse epochs: the full penalty
    assert [penalty_factor(e, 4, "none") for e in range(4)] == [1.0] * 4


def test_finetuning_decays_at_half_its_epochs():
    assert [finetune_step_size(n) for n in (1, 2, 3, 10, 11)] == [1, 1, 1, 5, 5]
    model = build_model("softmax", (1, 8, 8), 10, rng=0)
    opt = SGD(model.parameters(), lr=1.0)
    assert make_scheduler("step", opt, 20).step_size == STEP_SIZE
    assert make_scheduler("step", opt, 10, step_size=5).step_size == 5


@pytest.mark.parametrize(
    "field, value", [("l1_scale", "fanin"), ("penalty_ramp", "cubic"), ("l1_scale", None)]
)
def test_unknown_choices_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match="must be one of") as info:
        TrainConfig(**{field: value})
    assert info.value.param == field


def _l1_strengths(trainer):
    proxes = [g.get("prox") for g in trainer.optimizer.param_groups]
    return [p.lam for p in proxes if hasattr(p, "lam")]


def test_each_epoch_thresholds_with_the_ramped_per_layer_lambda(tmp_path):
    config = TrainConfig(epochs=2, l1=1e-4, finetune_epochs=1, seed=0)
    trainer = Trainer(config, tmp_path / "run")
    seen = []
    original = trainer.train_epoch

    def spy(progress=True):
        result = original(progress)
        seen.append(_l1_strengths(trainer))
        return result

    trainer.train_epoch = spy
    trainer.run(progress=False, log=None)
    fan_in = np.array([f for _, f in l1_layer_scales(trainer.model)])
    np.testing.assert_allclose(seen[0], 1e-4 * 0.5 * fan_in)
    np.testing.assert_allclose(seen[1], 1e-4 * fan_in)
    assert seen[2] == []  # fine-tuning: the support projections, no l1
    assert trainer.scheduler.step_size == 1


def test_unscaled_unramped_l1_is_one_lambda_from_the_first_step(tmp_path):
    config = TrainConfig(epochs=1, l1=1e-3, l1_scale="none", penalty_ramp="none", seed=0)
    trainer = Trainer(config, tmp_path / "run")
    trainer.train_epoch(progress=False)
    assert _l1_strengths(trainer) == [1e-3, 1e-3, 1e-3]


def test_group_l1_is_ramped_too(tmp_path, monkeypatch):
    from verigrad.training import loop

    strengths = []
    monkeypatch.setattr(loop, "apply_group_prox", lambda m, o, lam: strengths.append(lam))
    trainer = Trainer(TrainConfig(epochs=4, group_l1=2e-3, seed=0), tmp_path / "run")
    trainer.train_epoch(progress=False)
    trainer.epoch = 2
    trainer.train_epoch(progress=False)
    assert set(strengths[:2]) == {5e-4} and set(strengths[-2:]) == {1.5e-3}


def test_a_run_saved_before_the_options_resumes_as_it_was_trained(tmp_path):
    config = TrainConfig(epochs=2, l1=1e-3, l1_scale="none", penalty_ramp="none", seed=0)
    trainer = Trainer(config, tmp_path / "run")
    trainer.train_epoch(progress=False)
    trainer.epoch = 1
    trainer.history.append({"epoch": 1})
    meta = trainer.meta()
    for field in ("l1_scale", "penalty_ramp"):
        del meta["config"][field]  # as written before these fields existed
    json.dumps(meta)  # still a plain record
    save_checkpoint(
        trainer.checkpoint_path, trainer.model, trainer.optimizer, trainer.scheduler, meta
    )
    resumed = Trainer.resume(tmp_path / "run")
    assert (resumed.config.l1_scale, resumed.config.penalty_ramp) == ("none", "none")
    assert TrainConfig().l1_scale == "fan-in" and TrainConfig().penalty_ramp == "linear"


def test_the_cli_options_reach_the_config_and_a_resume_keeps_them(tmp_path, capsys):
    from verigrad.cli import main

    out = tmp_path / "run"
    argv = ["train", "--model", "mlp", "--epochs", "1", "--l1", "1e-4", "--out", str(out)]
    options = ["--l1-scale", "none", "--penalty-ramp", "none", "--no-tsne", "--quiet"]
    assert main([*argv, *options, "--no-progress"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["l1_scale"], config["penalty_ramp"]) == ("none", "none")
    capsys.readouterr()
    resume = ["train", "--resume", str(out), "--epochs", "2", "--penalty-ramp", "linear"]
    assert main([*resume, "--no-progress", "--quiet"]) == 2
    assert "--penalty-ramp none" in capsys.readouterr().err
