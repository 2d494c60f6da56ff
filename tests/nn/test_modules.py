"""Modules: registration, state dicts, initialisation as torch's, softmax regression."""

import numpy as np
import pytest

from tests.helpers import assert_close, to_torch, torch
from verigrad import Tensor, gradcheck, nn
from verigrad import functional as F
from verigrad.nn.softmax_regression import softmax_regression_objective


def test_parameters_are_registered_in_order_with_dotted_names():
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=0))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.n_parameters() == 4 * 3 + 3 + 3 * 2 + 2
    assert all(p.requires_grad for p in model.parameters())


def test_state_dict_round_trip_and_npz(tmp_path):
    a = nn.MLP(6, 3, hidden=(5,), rng=1)
    b = nn.MLP(6, 3, hidden=(5,), rng=2)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    assert not np.allclose(a(Tensor(x)).data, b(Tensor(x)).data)
    nn.save(a, tmp_path / "m.npz")
    nn.load(b, tmp_path / "m.npz")
    np.testing.assert_array_equal(a(Tensor(x)).data, b(Tensor(x)).data)
    sd = a.state_dict()
    sd["1.weight"][...] = 0  # a snapshot: editing it leaves the model alone
    assert np.any(a.state_dict()["1.weight"] != 0)
    with pytest.raises(ValueError, match=r"1.weight has shape"):
        b.load_state_dict({**a.state_dict(), "1.weight": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="^state_dict: missing keys") as info:
        b.load_state_dict({})
    assert info.value.param == "state_dict"


def test_load_state_dict_refuses_nan_complex_and_non_arrays_changing_nothing():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU(), nn.Linear(2, 2, rng=1))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    good = model.state_dict()
    for key, value, kind, message in [
        ("2.weight", np.full((2, 2), np.nan), ValueError, "2.weight holds NaN or infinite"),
        ("2.weight", np.ones((2, 2), complex), TypeError, "2.weight has dtype complex128"),
        ("2.bias", np.array([object(), object()]), TypeError, "2.bias has dtype object"),
    ]:
        with pytest.raises(kind, match=f"^state_dict: {message}"):
            model.load_state_dict({**good, "0.weight": np.zeros((2, 3)), key: value})
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, before[k])  # 0.weight was not copied either
    with pytest.raises(TypeError, match="^state_dict: expected a dict"):
        model.load_state_dict([1, 2])


def test_linear_initialisation_bounds_match_torch():
    layer = nn.Linear(400, 300, rng=0)
    bound = 1 / np.sqrt(400)
    assert layer.weight.dtype == np.float32
    assert (
        np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.99 * bound
    )
    ref = torch().nn.Linear(400, 300)
    assert np.isclose(
        np.abs(ref.weight.detach().numpy()).max(), np.abs(layer.weight.data).max(), rtol=0.01
    )
    assert np.isclose(layer.weight.data.std(), ref.weight.detach().numpy().std(), rtol=0.02)


def test_mlp_forward_backward_matches_torch():
    model = nn.MLP(5, 3, hidden=(4,), rng=3).double()
    tmodel = (
        torch()
        .nn.Sequential(torch().nn.Linear(5, 4), torch().nn.ReLU(), torch().nn.Linear(4, 3))
        .double()
    )
    with torch().no_grad():
        for (_, p), q in zip(model.named_parameters(), tmodel.parameters(), strict=True):
            q.copy_(to_torch(p.data))
    x = np.random.default_rng(4).standard_normal((6, 5))
    y = np.array([0, 1, 2, 2, 1, 0])
    loss = nn.CrossEntropyLoss()(model(Tensor(x)), y)
    loss.backward()
    tloss = torch().nn.functional.cross_entropy(tmodel(to_torch(x)), to_torch(y))
    tloss.backward()
    assert_close(loss.data, tloss)
    for p, q in zip(model.parameters(), tmodel.parameters(), strict=True):
        assert_close(p.grad, q.grad)


def test_train_eval_modes_and_dropout():
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Dropout(0.5, rng=0))
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    model.eval()
    assert not model[1].training
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
    model.train()
    assert model[1].training


def test_softmax_regression_gradient_is_yhat_minus_y_times_x():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    model = nn.SoftmaxRegression(4, 3, dtype=np.float64)
    model.weight.data = rng.standard_normal((3, 4))
    loss = F.cross_entropy(model(X), y, reduction="sum")
    loss.backward()
    yhat = F.softmax(X @ model.weight.data.T + model.bias.data).data
    np.testing.assert_allclose(model.weight.grad, (yhat - np.eye(3)[y]).T @ X, rtol=1e-12)
    np.testing.assert_allclose(model.bias.grad, (yhat - np.eye(3)[y]).sum(0), rtol=1e-12)
    params = np.concatenate([model.weight.data.ravel(), model.bias.data])
    f, g = softmax_regression_objective(params, X, np.eye(3)[y].T.copy(), l2=0.0)
    assert np.isclose(f, loss.item(), rtol=1e-13)
    np.testing.assert_allclose(g[:12], model.weight.grad.ravel(), rtol=1e-12)
    assert gradcheck(
        lambda W: F.cross_entropy(F.linear(Tensor(X), W), y), Tensor(model.weight.data)
    )


def test_softmax_regression_fit_equals_sklearn():
    from sklearn.linear_model import LogisticRegression

    from verigrad.data import load_digits

    X, y = load_digits(np.float64)
    X = X.reshape(len(X), -1)[:600]
    y = y[:600]
    model = nn.SoftmaxRegression(64, 10, dtype=np.float64).fit(X, y, l2=1.0, tol=1e-8)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(model.weight.data, ref.coef_, atol=2e-4)
    assert np.mean(model.predict(X) == ref.predict(X)) == 1.0
    with pytest.raises(ValueError, match="y: labels must be in"):
        model.fit(X, np.full(600, 12))
    with pytest.raises(ValueError, match="X: contains"):
        model.fit(np.full((600, 64), np.nan), y)
