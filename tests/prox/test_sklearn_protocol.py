"""The prox estimators as scikit-learn estimators: check_estimator, pipelines, grid search,
clone; and the same estimators without scikit-learn (simulated by blocking its import)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn  # noqa: F401  (a required test extra: its absence fails, never skips)
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from verigrad import prox

ESTIMATORS = [
    prox.Lasso(alpha=0.1),
    prox.ElasticNet(alpha=0.1),
    prox.GroupLasso(alpha=0.1),
    prox.SoftmaxClassifier(),
    prox.SoftmaxClassifier(C=0.5, l1_ratio=0.5),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_check_estimator_passes_every_check(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 40


def regression(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 6)) * [1, 10, 100, 1, 1, 1]
    y = X[:, :3] @ [1.0, 0.1, 0.01] + 0.1 * rng.normal(size=80)
    return X, y


@pytest.mark.parametrize("make", [prox.Lasso, prox.ElasticNet, prox.GroupLasso])
def test_pipeline_grid_search_and_cross_validation_of_regressors(make):
    X, y = regression()
    pipeline = make_pipeline(StandardScaler(), make())
    search = GridSearchCV(pipeline, {f"{make.__name__.lower()}__alpha": [1e-3, 0.1, 10.0]}, cv=3)
    search.fit(X, y)
    assert search.best_params_[f"{make.__name__.lower()}__alpha"] < 10.0
    assert search.best_score_ > 0.9
    scores = cross_val_score(make_pipeline(StandardScaler(), make(alpha=0.01)), X, y, cv=4)
    assert scores.shape == (4,) and scores.min() > 0.9


def test_pipeline_grid_search_and_cross_validation_of_the_classifier():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), prox.SoftmaxClassifier()),
        {"softmaxclassifier__C": [0.01, 1.0], "softmaxclassifier__l1_ratio": [0.0, 1.0]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_["softmaxclassifier__C"] == 1.0 and search.best_score_ > 0.9
    scores = cross_val_score(prox.SoftmaxClassifier(C=1.0), X, y, cv=5)
    assert scores.mean() > 0.9


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_clone_round_trips(estimator):
    copy = clone(estimator)
    assert type(copy) is type(estimator) and copy is not estimator
    assert copy.get_params() == estimator.get_params()
    assert repr(copy) == repr(estimator)
    params = copy.get_params()
    copy.set_params(**params)
    assert copy.get_params() == params
    X, y = regression()
    if isinstance(estimator, prox.SoftmaxClassifier):
        y = (y > np.median(y)).astype(int)
    fitted = clone(copy).fit(X, y)
    assert not hasattr(clone(fitted), "coef_")


def test_lasso_is_an_elastic_net_and_its_params_are_sklearns():
    import sklearn.linear_model as sk

    assert isinstance(prox.Lasso(), prox.ElasticNet)
    ours = set(prox.Lasso().get_params())
    assert {"alpha", "fit_intercept", "tol", "max_iter", "positive", "warm_start"} == ours
    assert ours <= set(sk.Lasso().get_params())
    assert prox.Lasso(alpha=0.1).l1_ratio == 1.0 and repr(prox.Lasso(alpha=0.1)) == (
        "Lasso(alpha=0.1)"
    )


_WITHOUT_SKLEARN = r"""
import importlib.abc, json, sys, warnings

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r} (blocked)")
        return None

sys.meta_path.insert(0, Block())
import numpy as np
import verigrad as vg
from verigrad import _sklearn
from verigrad.manifold import TSNE
from verigrad.prox import ElasticNet, GroupLasso, Lasso, SoftmaxClassifier

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5))
y = X @ [1.0, -2.0, 0.0, 0.0, 0.5] + 0.1 * rng.normal(size=60)
out = {"has_sklearn": _sklearn.HAS_SKLEARN}
for make in (Lasso, ElasticNet, GroupLasso):
    model = make(alpha=0.01).fit(X, y)
    out[make.__name__] = model.score(X, y)
out["params"] = Lasso(alpha=0.5).get_params()
out["repr"] = repr(Lasso(alpha=0.5))
out["set"] = Lasso().set_params(alpha=2.0).alpha
try:
    Lasso().set_params(nope=1)
except ValueError as exc:
    out["bad_param"] = str(exc)
try:
    Lasso().predict(X)
except RuntimeError as exc:
    out["unfitted"] = type(exc).__name__
labels = np.where(y > 0, "pos", "neg")
out["softmax"] = SoftmaxClassifier(l1_ratio=0.5).fit(X, labels).score(X, labels)
tsne = TSNE(perplexity=5, max_iter=260, random_state=0).fit(X)
out["tsne"] = list(tsne.transform(X[:3]).shape) + [tsne.n_features_in_]
out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "sklearn")
print(json.dumps(out))
"""


def test_estimators_import_and_fit_without_sklearn():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SKLEARN],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["has_sklearn"] is False and out["modules"] == []
    assert min(out["Lasso"], out["ElasticNet"], out["GroupLasso"]) > 0.99
    assert out["params"] == {
        "alpha": 0.5,
        "fit_intercept": True,
        "max_iter": 10000,
        "positive": False,
        "tol": 1e-8,
        "warm_start": False,
    }
    assert out["repr"] == "Lasso(alpha=0.5)" and out["set"] == 2.0
    assert "Invalid parameter 'nope'" in out["bad_param"]
    assert out["unfitted"] == "NotFittedError"
    assert out["softmax"] > 0.9
    assert out["tsne"] == [3, 2, 5]


def test_with_sklearn_the_bases_are_sklearns():
    from sklearn.base import BaseEstimator, is_classifier, is_regressor

    from verigrad import _sklearn

    assert _sklearn.HAS_SKLEARN and _sklearn.BaseEstimator is BaseEstimator
    assert is_regressor(prox.Lasso()) and is_classifier(prox.SoftmaxClassifier())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tags = prox.Lasso().__sklearn_tags__()
    assert tags.input_tags.sparse and tags.target_tags.required
