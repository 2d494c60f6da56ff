"""Optimizer and schedule state in torch's layout: training continues in torch exactly."""

import numpy as np
import pytest

from verigrad import Tensor
from verigrad._checks import ParameterError
from verigrad.data import DataLoader, load_digits
from verigrad.export.torch_state import (
    optimizer_state_to_torch,
    torch_optimizer_class,
    torch_training_state,
)
from verigrad.nn import CrossEntropyLoss, Linear
from verigrad.nn.models import build_model
from verigrad.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from verigrad.optim.lr_scheduler import CosineAnnealingLR, StepLR

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def epochs_of_batches():
    """Four epochs of shuffled mini-batches of 96 digits: the same batches on both sides."""
    X, y = load_digits()
    loader = DataLoader(X[:96].astype(np.float32), y[:96], batch_size=16, rng=11)
    return [list(loader) for _ in range(4)]


def _train_verigrad(model, optimizer, scheduler, epochs):
    loss_fn = CrossEntropyLoss()
    for batches in epochs:
        for xb, yb in batches:
            optimizer.zero_grad()
            model.zero_grad()
            loss_fn(model(Tensor(xb)), yb).backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()


def _train_torch(model, optimizer, scheduler, epochs):
    for batches in epochs:
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                model(torch.from_numpy(xb)), torch.from_numpy(yb).long()
            )
            loss.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()


CONTINUATIONS = [
    ("adam", "max", lambda p: Adam(p, lr=3e-3), lambda o: StepLR(o, step_size=1, gamma=0.5)),
    ("momentum", "mixed", lambda p: SGD(p, lr=0.03, momentum=0.9), lambda o: None),
    (
        "adamw",
        "avg",
        lambda p: AdamW(p, lr=3e-3, weight_decay=0.05, amsgrad=True),
        lambda o: CosineAnnealingLR(o, T_max=4),
    ),
    (
        "nesterov",
        "lp",
        lambda p: SGD(p, lr=0.03, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda o: None,
    ),
    ("rmsprop", "max", lambda p: RMSprop(p, lr=1e-3, momentum=0.5, centered=True), lambda o: None),
    ("adagrad", "max", lambda p: Adagrad(p, lr=0.03, lr_decay=0.01), lambda o: None),
]


@pytest.mark.parametrize(
    "kind, pool, make_optimizer, make_scheduler", CONTINUATIONS, ids=[c[0] for c in CONTINUATIONS]
)
def test_two_epochs_in_verigrad_then_two_in_torch_equal_four_in_verigrad(
    kind, pool, make_optimizer, make_scheduler, epochs_of_batches
):
    reference = build_model("cnn", (1, 8, 8), 10, pool, rng=0)
    optimizer = make_optimizer(reference.parameters())
    _train_verigrad(reference, optimizer, make_scheduler(optimizer), epochs_of_batches)

    model = build_model("cnn", (1, 8, 8), 10, pool, rng=0)
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    _train_verigrad(model, optimizer, scheduler, epochs_of_batches[:2])
    halfway = {k: v.copy() for k, v in model.state_dict().items()}

    torch_model = model.to_torch().train()
    torch_optimizer, torch_scheduler = torch_training_state(
        kind,
        torch_model.parameters(),
        optimizer.state_dict(),
        None if scheduler is None else scheduler.state_dict(),
    )
    assert type(torch_optimizer) is torch_optimizer_class(kind)
    if scheduler is not None:
        assert torch_scheduler.last_epoch == scheduler.last_epoch == 2
        assert torch_scheduler.get_last_lr() == pytest.approx(scheduler.get_last_lr(), rel=1e-15)
    assert torch_optimizer.param_groups[0]["lr"] == pytest.approx(
        optimizer.param_groups[0]["lr"], rel=1e-15
    )
    _train_torch(torch_model, torch_optimizer, torch_scheduler, epochs_of_batches[2:])

    continued = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    for key, want in reference.state_dict().items():
        assert continued[key].dtype == want.dtype == np.float32
        np.testing.assert_allclose(continued[key], want, rtol=0, atol=1e-5, err_msg=key)
        assert np.abs(want - halfway[key]).max() > 1e-4  # the last two epochs did move it


def test_state_layout_matches_torchs_own():
    layer = Linear(3, 2, rng=0)
    optimizer = Adam(layer.parameters(), lr=0.01, amsgrad=True)
    for _ in range(3):
        layer.zero_grad()
        (layer(Tensor(np.ones((4, 3), np.float32))) ** 2).sum().backward()
        optimizer.step()
    torch_layer = layer.to_torch()
    torch_optimizer = torch.optim.Adam(torch_layer.parameters(), lr=0.01, amsgrad=True)
    converted = optimizer_state_to_torch(optimizer.state_dict(), torch_optimizer)
    torch_optimizer.load_state_dict(converted)
    saved = torch_optimizer.state_dict()
    assert sorted(saved["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert saved["state"][0]["step"].item() == 3.0
    assert saved["state"][0]["step"].dtype == torch.float32
    np.testing.assert_array_equal(
        saved["state"][1]["exp_avg"].numpy(), optimizer.state[layer.bias]["exp_avg"]
    )
    assert saved["param_groups"][0]["foreach"] is None  # torch's own flags are kept


def test_refusals_name_the_parameter():
    layer = Linear(3, 2, rng=0)
    sgd_state = SGD(layer.parameters(), lr=0.1, momentum=0.9).state_dict()
    torch_params = list(layer.to_torch().parameters())
    with pytest.raises(ParameterError) as info:
        torch_training_state("adam", torch_params, sgd_state)  # SGD's state as Adam's
    assert info.value.param == "state_dict" and "Adam" in str(info.value)
    with pytest.raises(ParameterError) as info:
        torch_training_state("lbfgs", torch_params, sgd_state)
    assert info.value.param == "optimizer"
    with pytest.raises(ParameterError) as info:
        torch_training_state("momentum", torch_params[:1], sgd_state)
    assert info.value.param == "state_dict"
