"""Core entries refuse what would divide by zero or allocate without bound, naming the argument."""

import numpy as np
import pytest

import verigrad as vg
from verigrad.gradcheck import numerical_gradient
from verigrad.metrics import MAX_CONFUSION_CLASSES, confusion_matrix


@pytest.mark.parametrize("eps", [0.0, -1e-6, np.inf, np.nan])
def test_gradcheck_refuses_a_step_that_is_not_positive_and_finite(eps):
    x = vg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="^eps: ") as info:
        vg.gradcheck(lambda t: (t * t).sum(), x, eps=eps)
    assert info.value.param == "eps"
    with pytest.raises(ValueError, match="^eps: "):
        numerical_gradient(lambda t: (t * t).sum(), x, eps=eps)


@pytest.mark.parametrize("name", ["atol", "rtol"])
@pytest.mark.parametrize("value", [-1.0, np.inf])
def test_gradcheck_refuses_bad_tolerances(name, value):
    x = vg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=f"^{name}: "):
        vg.gradcheck(lambda t: (t * t).sum(), x, **{name: value})


@pytest.mark.parametrize("which", ["labels", "predictions"])
def test_confusion_matrix_refuses_a_huge_inferred_class_count(which):
    big = [0, 10**9]
    args = {"labels": [0, 1], "predictions": [0, 1]} | {which: big}
    with pytest.raises(ValueError, match=f"^{which}: contains class 1000000000") as info:
        confusion_matrix(args["labels"], args["predictions"])
    assert info.value.param == which


def test_confusion_matrix_refuses_a_huge_n_classes_and_keeps_the_largest_allowed():
    with pytest.raises(ValueError, match="^n_classes: must be in"):
        confusion_matrix([0], [0], n_classes=MAX_CONFUSION_CLASSES + 1)
    m = confusion_matrix([0, 3], [3, 3], n_classes=4)
    assert m[0, 3] == 1 and m[3, 3] == 1 and m.sum() == 2
