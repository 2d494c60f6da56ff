"""Units of a network, the group prox over them, and compaction with identical predictions."""

import numpy as np
import pytest

from verigrad import Tensor
from verigrad.data import load_dataset
from verigrad.nn.models import build_model
from verigrad.optim import SGD, Adam
from verigrad.prox.shrinkage import weighted_group_shrink
from verigrad.training import TrainConfig, Trainer
from verigrad.training.compact import (
    apply_group_prox,
    collapsed_layers,
    compact_checkpoint,
    compact_model,
    find_units,
    layer_sparsity,
    load_compacted_model,
    removable_fraction,
    unit_zero_masks,
    weight_sparsity,
)
from verigrad.training.evaluation import forward_in_batches


@pytest.fixture(scope="module")
def digits_test():
    _, _, X, y, _ = load_dataset("digits", 0, 0.2)
    return X, y


def test_units_of_each_model():
    cnn = build_model("cnn", (1, 8, 8), 10, rng=0)
    assert [(u.index, u.next_index, u.block, u.relu) for u in find_units(cnn)] == [
        (0, 3, 1, True),
        (3, 7, 4, True),
    ]
    mlp = build_model("mlp", (1, 8, 8), 10, rng=0)
    assert [(u.index, u.next_index, u.block) for u in find_units(mlp)] == [(1, 3, 1), (3, 5, 1)]
    lenet = build_model("cnn", (1, 28, 28), 10, rng=0)
    assert [u.block for u in find_units(lenet)] == [1, 25, 1, 1]
    assert find_units(build_model("softmax", (1, 8, 8), 10)) == []


def _kill_units(model, rng):
    """Make about a third of each prunable layer's units removable, in three different ways:
    weights and bias zero; weights zero and bias negative (before a ReLU); outgoing zero."""
    expected = {}
    for unit in find_units(model):
        layer, reader = model[unit.index], model[unit.next_index]
        n = layer.weight.shape[0]
        chosen = rng.choice(n, size=max(3, n // 3), replace=False)
        zero, negative, unread = np.array_split(chosen, 3)
        layer.weight.data[zero] = 0
        layer.bias.data[zero] = 0
        layer.weight.data[negative] = 0
        layer.bias.data[negative] = -np.abs(layer.bias.data[negative]) - 0.1
        cols = (unread[:, None] * unit.block + np.arange(unit.block)).ravel()
        reader.weight.data[:, cols] = 0
        expected[str(unit.index)] = n - chosen.size
    return expected


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_compact_model_keeps_predictions_identical(name, digits_test):
    X, _ = digits_test
    model = build_model(name, (1, 8, 8), 10, rng=3).eval()
    expected_widths = _kill_units(model, np.random.default_rng(0))
    small, widths = compact_model(model)
    assert widths == expected_widths
    assert small.n_parameters() < model.n_parameters()
    before, after = forward_in_batches(model, X), forward_in_batches(small, X)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert np.array_equal(after.argmax(axis=1), before.argmax(axis=1))
    assert removable_fraction(small) == 0.0
    # the original is untouched
    assert all(
        model[u.index].weight.shape[0] == {"cnn": [16, 32], "mlp": [256, 256]}[name][k]
        for k, u in enumerate(find_units(model))
    )


def test_nothing_to_remove_gives_the_same_model(digits_test):
    X, _ = digits_test
    model = build_model("cnn", (1, 8, 8), 10, rng=1).eval()
    small, widths = compact_model(model)
    assert widths == {} and small.n_parameters() == model.n_parameters()
    np.testing.assert_array_equal(forward_in_batches(small, X), forward_in_batches(model, X))


def test_unit_masks_and_sparsity_records():
    model = build_model("cnn", (1, 8, 8), 10, rng=0)
    conv2 = model[3]
    conv2.weight.data[[1, 5]] = 0
    conv2.bias.data[1] = 0.0
    conv2.bias.data[5] = 0.3  # positive bias before the ReLU: outputs 0.3 everywhere, kept
    masks = unit_zero_masks(model, find_units(model)[1])
    assert np.flatnonzero(masks["removable"]).tolist() == [1]
    records = layer_sparsity(model)
    assert [r["layer"] for r in records] == ["0", "3", "7"]
    assert records[1]["units"] == 32 and records[1]["zero_units"] == pytest.approx(1 / 32)
    assert records[1]["zero_weights"] == pytest.approx(2 / 32)
    assert records[2]["units"] is None
    assert weight_sparsity(model) == pytest.approx(2 * 144 / (144 + 4608 + 1280))
    assert removable_fraction(model) == pytest.approx(1 / 48)
    assert collapsed_layers(model) == []
    model[7].weight.data[...] = 0
    assert collapsed_layers(model) == ["7"]


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_group_prox_is_the_weighted_block_shrink_of_weights_and_bias(opt):
    model = build_model("cnn", (1, 8, 8), 10, rng=0)
    params = list(model.parameters())
    optimizer = Adam(params, lr=0.01) if opt == "adam" else SGD(params, lr=0.1)
    rng = np.random.default_rng(0)
    for p in params:
        p.grad = rng.normal(size=p.shape).astype(p.dtype)
    optimizer.step()
    conv2 = model[3]
    V = np.concatenate([conv2.weight.data.reshape(32, -1), conv2.bias.data[:, None]], axis=1)
    V = V.astype(np.float64)
    t_w, t_b = optimizer.prox_step(conv2.weight), optimizer.prox_step(conv2.bias)
    if opt == "sgd":
        assert t_w == t_b == 0.1
    T = np.concatenate(
        [
            np.broadcast_to(t_w, conv2.weight.shape).reshape(32, -1),
            np.broadcast_to(t_b, (32,))[:, None],
        ],
        axis=1,
    )
    # lambda between the groups' norms in the metric ||v_j / t_j||: some groups go to zero
    lam = float(np.median(np.linalg.norm(V / T, axis=1))) / np.sqrt(145)
    expected = weighted_group_shrink(V, T, lam * np.sqrt(145))
    last = model[7].weight.data.copy()
    apply_group_prox(model, optimizer, lam)
    np.testing.assert_allclose(conv2.weight.data.reshape(32, -1), expected[:, :-1], rtol=1e-6)
    np.testing.assert_allclose(conv2.bias.data, expected[:, -1], rtol=1e-6)
    zero = np.all(expected == 0, axis=1)
    assert 0 < zero.sum() < 32, zero.sum()
    np.testing.assert_array_equal(model[7].weight.data, last)  # the classes are not grouped
    if opt == "sgd":  # a scalar metric: the ordinary block soft threshold
        norms = np.linalg.norm(V, axis=1)
        shrink = np.maximum(0, 1 - 0.1 * lam * np.sqrt(145) / norms)
        np.testing.assert_allclose(expected, V * shrink[:, None], rtol=1e-12)


def test_trainer_with_group_l1_reports_and_compacts(tmp_path, digits_test):
    X, _ = digits_test
    config = TrainConfig(epochs=2, group_l1=3e-3, seed=0)
    trainer = Trainer(config, tmp_path / "run")
    final = trainer.run(progress=False, log=None)
    for record in trainer.history:
        assert 0 <= record["sparsity"] <= 1 and 0 <= record["zero_filters"] <= 1
    assert final["zero_filters"] == pytest.approx(removable_fraction(trainer.model))
    assert final["sparsity"] == pytest.approx(weight_sparsity(trainer.model))
    assert final["zero_filters"] > 0
    assert [r["layer"] for r in final["layers"]] == ["0", "3", "7"]
    out = tmp_path / "small.npz"
    result = compact_checkpoint(trainer.checkpoint_path, out)
    small = load_compacted_model(out)
    assert small.n_parameters() == result["compact"].n_parameters() < final["n_parameters"]
    before = forward_in_batches(trainer.model, X)
    after = forward_in_batches(small, X)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert np.array_equal(after.argmax(axis=1), before.argmax(axis=1))
    # compacting a compacted checkpoint removes nothing more and still loads
    again = compact_checkpoint(out, tmp_path / "again.npz")
    assert again["compact"].n_parameters() == small.n_parameters()
    y = small(Tensor(X[:3])).data
    assert y.shape == (3, 10)


def test_finetuning_holds_the_zeros_and_resumes_bit_for_bit(tmp_path):
    from verigrad.training import load_checkpoint

    # one lambda for every weight: the fan-in scale would take a 1-epoch run to zero
    config = TrainConfig(epochs=1, l1=3e-3, l1_scale="none", finetune_epochs=2, seed=1)
    straight = Trainer(config, tmp_path / "a")
    straight.run(progress=False, log=None)
    assert [h.get("phase") for h in straight.history] == [None, "finetune", "finetune"]
    assert straight.finetuning and straight.epoch == config.total_epochs == 3
    zeros = straight.history[0]["sparsity"]
    assert zeros > 0.3 and straight.history[-1]["sparsity"] == zeros  # the zeros are held
    # interrupted after the first fine-tuning epoch, then resumed: the same weights
    first = Trainer(config, tmp_path / "b")
    first.config = config
    while first.epoch < 2:
        if first.epoch >= config.epochs and not first.finetuning:
            first.start_finetuning()
        first.train_epoch(progress=False)
        if first.scheduler is not None:
            first.scheduler.step()
        first.epoch += 1
        first.history.append({"epoch": first.epoch})
        first.save_checkpoint()
    resumed = Trainer.resume(tmp_path / "b")
    assert resumed.finetuning
    resumed.run(progress=False, log=None)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    _, meta = load_checkpoint(resumed.checkpoint_path)
    assert meta["epoch"] == 3
    with pytest.raises(ValueError, match="fine-tunes after 1 epochs") as info:
        Trainer.resume(tmp_path / "b", epochs=5)
    assert info.value.param == "epochs"


def test_finetune_epochs_needs_a_penalty():
    with pytest.raises(ValueError) as info:
        TrainConfig(finetune_epochs=3)
    assert info.value.param == "finetune_epochs"
    assert TrainConfig(group_l1=1e-3, finetune_epochs=3).total_epochs == 23
