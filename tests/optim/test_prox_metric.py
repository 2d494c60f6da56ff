"""The prox in the optimizer's own metric (ProxGen): Adam, AdamW, RMSprop and Adagrad pass the
per-element step lr / (sqrt(v_hat) + eps) to the prox; SGD and momentum pass lr."""

from __future__ import annotations

import numpy as np
import pytest

from verigrad import prox
from verigrad.optim import SGD, Adagrad, Adam, AdamW, ProximalSGD, RMSprop
from verigrad.prox import soft_threshold
from verigrad.tensor import Tensor

LAM = 0.05


def _pair(seed=0, shape=(5, 4)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    return Tensor(x.copy(), requires_grad=True), Tensor(x.copy(), requires_grad=True), rng


def test_one_adam_step_with_l1_is_soft_threshold_in_adams_metric():
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    p, _, rng = _pair(1)
    x0 = p.data.copy()
    g = rng.normal(size=x0.shape) * rng.uniform(0.01, 3, size=x0.shape)
    opt = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, prox=prox.l1(LAM))
    p.grad = g
    opt.step()
    m_hat = (1 - beta1) * g / (1 - beta1)
    v_hat = (1 - beta2) * g * g / (1 - beta2)
    denom = np.sqrt(v_hat) + eps
    expected = soft_threshold(x0 - lr * m_hat / denom, lr * LAM / denom)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15)
    # the thresholds differ per weight: a plain lr * LAM threshold would give another point
    assert not np.allclose(p.data, soft_threshold(x0 - lr * m_hat / denom, lr * LAM))


def test_several_adam_steps_follow_the_formula_with_bias_correction():
    lr, beta1, beta2, eps = 0.003, 0.8, 0.99, 1e-8
    p, _, rng = _pair(2)
    x = p.data.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    opt = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, prox=prox.l1(LAM))
    for step in range(1, 6):
        g = rng.normal(size=x.shape)
        p.grad = g.copy()
        opt.step()
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
        denom = np.sqrt(v_hat) + eps
        x = soft_threshold(x - lr * m_hat / denom, lr * LAM / denom)
        np.testing.assert_allclose(p.data, x, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    ("cls", "kwargs", "metric"),
    [
        (
            Adagrad,
            dict(lr=0.1, lr_decay=0.5, eps=1e-10),
            lambda g, k, lr: lr / (1 + (k - 1) * 0.5) / (np.sqrt(g) + 1e-10),
        ),
        (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-8), lambda g, k, lr: lr / (np.sqrt(g) + 1e-8)),
        (
            RMSprop,
            dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5),
            lambda g, k, lr: lr / (np.sqrt(g) + 1e-8),
        ),
    ],
)
def test_adagrad_and_rmsprop_threshold_by_their_own_denominator(cls, kwargs, metric):
    """Gradient step of the plain optimizer, then soft thresholding at lam * t_i."""
    p, plain, rng = _pair(3)
    opt = cls([p], prox=prox.l1(LAM), **kwargs)
    ref = cls([plain], **kwargs)
    alpha = kwargs.get("alpha")
    accumulated = np.zeros(p.shape)
    for k in range(1, 5):
        g = rng.normal(size=p.shape)
        accumulated = (
            accumulated + g * g if alpha is None else alpha * accumulated + (1 - alpha) * g * g
        )
        plain.data[...] = p.data
        p.grad, plain.grad = g.copy(), g.copy()
        opt.step()
        ref.step()
        t = metric(accumulated, k, kwargs["lr"])
        np.testing.assert_allclose(
            p.data, soft_threshold(plain.data, LAM * t), rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (SGD, dict(lr=0.1)),
        (SGD, dict(lr=0.1, momentum=0.9)),
        (ProximalSGD, dict(lr=0.1, momentum=0.5)),
    ],
)
def test_sgd_and_momentum_keep_t_equal_lr(cls, kwargs):
    p, plain, rng = _pair(4)
    opt = cls([p], prox=prox.l1(LAM), **kwargs)
    ref = cls([plain], **kwargs)
    for _ in range(4):
        g = rng.normal(size=p.shape)
        plain.data[...] = p.data
        p.grad, plain.grad = g.copy(), g.copy()
        opt.step()
        ref.step()
        np.testing.assert_array_equal(p.data, soft_threshold(plain.data, LAM * kwargs["lr"]))


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop, Adagrad])
def test_group_prox_in_the_metric_equals_the_weighted_block_shrink(cls):
    """A parameter-row group prox receives the per-element step: the result is the exact
    weighted group prox of the plain step, rows with ||v/t|| <= lam exactly zero."""
    p, plain, rng = _pair(5, shape=(6, 3))
    op = prox.group_l1(0.5, [[i] for i in range(6)])
    opt = cls([p], lr=0.05, prox=op)
    ref = cls([plain], lr=0.05)
    g = rng.normal(size=p.shape)
    p.grad, plain.grad = g.copy(), g.copy()
    opt.step()
    ref.step()
    t = opt._prox_step(p, opt.state[p], opt.param_groups[0])
    assert isinstance(t, np.ndarray) and t.shape == p.shape and np.all(t > 0)
    np.testing.assert_allclose(p.data, op(plain.data, t), rtol=1e-12)


@pytest.mark.parametrize("cls", [Adam, RMSprop, Adagrad])
def test_operators_without_a_weighted_form_refuse_the_adaptive_step(cls):
    p = Tensor(np.ones((3, 3)), requires_grad=True)
    opt = cls([p], lr=0.01, prox=prox.nuclear(0.1))
    p.grad = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"^t: nuclear has no closed-form prox in a diagonal"):
        opt.step()
    # SGD passes a scalar step, which every operator takes
    q = Tensor(np.ones((3, 3)), requires_grad=True)
    sgd = SGD([q], lr=0.01, prox=prox.nuclear(0.1))
    q.grad = np.ones((3, 3))
    sgd.step()


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop, Adagrad, SGD])
def test_without_prox_the_trajectory_is_unchanged(cls):
    """A group without prox never computes the metric: the same bits as before (the update
    functions are untouched), checked against the pure update run by hand for Adam."""
    p, plain, rng = _pair(6)
    opt = cls([p], lr=0.01)
    ref = cls([plain], lr=0.01, prox=None)
    for _ in range(3):
        g = rng.normal(size=p.shape)
        p.grad, plain.grad = g.copy(), g.copy()
        opt.step()
        ref.step()
    np.testing.assert_array_equal(p.data, plain.data)
