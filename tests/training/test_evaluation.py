"""forward_in_batches and evaluate_model: batch size never changes a value; modes are restored."""

import numpy as np
import pytest

from verigrad import Tensor
from verigrad import functional as F
from verigrad.nn.models import build_model
from verigrad.training import evaluate_model, forward_in_batches
from verigrad.training.report import penultimate_features


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((37, 1, 8, 8)).astype(np.float32)
    y = np.arange(37) % 10
    return X, y


@pytest.mark.parametrize("model_name", ["softmax", "mlp", "cnn"])
@pytest.mark.parametrize("batch_size", [1, 5, 37, 512])
def test_batches_give_the_one_shot_outputs_and_restore_the_mode(data, model_name, batch_size):
    X, _ = data
    model = build_model(model_name, X.shape[1:], 10, rng=0)
    model.eval()
    whole = model(Tensor(X)).data.reshape(len(X), -1).astype(np.float64)
    model.train()
    out = forward_in_batches(model, X, batch_size)
    assert out.shape == (37, 10) and out.dtype == np.float64
    np.testing.assert_allclose(out, whole, rtol=1e-6, atol=1e-6)
    assert model.training
    model.eval()
    forward_in_batches(model, X, batch_size)
    assert not model.training


def test_part_runs_a_slice_in_the_models_eval_mode(data):
    X, _ = data
    model = build_model("mlp", X.shape[1:], 10, rng=0)
    body = model[:-1]
    model.eval()
    expected = body(Tensor(X)).data.reshape(len(X), -1)
    model.train()
    features = forward_in_batches(model, X, 8, part=body)
    np.testing.assert_allclose(features, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(penultimate_features(model, X, batch_size=8), features)
    assert model.training


def test_penultimate_features_of_a_one_layer_model_are_the_inputs(data):
    X, _ = data
    model = build_model("softmax", X.shape[1:], 10, rng=0)
    np.testing.assert_array_equal(penultimate_features(model, X), X.reshape(37, -1))


def test_evaluate_model_values(data):
    X, y = data
    model = build_model("mlp", X.shape[1:], 10, rng=1)
    result = evaluate_model(model, X, y, batch_size=7)
    scores = forward_in_batches(model, X)
    np.testing.assert_allclose(result["scores"], scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(result["predictions"], result["scores"].argmax(axis=1))
    assert result["top1_error"] == pytest.approx(np.mean(result["predictions"] != y))
    assert result["accuracy"] == pytest.approx(1 - result["top1_error"])
    top3 = np.argsort(-result["scores"], axis=1)[:, :3]
    assert result["top3_error"] == pytest.approx(
        np.mean([t not in row for t, row in zip(y, top3, strict=True)])
    )
    assert result["loss"] == pytest.approx(float(F.cross_entropy(result["scores"], y).item()))


def test_top3_error_is_zero_with_at_most_three_classes():
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 1, 8, 8)).astype(np.float32), np.arange(12) % 3
    result = evaluate_model(build_model("softmax", X.shape[1:], 3, rng=0), X, y)
    assert result["top3_error"] == 0.0
