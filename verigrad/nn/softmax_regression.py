"""Softmax regression: the model of the assignment's section 2, as a layer and as an estimator.

Model: ``yhat = softmax(W x + b)`` with ``W (k, d)``, ``b (k,)``. With the cross-entropy
``l = -sum_i y_i log yhat_i`` and ``a = W x + b``, the chain rule gives
``dl/da = yhat - y`` (softmax and log cancel), hence

    dl/dW = (yhat - y) x^T        dl/db = yhat - y

which :func:`softmax_regression_objective` uses directly (no graph), batched over the rows of
``X``: ``dL/dW = (Yhat - Y)^T X``.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import ParameterError, as_float_array, check_finite, check_int, check_number
from .._lbfgs import lbfgs
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["SoftmaxRegression", "softmax_regression_objective"]


def softmax_regression_objective(
    params: np.ndarray, X: np.ndarray, Y_t: np.ndarray, l2: float, scale: float = 1.0
):
    """``(f, grad)`` of ``scale * (sum_n CE(W x_n + b, y_n) + (l2 / 2) ||W||_F^2)``.

    ``params`` is ``[W.ravel(), b]`` of a ``(k, d)`` W (the bias is not penalised); ``X (n, d)``;
    ``Y_t (k, n)`` the one-hot (or probability) targets transposed, so the logits ``Z = W X^T + b``
    are ``(k, n)`` and every per-sample reduction (max, log-sum-exp) runs down contiguous columns.
    With ``l2 = 1/C`` and ``scale = 1/n`` this is scikit-learn's multinomial
    ``LogisticRegression`` objective. The gradient is the closed form ``(Yhat - Y)^T X + l2 W``.
    """
    k, n = Y_t.shape
    d = X.shape[1]
    W = params[: k * d].reshape(k, d)
    b = params[k * d :]
    Z = W @ X.T
    Z += b[:, None]
    m = Z.max(axis=0)
    Z -= m
    # sum_n y_n^T z_n with z shifted back: vdot(Y, Z) + sum_n m_n sum_c y_nc
    f = -(np.vdot(Y_t, Z) + Y_t.sum(axis=0) @ m)
    E = np.exp(Z, out=Z)
    total = E.sum(axis=0)
    f += np.sum(m) + np.sum(np.log(total)) + 0.5 * l2 * np.vdot(W, W)
    E /= total  # Yhat
    E -= Y_t  # Yhat - Y
    grad_W = E @ X
    grad_W += l2 * W
    grad = np.concatenate([grad_W.ravel(), E.sum(axis=1)])
    if scale != 1.0:
        grad *= scale
    return scale * f, grad


class SoftmaxRegression(Module):
    """Multinomial logistic regression: ``yhat = softmax(W x + b)``.

    ``W (n_classes, n_features)`` and ``b (n_classes,)`` start at zero (the problem is convex,
    so the start does not matter). ``forward`` returns the logits ``W x + b`` (inputs of any
    shape ``(N, ...)`` are flattened), which is what :class:`CrossEntropyLoss` takes;
    ``predict_proba`` returns ``softmax(W x + b)``. Train it like any module with an optimizer,
    or to convergence with :meth:`fit` (full-batch L-BFGS, :func:`verigrad._lbfgs.lbfgs`, on the regularised objective).
    """

    def __init__(self, n_features: int, n_classes: int, dtype=np.float32):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.n_classes = check_int(n_classes, "n_classes", 2)
        self.weight = Parameter(np.zeros((n_classes, n_features), dtype=dtype))
        self.bias = Parameter(np.zeros(n_classes, dtype=dtype))

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        return F.linear(x, self.weight, self.bias)

    def predict_proba(self, x) -> Tensor:
        return F.softmax(self.forward(x), axis=-1)

    def predict(self, x) -> np.ndarray:
        return self.forward(x).data.argmax(axis=1)

    def fit(self, X, y, l2: float = 1.0, tol: float = 1e-6, max_iter: int = 1000):
        """Minimise ``sum_n CE + (l2/2)||W||^2`` to convergence by L-BFGS; returns self.

        ``l2 = 1/C`` gives scikit-learn's ``LogisticRegression(C=C)`` solution. As scikit-learn
        does, the solver works on the objective divided by ``n`` (mean cross-entropy), so ``tol``
        bounds the largest entry of the mean gradient, like its ``tol``. Sets ``n_iter_`` and
        ``converged_``; the gradient is the closed form of the module docstring.
        """
        X = as_float_array(X, "X")
        X = check_finite(X.reshape(len(X), -1).astype(np.float64), "X")
        y = np.asarray(y)
        if y.dtype.kind not in "iu" or y.shape != (len(X),):
            raise ParameterError(
                "y", f"expected {len(X)} integer labels, got shape {y.shape} dtype {y.dtype}"
            )
        if X.shape[1] != self.n_features:
            raise ParameterError("X", f"has {X.shape[1]} features, the model {self.n_features}")
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ParameterError(
                "y", f"labels must be in [0, {self.n_classes}), got {y.min()}..{y.max()}"
            )
        l2 = check_number(l2, "l2", 0.0)
        tol = check_number(tol, "tol", 0.0, low_open=True)
        max_iter = check_int(max_iter, "max_iter", 1)
        Y_t = np.zeros((self.n_classes, len(y)))
        Y_t[y, np.arange(len(y))] = 1.0
        x0 = np.concatenate([self.weight.data.ravel(), self.bias.data]).astype(np.float64)
        result = lbfgs(
            softmax_regression_objective,
            x0,
            args=(X, Y_t, l2, 1.0 / len(X)),
            gtol=tol,
            max_iter=max_iter,
        )
        k, d = self.n_classes, self.n_features
        self.weight.data = result.x[: k * d].reshape(k, d).astype(self.weight.dtype)
        self.bias.data = result.x[k * d :].astype(self.bias.dtype)
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

    def extra_repr(self):
        return f"n_features={self.n_features}, n_classes={self.n_classes}"
