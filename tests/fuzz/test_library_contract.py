"""The library's contract on bad input, table-driven over the public entries.

Each case is one call with one bad argument. The contract: a ``ValueError`` or ``TypeError``
whose ``param`` (verigrad's :class:`~verigrad._checks.ParameterError` carries it as data) or
message names the argument, raised quickly, never another exception type, a hang or a silent
NaN. A second part feeds finite random input to the differentiable ops (hypothesis) and checks
that no NaN or infinity comes out, forward or backward.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import verigrad as vg
from tests.fuzz.campaign import call_library, examples
from verigrad import functional as F
from verigrad import metrics, nn, optim, prox
from verigrad.data import DataLoader, train_test_split
from verigrad.manifold import TSNE

NAN, INF = float("nan"), float("inf")
X4 = np.random.default_rng(0).random((2, 3, 6, 6))
W = np.random.default_rng(1).random((4, 3, 3, 3))


def _param():
    return vg.Tensor(np.ones((2, 2)), requires_grad=True)


CASES = [
    # functional
    ("conv2d stride 0", lambda: F.conv2d(X4, W, stride=0), "stride"),
    ("conv2d padding -1", lambda: F.conv2d(X4, W, padding=-1), "padding"),
    ("conv2d padding 'bogus'", lambda: F.conv2d(X4, W, padding="bogus"), "padding"),
    ("conv2d groups 2 of 3 channels", lambda: F.conv2d(X4, W, groups=2), "groups"),
    ("conv2d 3-D weight", lambda: F.conv2d(X4, W[0]), "weight"),
    ("conv2d string x", lambda: F.conv2d("x", W), "x"),
    ("max_pool2d kernel 0", lambda: F.max_pool2d(X4, 0), "kernel_size"),
    ("max_pool2d padding too big", lambda: F.max_pool2d(X4, 2, padding=2), "padding"),
    ("avg_pool2d stride -1", lambda: F.avg_pool2d(X4, 2, stride=-1), "stride"),
    ("lp_pool2d norm nan", lambda: F.lp_pool2d(X4, NAN, 2), "norm_type"),
    ("lp_pool2d norm 0", lambda: F.lp_pool2d(X4, 0, 2), "norm_type"),
    ("adaptive_avg 0", lambda: F.adaptive_avg_pool2d(X4, 0), "output_size"),
    ("mixed alpha 2", lambda: F.mixed_pool2d(X4, 2, alpha=2.0), "alpha"),
    ("dropout p 1.5", lambda: F.dropout(X4, p=1.5), "p"),
    ("dropout p nan", lambda: F.dropout(X4, p=NAN), "p"),
    ("softmax nan", lambda: F.softmax(np.array([[NAN, 1.0]])), "x"),
    (
        "cross_entropy target out of range",
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 5])),
        "target",
    ),
    (
        "cross_entropy reduction",
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"),
        "reduction",
    ),
    (
        "cross_entropy label_smoothing 2",
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=2.0),
        "label_smoothing",
    ),
    ("linear shapes", lambda: F.linear(np.ones((2, 3)), np.ones((4, 5))), "weight"),
    (
        "cross_entropy_from_probs rows",
        lambda: F.cross_entropy_from_probs(np.array([[0.5, 0.6]]), np.array([0])),
        "probs",
    ),
    # nn
    ("Linear in_features 0", lambda: nn.Linear(0, 3), "in_features"),
    ("Linear out_features -1", lambda: nn.Linear(3, -1), "out_features"),
    ("Conv2d kernel 0", lambda: nn.Conv2d(1, 1, 0), "kernel_size"),
    ("Conv2d groups", lambda: nn.Conv2d(3, 4, 3, groups=2), "groups"),
    ("Dropout p -0.1", lambda: nn.Dropout(-0.1), "p"),
    ("MaxPool2d return_indices", lambda: nn.MaxPool2d(2, 2, 0, 1, True), "return_indices"),
    # optim
    ("SGD lr -1", lambda: optim.SGD([_param()], lr=-1.0), "lr"),
    ("SGD lr nan", lambda: optim.SGD([_param()], lr=NAN), "lr"),
    ("SGD momentum 2 nesterov", lambda: optim.SGD([_param()], lr=0.1, nesterov=True), "nesterov"),
    ("Adam betas", lambda: optim.Adam([_param()], betas=(1.5, 0.9)), "betas"),
    ("Adam eps -1", lambda: optim.Adam([_param()], eps=-1.0), "eps"),
    ("RMSprop alpha -1", lambda: optim.RMSprop([_param()], alpha=-1.0), "alpha"),
    ("Adagrad lr_decay -1", lambda: optim.Adagrad([_param()], lr_decay=-1.0), "lr_decay"),
    ("optimizer no params", lambda: optim.SGD([], lr=0.1), "params"),
    ("optimizer prox not callable", lambda: optim.SGD([_param()], lr=0.1, prox=3), "prox"),
    (
        "StepLR step_size 0",
        lambda: optim.lr_scheduler.StepLR(optim.SGD([_param()], lr=0.1), 0),
        "step_size",
    ),
    (
        "CosineAnnealingLR T_max 0",
        lambda: optim.lr_scheduler.CosineAnnealingLR(optim.SGD([_param()], lr=0.1), 0),
        "T_max",
    ),
    # metrics
    ("top_k k 0", lambda: metrics.top_k_error(np.zeros((3, 4)), np.array([0, 1, 2]), k=0), "k"),
    (
        "top_k nan scores",
        lambda: metrics.top_k_error(np.array([[NAN, 1.0]]), np.array([0])),
        "scores",
    ),
    (
        "top_k labels float",
        lambda: metrics.top_k_error(np.zeros((2, 3)), np.array([0.5, 1.0])),
        "labels",
    ),
    ("top_k labels length", lambda: metrics.top_k_error(np.zeros((2, 3)), np.array([0])), "labels"),
    ("confusion huge label", lambda: metrics.confusion_matrix([0, 10**9], [0, 1]), "labels"),
    ("confusion negative", lambda: metrics.confusion_matrix([0, -1], [0, 1]), "labels"),
    ("TopKError ks 0", lambda: metrics.TopKError(ks=(0,)), "ks"),
    # prox
    ("l1 lam -1", lambda: prox.l1(-1.0), "lam"),
    ("l1 lam nan", lambda: prox.l1(NAN), "lam"),
    ("l1 step 0", lambda: prox.l1(1.0)(np.ones(3), 0.0), "t"),
    ("box lo > hi", lambda: prox.box(1.0, 0.0), "lo"),
    ("l1_ball radius -1", lambda: prox.l1_ball(-1.0), "radius"),
    ("group_l1 groups", lambda: prox.group_l1(1.0, [[0, 1], []]), "groups"),
    ("Lasso alpha -1", lambda: prox.Lasso(alpha=-1.0).fit(np.ones((5, 2)), np.ones(5)), "alpha"),
    ("Lasso X nan", lambda: prox.Lasso().fit(np.full((5, 2), NAN), np.ones(5)), "X"),
    ("Lasso y length", lambda: prox.Lasso().fit(np.ones((5, 2)), np.ones(4)), "y"),
    (
        "proximal_gradient x0 nan",
        lambda: prox.proximal_gradient(
            lambda x: float(x @ x), lambda x: 2 * x, prox.l1(0.1), np.array([NAN, 1.0])
        ),
        "x0",
    ),
    (
        "Lasso alpha inf (hung)",
        lambda: prox.Lasso(alpha=INF).fit(np.ones((5, 2)), np.arange(5.0)),
        "alpha",
    ),
    (
        "ElasticNet alpha inf",
        lambda: prox.ElasticNet(alpha=INF).fit(np.ones((5, 2)), np.arange(5.0)),
        "alpha",
    ),
    (
        "GroupLasso alpha inf",
        lambda: prox.GroupLasso(alpha=INF, groups=[[0], [1]]).fit(np.ones((5, 2)), np.arange(5.0)),
        "alpha",
    ),
    (
        "Lasso X * 1e200 (hung)",
        lambda: prox.Lasso(alpha=0.1).fit(
            np.random.default_rng(0).random((20, 3)) * 1e200, np.arange(20.0)
        ),
        "X",
    ),
    # manifold
    (
        "TSNE perplexity 0",
        lambda: TSNE(perplexity=0).fit(np.random.default_rng(0).random((20, 3))),
        "perplexity",
    ),
    (
        "TSNE method",
        lambda: TSNE(method="bh").fit(np.random.default_rng(0).random((20, 3))),
        "method",
    ),
    ("TSNE X nan", lambda: TSNE().fit(np.full((20, 3), NAN)), "X"),
    (
        "TSNE n_components 0",
        lambda: TSNE(n_components=0).fit(np.random.default_rng(0).random((20, 3))),
        "n_components",
    ),
    # data
    (
        "DataLoader batch 0",
        lambda: DataLoader(np.ones((4, 2)), np.ones(4), batch_size=0),
        "batch_size",
    ),
    ("DataLoader lengths", lambda: DataLoader(np.ones((4, 2)), np.ones(3), batch_size=2), "y"),
    (
        "train_test_split size 1.5",
        lambda: train_test_split(np.ones((4, 2)), np.ones(4), test_size=1.5),
        "test_size",
    ),
    # core
    ("gradcheck eps 0", lambda: vg.gradcheck(lambda t: (t * t).sum(), _param(), eps=0.0), "eps"),
    ("Tensor reshape", lambda: vg.Tensor(np.ones(6)).reshape(4, 2), "shape"),
    ("Tensor clip no bounds", lambda: vg.Tensor(np.ones(2)).clip(), "clip"),
    # the examples (#22), one case each
    ("soft_threshold nan", lambda: prox.soft_threshold(np.ones(3), NAN), "threshold"),
    ("SGD step NaN gradient", lambda: _step_with_nan_gradient(optim.SGD), "grad"),
    ("Adam step NaN gradient", lambda: _step_with_nan_gradient(optim.Adam), "grad"),
    (
        "load_state_dict NaN",
        lambda: _linear().load_state_dict({"weight": np.full((2, 3), NAN), "bias": np.zeros(2)}),
        "state_dict",
    ),
    (
        "load_state_dict complex",
        lambda: _linear().load_state_dict(
            {"weight": np.ones((2, 3), complex), "bias": np.zeros(2)}
        ),
        "state_dict",
    ),
    ("load_state_dict missing keys", lambda: _linear().load_state_dict({}), "state_dict"),
    ("Adam.load_state_dict of SGD", lambda: _adam_loads_sgd_state(), "state_dict"),
    (
        "confusion_matrix 10**9",
        lambda: metrics.confusion_matrix([0, 10**9], [0, 1]),
        "labels",
    ),
    ("Lasso complex X", lambda: prox.Lasso().fit(np.ones((5, 2)) + 1j, np.arange(5.0)), "X"),
    ("TSNE complex X", lambda: TSNE().fit(np.ones((20, 2)) + 1j), "X"),
    pytest.param(
        "conv2d padding 10**6",
        lambda: F.conv2d(X4, W, padding=10**6),
        "padding",
    ),
    pytest.param(
        "conv_transpose2d stride 10**6",
        lambda: F.conv_transpose2d(X4, np.ones((X4.shape[1], 2, 3, 3)), stride=10**6),
        "stride",
    ),
    pytest.param(
        "proximal_gradient NaN objective at the start",
        lambda: prox.proximal_gradient(lambda x: NAN, lambda x: 2 * x, prox.l1(0.1), np.ones(2)),
        "f",
    ),
]


def _linear():
    return nn.Linear(3, 2)


def _step_with_nan_gradient(optimizer_class):
    p = _param()
    p.grad = np.array([[NAN, 1.0], [1.0, 1.0]])
    optimizer = optimizer_class([p], lr=0.1)
    try:
        optimizer.step()
    finally:
        assert np.all(p.data == 1.0), "a weight moved"


def _adam_loads_sgd_state():
    p = _param()
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones((2, 2))
    sgd.step()
    optim.Adam([p], lr=0.1).load_state_dict(sgd.state_dict())


def _params(cases):
    for case in cases:
        if hasattr(case, "marks"):  # a pytest.param (itself a tuple)
            yield pytest.param(*case.values[1:], id=case.values[0], marks=case.marks)
        else:
            yield pytest.param(*case[1:], id=case[0])


@pytest.mark.parametrize("call, name", list(_params(CASES)))
def test_bad_call_raises_value_or_type_error_naming_the_argument(call, name):
    outcome, exc = call_library(call, name, "library calls")
    assert outcome == "refused", f"{outcome}: {type(exc).__name__}: {exc}"


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)


@examples(ci=40, campaign=300)
@given(
    values=st.lists(finite, min_size=2 * 3 * 5 * 5, max_size=2 * 3 * 5 * 5),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
)
def test_finite_input_gives_finite_output_and_gradients(values, kernel, stride):
    x = np.array(values).reshape(2, 3, 5, 5)
    ops = [
        lambda t: F.conv2d(t, W[:, :, :kernel, :kernel], stride=stride, padding=kernel // 2),
        lambda t: F.max_pool2d(t, kernel, stride=stride),
        lambda t: F.avg_pool2d(t, kernel, stride=stride),
        lambda t: F.lp_pool2d(
            t.relu() if isinstance(t, vg.Tensor) else t, 3.0, kernel, stride=stride
        ),
        # a large norm on values up to 1e3: |x|^200 overflowed to inf before the kernel
        # scaled each window by its maximum
        lambda t: F.lp_pool2d(t, 200.0, kernel, stride=stride),
        lambda t: F.mixed_pool2d(t, kernel, stride=stride, alpha=0.3),
        lambda t: F.log_softmax(t.reshape(2, -1)),
        lambda t: F.cross_entropy(t.reshape(2, -1), np.array([0, 7])),
        lambda t: F.sigmoid(t) * F.tanh(t) + F.relu(t),
    ]
    for op in ops:

        def forward_backward(op=op):
            t = vg.Tensor(x.copy(), requires_grad=True)
            out = op(t)
            out.sum().backward()
            return [out.data, t.grad]

        outcome, result = call_library(forward_backward, None, "library calls", valid_ok=True)
        assert outcome == "accepted", f"{outcome}: {result}"
