"""Error messages show numpy values as a user wrote them (``0``, ``1.5``), never their reprs
(``np.int64(0)``, ``np.float64(1.5)``): the sweep over the estimator layer's messages
(prox, manifold, metrics) that interpolate a user's value."""

import numpy as np
import pytest

from verigrad.manifold import TSNE
from verigrad.metrics import TopKError
from verigrad.prox import SoftmaxClassifier, operators

X = np.random.default_rng(0).random((40, 2))


def _tsne(**params):
    return lambda: TSNE(perplexity=5, **params).fit_transform(X)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: SoftmaxClassifier().fit(X, np.zeros(40, dtype=np.int64)),
            "y: needs samples of at least 2 classes in the data, but the data contains only "
            "one class: 0",
        ),
        (
            lambda: SoftmaxClassifier().fit(X, np.array(["a"] * 40)),
            "y: needs samples of at least 2 classes in the data, but the data contains only "
            "one class: 'a'",
        ),
        (
            lambda: operators.group_l1(1.0, [np.int64(3)]),
            "groups: group 0 must be a list of indices, got the integer 3",
        ),
        (
            lambda: operators.box(np.float64(2), np.float64(1)),
            "lo, hi: need lo <= hi everywhere, got lo=2 > hi=1",
        ),
        (
            lambda: operators.box(np.array([0.0, 2.5]), np.array([1.0, 1.0])),
            "lo, hi: need lo <= hi everywhere, got lo[1]=2.5 > hi[1]=1",
        ),
        (
            _tsne(random_state=np.float64(1.5)),
            "random_state: expected None, an int seed, a numpy.random.Generator or a "
            "numpy.random.RandomState, got 1.5",
        ),
        (_tsne(init=np.float64(1.5)), "init: expected 'pca', 'random' or an array, got 1.5"),
        (_tsne(verbose=np.float64(1.0)), "verbose: expected a bool, got 1.0"),
        (
            lambda: TopKError(ks=np.float64(2.0)),
            "ks: expected an int or a sequence of ints, got 2.0",
        ),
    ],
)
def test_messages_show_plain_values(call, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value) == message
    assert "np." not in str(info.value)
