"""TrainConfig: one name for the learning rate, validation naming the field, frozen."""

import dataclasses

import pytest

from verigrad._checks import ParameterError, ParameterTypeError
from verigrad.optim.registry import DEFAULT_LR, OPTIMIZERS
from verigrad.training import TrainConfig


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_lr_not_given_is_the_optimizers_default(optimizer):
    config = TrainConfig(optimizer=optimizer)
    assert config.lr == DEFAULT_LR[optimizer]
    assert config.as_dict()["lr"] == DEFAULT_LR[optimizer]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_softmax_has_its_own_default_rate_for_adam(optimizer):
    from verigrad.optim.registry import MODEL_DEFAULT_LR, default_lr

    config = TrainConfig(model="softmax", optimizer=optimizer)
    expected = 0.03 if optimizer in ("adam", "adamw") else DEFAULT_LR[optimizer]
    assert config.lr == expected == default_lr(optimizer, "softmax")
    assert MODEL_DEFAULT_LR["softmax"] == {"adam": 0.03, "adamw": 0.03}
    assert TrainConfig(model="softmax", lr=0.001).lr == 0.001


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_group_l1_must_be_finite_and_non_negative(value):
    from verigrad._checks import ParameterError

    with pytest.raises(ParameterError) as info:
        TrainConfig(group_l1=value)
    assert info.value.param == "group_l1" and "--" not in str(info.value)


def test_lr_given_is_kept_and_there_is_no_second_name():
    config = TrainConfig(optimizer="sgd", lr=0.25)
    assert config.lr == 0.25 and config.as_dict()["lr"] == 0.25
    assert not hasattr(config, "learning_rate")
    assert "learning_rate" not in config.as_dict()


def test_as_dict_rebuilds_the_same_config():
    config = TrainConfig(model="mlp", optimizer="momentum", epochs=3, l1=1e-4, seed=7)
    assert TrainConfig(**config.as_dict()) == config


def test_frozen_and_replace_validates_again():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    assert dataclasses.replace(config, epochs=3).epochs == 3
    with pytest.raises(ParameterError) as info:
        dataclasses.replace(config, epochs=0)
    assert info.value.param == "epochs"


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("model", "resnet", ParameterError),
        ("pool", "median", ParameterError),
        ("optimizer", "lbfgs", ParameterError),
        ("schedule", "cyclic", ParameterError),
        ("lr", 0.0, ParameterError),
        ("lr", float("inf"), ParameterError),
        ("lr", float("nan"), ParameterError),
        ("weight_decay", -1.0, ParameterError),
        ("weight_decay", float("inf"), ParameterError),
        ("epochs", 0, ParameterError),
        ("epochs", 2.5, ParameterTypeError),
        ("batch_size", 0, ParameterError),
        ("l1", -0.1, ParameterError),
        ("l1", float("inf"), ParameterError),
        ("seed", -1, ParameterError),
        ("test_size", 1.0, ParameterError),
        ("data", "", ParameterError),
    ],
)
def test_bad_fields_are_named_as_data_never_as_options(field, value, error):
    with pytest.raises(error) as info:
        TrainConfig(**{field: value})
    assert info.value.param == field
    assert "--" not in str(info.value)
