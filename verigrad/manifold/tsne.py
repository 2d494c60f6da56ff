"""t-SNE: the optimiser and the ``TSNE`` estimator (a thin shell over the pure functions).

The optimisation is the one scikit-learn and openTSNE use (van der Maaten & Hinton 2008;
Belkina et al. 2019 for the learning rate): gradient descent with momentum and
delta-bar-delta gains,

    gains  <- gains + 0.2   where sign(grad) != sign(update)      (direction changed)
              gains * 0.8   elsewhere,              then clipped to >= min_gain (0.01)
    update <- momentum * update - learning_rate * gains * grad
    Y      <- Y + update,   then centred (mean zero, as openTSNE)

run in two phases: early exaggeration (``P`` multiplied by ``early_exaggeration`` in the
attractive term, momentum 0.5) for the first 250 iterations, then the rest (momentum 0.8).
Each phase starts afresh with ``gains = 1`` and ``update = 0``, as scikit-learn's
``_gradient_descent`` does (it is called once per phase). Carrying the exaggerated phase's
large gains and velocity over (openTSNE does, but then clips every step to norm 5) makes the
embedding jump when the exaggeration ends: on 60 gaussian points the exact method ended ~75
units wide with KL 0.47 instead of ~5 wide with scikit-learn's KL 0.28.
``learning_rate="auto"`` is scikit-learn's ``max(N / early_exaggeration / 4, 50)`` (our
gradients include the factor 4, so this equals openTSNE's ``N / early_exaggeration`` on its
gradient scale). A non-finite embedding stops the run with ``FloatingPointError``.
"""

from __future__ import annotations

import numbers
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import _sklearn
from .._checks import (
    ParameterError,
    ParameterTypeError,
    as_float_array,
    check_choice,
    check_finite,
    check_int,
    check_number,
    check_rng,
)
from .affinities import check_perplexity, joint_probabilities
from .gradients import kl_gradient_exact, kl_gradient_fft, neighbor_pairs
from .transform import embed_new_points

__all__ = ["TSNE", "GradientDescent", "initial_embedding", "SKLEARN_EXPECTED_FAILED_CHECKS"]

#: bounds on TSNE's sizes that no real run approaches (a typo of 10**23 iterations must not
#: hang): iterations, and embedding dimensions (the exact gradient is O(N^2 * n_components))
MAX_ITER = 10**7
MAX_COMPONENTS = 1000

#: the scikit-learn estimator checks TSNE cannot pass, with the reason (for ``check_estimator``'s
#: ``expected_failed_checks``)
_NOT_FIT_TRANSFORM = (
    "t-SNE's transform places points into the fitted map by a separate optimisation "
    "(openTSNE's), so transform(X) of the training data is near fit_transform(X) but "
    "not equal to it"
)
SKLEARN_EXPECTED_FAILED_CHECKS = {
    "check_transformer_general": _NOT_FIT_TRANSFORM,
    "check_transformer_data_not_an_array": _NOT_FIT_TRANSFORM + " (the same check on lists)",
}

EXPLORATION_ITER = 250
#: threads per gradient: one for the attractive term, the rest for the grid FFTs
FFT_WORKERS = max(1, min(2, os.cpu_count() or 1))


class GradientDescent:
    """Momentum gradient descent with delta-bar-delta gains; state (``gains``, ``update``)
    persists across calls, so an interrupted run resumes where it stopped. :meth:`reset`
    forgets it (``TSNE.fit`` does so at the start of each phase).

    ``objective(Y, exaggeration, compute_kl) -> (kl, grad)``.
    """

    def __init__(self, min_gain: float = 0.01):
        self.min_gain = min_gain
        self.reset()

    def reset(self):
        """Start the next call with ``gains = 1`` and ``update = 0``."""
        self.gains = None
        self.update = None

    def __call__(
        self,
        Y,
        objective,
        n_iter,
        learning_rate,
        momentum,
        exaggeration=1.0,
        kl_every=0,
        callback=None,
        start_iter=0,
    ):
        """Run ``n_iter`` steps on ``Y`` (modified in place). Returns the last KL computed
        (``nan`` if none). ``kl_every > 0`` evaluates the KL every that many iterations and
        passes it to ``callback(iteration, kl)``; ``callback`` is also called (with
        ``kl=None``) on other iterations."""
        if self.gains is None:
            self.gains = np.ones_like(Y)
            self.update = np.zeros_like(Y)
        gains, update = self.gains, self.update
        kl = np.nan
        # overflow is detected below and reported as one clear error instead
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for it in range(n_iter):
                iteration = start_iter + it + 1
                evaluate = kl_every > 0 and (it + 1) % kl_every == 0
                step_kl, grad = objective(Y, exaggeration, evaluate)
                if evaluate:
                    kl = step_kl
                flipped = (update * grad) < 0.0
                gains += 0.2
                gains[~flipped] -= 0.2
                gains[~flipped] *= 0.8
                np.maximum(gains, self.min_gain, out=gains)
                update *= momentum
                grad *= gains
                grad *= learning_rate
                update -= grad
                Y += update
                Y -= Y.mean(axis=0)
                if not np.isfinite(Y).all():
                    raise FloatingPointError(
                        f"t-SNE diverged: the embedding became non-finite at iteration {iteration} "
                        f"(learning_rate={learning_rate:g}); try a smaller learning_rate"
                    )
                if callback is not None:
                    callback(iteration, step_kl if evaluate else None)
        return kl


def _pca(X, n_components):
    """Principal component scores ``(N, n_components)`` by an eigendecomposition of the
    ``D x D`` covariance; signs fixed so the largest loading of each axis is positive."""
    centred = X - X.mean(axis=0)
    cov = centred.T @ centred
    values, vectors = np.linalg.eigh(cov)
    vectors = vectors[:, ::-1][:, :n_components]
    biggest = np.argmax(np.abs(vectors), axis=0)
    vectors *= np.sign(vectors[biggest, np.arange(n_components)])
    return centred @ vectors


def _shown(value) -> str:
    """``value`` as an error message shows it: a numpy scalar as the plain number
    (``1.5``, not ``np.float64(1.5)``), anything else by its repr (``'abc'``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _random_state_generator(random_state) -> np.random.Generator:
    """The run's Generator from ``random_state`` (None, int >= 0, Generator or RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        # four 32-bit words from the legacy stream seed a fresh Generator deterministically
        return np.random.default_rng(random_state.randint(0, 2**32, size=4, dtype=np.uint64))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            # numpy's own message ("expected non-negative integer") names no argument
            raise ParameterError(
                "random_state", f"must be a non-negative integer, got {random_state}"
            )
        return np.random.default_rng(random_state)
    if random_state is None or isinstance(random_state, np.random.Generator):
        return check_rng(random_state, "random_state")
    raise ParameterTypeError(
        "random_state",
        "expected None, an int seed, a numpy.random.Generator or a "
        f"numpy.random.RandomState, got {_shown(random_state)}",
    )


def initial_embedding(X, n_components, init, rng):
    """``"pca"`` (scaled so column 0 has std 1e-4, as scikit-learn), ``"random"``
    (``N(0, 1e-4^2)``) or a copy of an array ``(N, n_components)``. PCA of data with no variance
    (or fewer features than components) falls back to ``"random"``."""
    n = X.shape[0]
    if isinstance(init, str):
        if init == "pca" and X.shape[1] >= n_components:
            Y = _pca(X, n_components)
            std = float(np.std(Y[:, 0]))
            if std > 0 and np.isfinite(std):
                return Y / std * 1e-4
        return rng.normal(0.0, 1e-4, size=(n, n_components))
    Y = np.array(init, dtype=np.float64)
    if Y.shape != (n, n_components):
        raise ParameterError(
            "init", f"expected an array of shape {(n, n_components)}, got {Y.shape}"
        )
    return check_finite(Y, "init")


@dataclass(frozen=True)
class _FitSettings:
    """What ``TSNE.fit`` validated: the data (float64, finite), the embedding's dtype, and the
    hyperparameters resolved to values (``learning_rate`` a float, ``rng`` a Generator)."""

    X: np.ndarray
    dtype: type
    method: str
    n_components: int
    perplexity: float
    exaggeration: float
    max_iter: int
    learning_rate: float
    rng: np.random.Generator


def _check_data(X, estimator, reset):
    """``X`` as a finite 2-D float64 array, with scikit-learn's words for its checks."""
    original = X
    if sp.issparse(X):
        as_float_array(X, "X")  # refuses sparse input, with a dense suggestion
    X = _sklearn.numeric_array(X, "X", ParameterError, ParameterTypeError)
    if X.ndim == 1:
        raise ParameterError(
            "X", f"expected a 2-D array, got shape {X.shape}; {_sklearn.RESHAPE_HINT}"
        )
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] == 0:
        raise ParameterError("X", _sklearn.too_few_message(X.shape, "feature"))
    if not reset and X.shape[1] != estimator.n_features_in_:
        text = _sklearn.n_features_message(X.shape[1], estimator, estimator.n_features_in_)
        raise ParameterError(
            "X", f"expected {estimator.n_features_in_} features, got {X.shape[1]} ({text})"
        )
    _sklearn.record_features(estimator, original, reset)
    return X


class TSNE(_sklearn.TransformerMixin, _sklearn.BaseEstimator):
    """t-distributed Stochastic Neighbour Embedding.

    Parameters
    ----------
    n_components : int, embedding dimension (1 or 2 for ``method="fft"``, any for exact).
    perplexity : float in [1, n_samples).
    early_exaggeration : float >= 1, multiplies P during the first 250 iterations.
        The optimiser's gains and momentum restart when it ends (as scikit-learn).
    learning_rate : ``"auto"`` (``max(N / early_exaggeration / 4, 50)``) or a float > 0.
    max_iter : int >= 1, total iterations (exaggerated phase included).
    init : ``"pca"``, ``"random"`` or an array ``(n_samples, n_components)``.
    method : ``"fft"`` (sparse kNN affinities + FFT interpolation, ``O(N)`` per iteration) or
        ``"exact"`` (dense P, ``O(N^2)``; same P and objective as scikit-learn's exact TSNE,
        Student-t with ``max(n_components - 1, 1)`` degrees of freedom).
    metric : ``"euclidean"``.
    random_state : None, int, ``numpy.random.Generator`` or ``numpy.random.RandomState``
        (used by ``init="random"`` and the PCA fallback); the run is otherwise deterministic.
        A Generator is drawn from directly; a RandomState gives the run's seed (128 bits drawn
        from it at ``fit``), so equal RandomState states give equal embeddings. Either is
        advanced by ``fit``, as scikit-learn advances a RandomState.
    verbose : print per-phase progress (KL every 50 iterations) and timings.

    Attributes
    ----------
    embedding_ : (n_samples, n_components), float32 for float32 ``X``, else float64 (computed
    in float64 either way); kl_divergence_ : float (exact: the true KL of the float64
    embedding; fft: openTSNE's estimate); n_iter_ : int; learning_rate_ : float;
    n_features_in_ : int.

    With scikit-learn installed TSNE is a scikit-learn transformer (``get_params``,
    ``clone``, pipelines); :meth:`transform` embeds new points into the fitted map.
    """

    def __init__(
        self,
        n_components=2,
        perplexity=30.0,
        early_exaggeration=12.0,
        learning_rate="auto",
        max_iter=1000,
        init="pca",
        method="fft",
        metric="euclidean",
        random_state=None,
        verbose=False,
    ):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.init = init
        self.method = method
        self.metric = metric
        self.random_state = random_state
        self.verbose = verbose

    def _validate(self, X) -> _FitSettings:
        X = _check_data(X, self, reset=True)
        # the embedding follows the input's dtype; the optimisation always runs in float64
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        X = check_finite(X.astype(np.float64, copy=False), "X")
        n = X.shape[0]
        method = check_choice(self.method, "method", ("fft", "exact"))
        check_choice(self.metric, "metric", ("euclidean",))
        n_components = check_int(self.n_components, "n_components", low=1, high=MAX_COMPONENTS)
        if method == "fft" and n_components not in (1, 2):
            raise ParameterError(
                "n_components",
                f"must be 1 or 2 for method='fft', got {n_components}"
                " (use method='exact' for more)",
            )
        perplexity = check_perplexity(self.perplexity, n)
        exaggeration = check_finite(
            check_number(self.early_exaggeration, "early_exaggeration", low=1.0),
            "early_exaggeration",
        )
        max_iter = check_int(self.max_iter, "max_iter", low=1, high=MAX_ITER)
        if isinstance(self.learning_rate, str):
            check_choice(self.learning_rate, "learning_rate", ("auto",))
            learning_rate = max(n / exaggeration / 4.0, 50.0)
        else:
            learning_rate = check_finite(
                check_number(self.learning_rate, "learning_rate", low=0, low_open=True),
                "learning_rate",
            )
        if isinstance(self.init, str):
            check_choice(self.init, "init", ("pca", "random"))
        elif not isinstance(self.init, (np.ndarray, list, tuple)):
            raise ParameterTypeError(
                "init", f"expected 'pca', 'random' or an array, got {_shown(self.init)}"
            )
        if not isinstance(self.verbose, (bool, numbers.Integral)):
            raise ParameterTypeError("verbose", f"expected a bool, got {_shown(self.verbose)}")
        return _FitSettings(
            X=X,
            dtype=dtype,
            method=method,
            n_components=n_components,
            perplexity=perplexity,
            exaggeration=exaggeration,
            max_iter=max_iter,
            learning_rate=learning_rate,
            rng=_random_state_generator(self.random_state),
        )

    def _log(self, text):
        if self.verbose:
            print(f"[t-SNE] {text}", file=sys.stdout, flush=True)

    def fit(self, X, y=None, *, progress=None):
        """Embed ``X`` ``(n_samples, n_features)``; returns ``self``.

        ``progress(iteration, max_iter)`` (optional) is called after every iteration.
        """
        settings = self._validate(X)
        X, method, max_iter, exaggeration = (
            settings.X,
            settings.method,
            settings.max_iter,
            settings.exaggeration,
        )
        lr = settings.learning_rate
        n = X.shape[0]
        start = time.perf_counter()
        P = joint_probabilities(X, settings.perplexity, method=method)
        nnz = P.nnz if sp.issparse(P) else n * (n - 1)
        self._log(
            f"affinities ({method}, perplexity={settings.perplexity:g}, {nnz} nonzeros) in "
            f"{time.perf_counter() - start:.2f} s"
        )
        Y = initial_embedding(X, settings.n_components, self.init, settings.rng)
        if method == "fft":
            pairs = neighbor_pairs(P)

            def objective(Y, alpha, compute_kl):
                return kl_gradient_fft(
                    P,
                    Y,
                    exaggeration=alpha,
                    compute_kl=compute_kl,
                    pairs=pairs,
                    workers=FFT_WORKERS,
                )
        else:
            dof = max(settings.n_components - 1, 1)

            def objective(Y, alpha, compute_kl):
                return kl_gradient_exact(P, Y, exaggeration=alpha, dof=dof, compute_kl=compute_kl)

        optimizer = GradientDescent(min_gain=0.01)
        last = [time.perf_counter()]

        def callback(iteration, kl):
            if progress is not None:
                progress(iteration, max_iter)
            if kl is not None:
                now = time.perf_counter()
                self._log(
                    f"iteration {iteration:5d}, KL divergence {kl:.4f}, "
                    f"50 iterations in {now - last[0]:.2f} s"
                )
                last[0] = now

        kl_every = 50 if self.verbose else 0
        phases = [
            (min(EXPLORATION_ITER, max_iter), 0.5, exaggeration),
            (max_iter - min(EXPLORATION_ITER, max_iter), 0.8, 1.0),
        ]
        done = 0
        for n_iter, momentum, alpha in phases:
            if n_iter == 0:
                continue
            phase_start = time.perf_counter()
            self._log(
                f"optimising {n_iter} iterations: exaggeration={alpha:g}, "
                f"momentum={momentum:g}, learning_rate={lr:.4g}"
            )
            optimizer.reset()
            optimizer(
                Y,
                objective,
                n_iter,
                lr,
                momentum,
                exaggeration=alpha,
                kl_every=kl_every,
                callback=callback,
                start_iter=done,
            )
            done += n_iter
            self._log(f"phase done in {time.perf_counter() - phase_start:.2f} s")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            kl, _ = objective(Y, 1.0, True)
        if not np.isfinite(kl):
            # an embedding spread past the floating-point range: finite, but its KL is not
            raise FloatingPointError(
                f"t-SNE diverged: the KL divergence of the final embedding is non-finite "
                f"(learning_rate={lr:g}); try a smaller learning_rate"
            )
        self.embedding_ = Y.astype(settings.dtype, copy=False)
        self.kl_divergence_ = float(kl)
        self.n_iter_ = done
        self.learning_rate_ = lr
        self._fit_X = X  # the training data, for transform
        self._log(f"final KL divergence {kl:.4f}, total {time.perf_counter() - start:.2f} s")
        return self

    def fit_transform(self, X, y=None):
        """``fit(X)`` and return ``embedding_``."""
        return self.fit(X).embedding_

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output columns' names, ``tsne0, tsne1, ...`` (scikit-learn's TSNE names them
        so): what ``set_output(transform="pandas")`` puts on the columns of a pipeline's
        output. ``input_features``, when given, must match the training data's (its count,
        and its names when ``fit`` saw a DataFrame)."""
        if not hasattr(self, "embedding_"):
            raise _sklearn.NotFittedError(
                "TSNE: call fit before get_feature_names_out (this TSNE instance is not fitted yet)"
            )
        if input_features is not None:
            given = [str(name) for name in input_features]
            known = getattr(self, "feature_names_in_", None)
            if len(given) != self.n_features_in_ or (known is not None and list(known) != given):
                raise ParameterError(
                    "input_features",
                    f"expected the {self.n_features_in_} features seen in fit, got {len(given)}",
                )
        return np.array([f"tsne{i}" for i in range(self.embedding_.shape[1])], dtype=object)

    def transform(self, X) -> np.ndarray:
        """Place new points ``X`` ``(m, n_features_in_)`` into the fitted map without moving
        it (openTSNE's ``transform``, see :mod:`verigrad.manifold.transform`); returns
        ``(m, n_components)`` in ``embedding_``'s dtype. Each point is placed independently
        of the others; a training point lands near its own position in ``embedding_``."""
        if not hasattr(self, "embedding_"):
            raise _sklearn.NotFittedError(
                "TSNE: call fit before transform (this TSNE instance is not fitted yet)"
            )
        X = _check_data(X, self, reset=False)
        X = check_finite(X.astype(np.float64, copy=False), "X")
        if X.shape[0] == 0:
            return np.empty((0, self.embedding_.shape[1]), dtype=self.embedding_.dtype)
        Y, _ = embed_new_points(self._fit_X, self.embedding_.astype(np.float64), X)
        return Y.astype(self.embedding_.dtype, copy=False)
