"""Classification metrics: exact top-k accuracy/error, streaming top-k, confusion matrix.

Top-k accuracy is the (weighted) fraction of samples whose true class is among the ``k``
highest-scoring classes. It is computed here in ``O(N * C)`` time with no sort: for each row
we count the classes that *beat* the true class, and the sample is a hit iff that count is
below ``k``.

Tie rule (identical to :func:`sklearn.metrics.top_k_accuracy_score`, which ranks classes by
``np.argsort(y_score, axis=1, kind="mergesort")[:, ::-1]`` - a stable sort, reversed): among
classes with equal scores, the class with the **higher index ranks first**. So class ``j``
beats the true class ``y`` of a row ``s`` iff::

    s[j] > s[y]    or    (s[j] == s[y] and j > y)

and the sample is a top-k hit iff ``#{j : j beats y} < k``. Because the count does not
depend on ``k``, accuracy never decreases as ``k`` grows (for every class and every weighting).

Binary case (1-D ``scores``, as scikit-learn): ``scores[i]`` is the score of class 1 (the
second class). For ``k == 1`` the prediction is ``scores > threshold`` where ``threshold`` is
0.5 if every score lies in ``[0, 1]`` (probabilities) and 0 otherwise (decision values);
a score exactly at the threshold predicts class 0. For ``k >= 2`` every sample is a hit.

Labels: the positional ``labels`` are the true class indices in ``[0, C)`` (``C`` =
``scores.shape[1]``, or 2 for 1-D scores). scikit-learn's ``labels=`` argument (the sorted
class list that maps arbitrary label values to score columns, needed when ``y`` lacks some
classes) is the keyword ``class_labels=`` here, because ``labels`` already names the true
labels in verigrad's API; with ``class_labels`` given, ``labels`` hold class *values* that
must appear in ``class_labels``, and ``labels[i] == class_labels[j]`` means column ``j``.

Edge-case policy: NaN scores, labels outside ``[0, C)`` (or not in ``class_labels``), shape
mismatches, ``k < 1``, empty input and negative or non-finite ``sample_weight`` raise
``ValueError``/``TypeError`` naming the argument. ``+-inf`` scores are allowed (they rank as
expected). ``k >= C`` gives accuracy 1 (error 0) and a ``UserWarning`` that the metric is
trivial. Per-class error of a class with no samples (or zero total weight) is NaN.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._checks import ParameterError, ParameterTypeError, check_int
from .tensor import Tensor

__all__ = [
    "top_k_accuracy",
    "top_k_error",
    "per_class_top_k_error",
    "TopKError",
    "confusion_matrix",
]

# Elements per block of rows: a float32 block of 262 x 1000 (1 MB) and its boolean mask stay in
# L2 while the block is compared, counted and checked for NaN; timings were flat from 2**16 to
# 2**23 on (100000, 1000) float32, so the per-block Python overhead is negligible.
_BLOCK_ELEMENTS = 1 << 18


# ----------------------------------------------------------------------------- validation


def _as_array(x, name):
    if isinstance(x, Tensor):
        x = x.data
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        raise ParameterTypeError(name, f"expected an array, got {type(x).__name__}") from None


def _check_scores(scores):
    """``scores`` as a 1-D or 2-D real array (not copied when already numeric)."""
    s = _as_array(scores, "scores")
    if s.dtype.kind == "b":
        s = s.astype(np.int8)
    if s.dtype.kind not in "iuf":
        raise ParameterTypeError("scores", f"expected a real numeric array, got dtype {s.dtype}")
    if s.ndim not in (1, 2):
        raise ParameterError(
            "scores", f"expected shape (n_samples, n_classes) or (n_samples,), got {s.shape}"
        )
    if s.shape[0] == 0:
        raise ParameterError("scores", "empty input (0 samples)")
    if s.ndim == 2 and s.shape[1] == 0:
        raise ParameterError("scores", f"needs at least one class column, got shape {s.shape}")
    return s


def _check_class_labels(class_labels, n_classes):
    c = _as_array(class_labels, "class_labels")
    if c.ndim != 1:
        raise ParameterError("class_labels", f"expected a 1-D array, got shape {c.shape}")
    unique = np.unique(c)
    if len(unique) != len(c):
        raise ParameterError("class_labels", "values must be unique")
    if not np.array_equal(unique, c):
        raise ParameterError("class_labels", "values must be sorted in increasing order")
    if len(c) != n_classes:
        raise ParameterError("class_labels", f"has {len(c)} classes but scores have {n_classes}")
    return c


def _encode_labels(labels, n, n_classes, class_labels):
    """True labels as int64 column indices in ``[0, n_classes)``."""
    y = _as_array(labels, "labels")
    if y.ndim != 1:
        raise ParameterError("labels", f"expected a 1-D array, got shape {y.shape}")
    if len(y) != n:
        raise ParameterError("labels", f"has {len(y)} entries but scores have {n} samples")
    if class_labels is not None:
        classes = _check_class_labels(class_labels, n_classes)
        try:
            index = np.searchsorted(classes, y)
        except TypeError:
            raise ParameterTypeError(
                "labels", f"values of dtype {y.dtype} cannot be compared with class_labels"
            ) from None
        found = np.take(classes, np.minimum(index, n_classes - 1)) == y
        if not np.all(found):
            bad = y[~found][0].item()
            raise ParameterError("labels", f"contains {bad!r}, which is not in class_labels")
        return index.astype(np.int64, copy=False)
    y = _whole_numbers_as_int(y, "labels")
    if y.dtype.kind not in "iu":
        raise ParameterTypeError(
            "labels",
            f"expected integer class indices, got dtype {y.dtype} "
            f"(use class_labels= for other label values)",
        )
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise ParameterError("labels", f"must be in [0, {n_classes}), got {bad}")
    return y.astype(np.int64, copy=False)


def _whole_numbers_as_int(a, name):
    """Bool and whole-number float class indices as int64 (other dtypes are returned as is);
    a float that is not a whole number (or NaN/inf) is a ``TypeError`` naming ``name``."""
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ParameterTypeError(name, "expected integer class indices, got non-integer values")
        return a.astype(np.int64)
    return a


def _check_weights(sample_weight, n):
    if sample_weight is None:
        return None
    w = _as_array(sample_weight, "sample_weight")
    if w.dtype.kind not in "biuf":
        raise ParameterTypeError("sample_weight", f"expected numbers, got dtype {w.dtype}")
    w = w.astype(np.float64, copy=False)
    if w.ndim != 1 or len(w) != n:
        raise ParameterError("sample_weight", f"expected shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ParameterError("sample_weight", "contains NaN or infinite values")
    if np.any(w < 0):
        raise ParameterError("sample_weight", f"must be >= 0, got {float(w.min())}")
    return w


def _check_k(k):
    return check_int(k, "k", low=1)


def _prepare(scores, labels, sample_weight, class_labels):
    """Validated ``(scores, y, weights, n_classes)``; ``scores`` is 1-D in the binary case."""
    s = _check_scores(scores)
    n_classes = s.shape[1] if s.ndim == 2 else 2
    y = _encode_labels(labels, s.shape[0], n_classes, class_labels)
    w = _check_weights(sample_weight, s.shape[0])
    return s, y, w, n_classes


def _warn_trivial(k, n_classes):
    warnings.warn(
        f"k ({k}) >= number of classes ({n_classes}): every sample is a top-k hit, "
        "so the metric is trivial (accuracy 1, error 0)",
        UserWarning,
        stacklevel=3,
    )


# ----------------------------------------------------------------------------- kernels


def _beaten_counts_reference(scores, y):
    """Plain reference: ``#{j : s[j] > s[y] or (s[j] == s[y] and j > y)}`` per row, exactly.

    Materialises ``(N, C)`` temporaries; kept beside the blocked kernel to test it against.
    """
    scores = np.asarray(scores)
    true_score = scores[np.arange(len(y)), y][:, None]
    after = np.arange(scores.shape[1]) > np.asarray(y)[:, None]
    return np.count_nonzero((scores > true_score) | ((scores == true_score) & after), axis=1)


def _count_rows(a, threshold, compare, mask, count_dtype):
    """``compare(a, threshold)`` counted per row, through the reused boolean buffer."""
    m = mask[: len(a)]
    compare(a, threshold, out=m)
    return np.add.reduce(m.view(np.uint8), axis=1, dtype=count_dtype)


def _beaten_counts(scores, y, kmax):
    """For each row, the number of classes that beat its true class (tie rule above).

    Exact where the count is below ``kmax``; elsewhere only known to be ``>= kmax`` (enough
    to decide every ``k <= kmax``). Rows are processed in cache-sized blocks through one
    reused boolean buffer. Per block, a first pass counts either ``s > t`` (``gt``, a lower
    bound of the count) or ``s >= t`` (``ge``, which includes the true class and all ties, so
    ``ge - 1`` is an upper bound). Rows the first pass cannot settle (``gt < kmax``, resp.
    ``ge > 1``) get the other count; then ``ties = ge - 1 - gt``, and only rows with ties
    that could still be hits are counted index by index. The first pass is chosen from the
    previous block: ``gt`` suits poor rankings (random scores: ~1 pass), ``ge`` suits good
    ones (a trained classifier: true class mostly ranked first).
    """
    n, n_classes = scores.shape
    rows = max(1, min(n, _BLOCK_ELEMENTS // n_classes))
    mask = np.empty((rows, n_classes), dtype=bool)
    count_dtype = np.uint16 if n_classes < (1 << 16) else np.int64
    counts = np.empty(n, dtype=np.int64)
    check_nan = scores.dtype.kind == "f"
    ge_first = False
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = scores[start:stop]
        if check_nan and np.isnan(block.max()):
            row = start + int(np.isnan(block).any(axis=1).argmax())
            raise ParameterError("scores", f"contains NaN (row {row})")
        yb = y[start:stop]
        true_score = block[np.arange(stop - start), yb][:, None]
        first_op, second_op = (
            (np.greater_equal, np.greater) if ge_first else (np.greater, np.greater_equal)
        )
        first = _count_rows(block, true_score, first_op, mask, count_dtype)
        out = counts[start:stop]
        if ge_first:
            np.subtract(first, 1, out=out)  # settled where ge == 1: rank 0, no ties
            unsettled = np.flatnonzero(first > 1)
        else:
            out[:] = first  # settled where gt >= kmax: a miss for every k <= kmax
            unsettled = np.flatnonzero(first < kmax)
        if unsettled.size:
            if 2 * unsettled.size > len(yb):  # most rows: a full pass beats a gathered copy
                second = _count_rows(block, true_score, second_op, mask, count_dtype)[unsettled]
            else:
                second = _count_rows(
                    block[unsettled], true_score[unsettled], second_op, mask, count_dtype
                )
            gt, ge = (second, first[unsettled]) if ge_first else (first[unsettled], second)
            gt = gt.astype(np.int64)
            out[unsettled] = gt
            tied = unsettled[(ge.astype(np.int64) - 1 > gt) & (gt < kmax)]
            if tied.size:
                after = np.arange(n_classes) > yb[tied, None]
                out[tied] += np.count_nonzero((block[tied] == true_score[tied]) & after, axis=1)
        # passes per row: about 1 + (share with gt < kmax) going gt-first and
        # 2 - (share ranked first) going ge-first; pick the cheaper for the next block
        ranked_first = np.count_nonzero(out == 0)
        hits = np.count_nonzero(out < kmax)
        ge_first = ranked_first + hits > len(yb)
    return counts


def _binary_predictions(scores, threshold):
    return (scores > threshold).astype(np.int64)


def _binary_threshold(scores):
    return 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0


def _hits(s, y, ks):
    """Boolean hits, shape ``(len(ks), N)``, for validated inputs."""
    ks = np.asarray(ks, dtype=np.int64)
    if s.ndim == 1:
        if np.isnan(s).any():
            raise ParameterError("scores", "contains NaN")
        hit1 = _binary_predictions(s, _binary_threshold(s)) == y
        return np.where(ks[:, None] == 1, hit1[None, :], True)
    counts = _beaten_counts(s, y, int(ks.max()))
    return counts[None, :] < ks[:, None]


def _total(hits, w, normalize):
    if w is None:
        count = float(np.count_nonzero(hits))
        return count / hits.size if normalize else count
    value = float(np.dot(hits, w))
    if not normalize:
        return value
    total = float(w.sum())
    if total == 0:
        raise ParameterError(
            "sample_weight", "weights sum to zero, so the normalized score is undefined"
        )
    return value / total


# ----------------------------------------------------------------------------- public API


def top_k_accuracy(scores, labels, k=1, *, class_labels=None, sample_weight=None, normalize=True):
    """Top-k accuracy: the (weighted) fraction of samples whose true class is in the top ``k``.

    Parameters
    ----------
    scores : array of shape (N, C) (logits, probabilities or any scores), or (N,) for the
        binary case (score of class 1; see the module docstring for the threshold rule).
    labels : int array of shape (N,)
        True class indices in ``[0, C)`` - or class values from ``class_labels`` if given.
    k : int >= 1
        Number of top-ranked classes that count as correct. ``k >= C`` warns (trivial metric).
    class_labels : sorted array of shape (C,), optional
        scikit-learn's ``labels=``: the class values in column order (keyword renamed because
        ``labels`` are the true labels here).
    sample_weight : array of shape (N,), optional
        Non-negative weights per sample.
    normalize : bool
        ``True``: the weighted fraction of hits; ``False``: the (weighted) number of hits.

    Returns
    -------
    float

    Ties: among equal scores the class with the higher index ranks first, exactly as
    ``sklearn.metrics.top_k_accuracy_score``; the sample is a hit iff fewer than ``k``
    classes ``j`` satisfy ``s[j] > s[y] or (s[j] == s[y] and j > y)``. ``O(N * C)``, no sort.
    """
    k = _check_k(k)
    s, y, w, n_classes = _prepare(scores, labels, sample_weight, class_labels)
    if k >= n_classes:
        _warn_trivial(k, n_classes)
    return _total(_hits(s, y, [k])[0], w, bool(normalize))


def top_k_error(scores, labels, k=1, *, class_labels=None, sample_weight=None, normalize=True):
    """Top-k error ``1 - top_k_accuracy`` (or, with ``normalize=False``, the weighted miss count).

    Same arguments, tie rule and edge-case policy as :func:`top_k_accuracy`.
    """
    k = _check_k(k)
    s, y, w, n_classes = _prepare(scores, labels, sample_weight, class_labels)
    if k >= n_classes:
        _warn_trivial(k, n_classes)
    return _total(~_hits(s, y, [k])[0], w, bool(normalize))


def per_class_top_k_error(scores, labels, k=1, *, class_labels=None, sample_weight=None):
    """Top-k error of each true class, shape ``(C,)``.

    ``result[c]`` is the weighted fraction of samples with true class ``c`` that are top-k
    misses. A class with no samples (or zero total weight) gets ``NaN``. Same arguments,
    tie rule and validation as :func:`top_k_accuracy`; non-increasing in ``k`` for every class.
    """
    k = _check_k(k)
    s, y, w, n_classes = _prepare(scores, labels, sample_weight, class_labels)
    if k >= n_classes:
        _warn_trivial(k, n_classes)
    miss = ~_hits(s, y, [k])[0]
    weights = np.ones(len(y)) if w is None else w
    missed = np.bincount(y, weights=miss * weights, minlength=n_classes)
    total = np.bincount(y, weights=weights, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, missed / np.where(total > 0, total, 1.0), np.nan)


class TopKError:
    """Streaming top-k error for several ``k`` at once, over batches of any number.

    ``update(scores, labels)`` adds a batch; ``compute()`` returns ``{k: error}``, equal to
    :func:`top_k_error` on all batches concatenated (same tie rule); ``reset()`` forgets.
    Memory is ``O(len(ks) * C)`` whatever the number of samples: the state is, per class,
    the weight of hits for each ``k`` and the total weight (``hits_``, ``totals_``), so
    evaluation sets that do not fit in memory are fine.

    Parameters
    ----------
    ks : int or sequence of ints >= 1
        The ``k`` values to track (duplicates removed, order kept).
    class_labels : sorted array of shape (C,), optional
        As in :func:`top_k_accuracy` (scikit-learn's ``labels=``).

    Binary 1-D scores follow scikit-learn's whole-array threshold rule (0.5 if *all* scores
    seen lie in [0, 1], else 0): both candidate thresholds are tallied and the global
    min/max decides at ``compute()``, so the streamed value stays exact. A stream must not
    mix 1-D and 2-D batches, or batches with different ``C``.
    """

    def __init__(self, ks=(1, 5), *, class_labels=None):
        self.ks = ks
        self.class_labels = class_labels
        self._ks = self._check_ks(ks)
        self.reset()

    @staticmethod
    def _check_ks(ks):
        if isinstance(ks, numbers.Integral) and not isinstance(ks, bool):
            ks = (ks,)
        try:
            values = list(ks)
        except TypeError:
            raise ParameterTypeError(
                "ks", f"expected an int or a sequence of ints, got {ks!s}"
            ) from None
        if not values:
            raise ParameterError("ks", "needs at least one k")
        checked = [check_int(k, "ks", low=1) for k in values]
        return tuple(dict.fromkeys(checked))

    def reset(self):
        """Forget every batch seen."""
        self.n_classes_ = None
        self.binary_ = None
        self.n_samples_ = 0
        self.hits_ = None  # (len(ks), C) weight of top-k hits per true class
        self.totals_ = None  # (C,) weight per true class
        self._binary_hits = None  # (2 thresholds [0.5, 0], 2 classes) for 1-D scores
        self._min = np.inf
        self._max = -np.inf
        return self

    def update(self, scores, labels, sample_weight=None):
        """Add a batch: ``scores`` (B, C) or (B,), ``labels`` (B,), optional weights (B,)."""
        s, y, w, n_classes = _prepare(scores, labels, sample_weight, self.class_labels)
        binary = s.ndim == 1
        if self.n_classes_ is None:
            self.n_classes_, self.binary_ = n_classes, binary
            self.hits_ = np.zeros((len(self._ks), n_classes))
            self.totals_ = np.zeros(n_classes)
            self._binary_hits = np.zeros((2, 2))
        elif binary != self.binary_ or n_classes != self.n_classes_:
            raise ParameterError(
                "scores",
                f"shape {s.shape} does not match earlier batches "
                f"({'1-D binary' if self.binary_ else f'{self.n_classes_} classes'})",
            )
        weights = np.ones(len(y)) if w is None else w
        if binary:
            if np.isnan(s).any():
                raise ParameterError("scores", "contains NaN")
            for row, threshold in enumerate((0.5, 0.0)):
                hit = _binary_predictions(s, threshold) == y
                self._binary_hits[row] += np.bincount(y, weights=hit * weights, minlength=2)
            self._min = min(self._min, float(s.min()))
            self._max = max(self._max, float(s.max()))
        else:
            hits = _hits(s, y, self._ks)
            for i in range(len(self._ks)):
                self.hits_[i] += np.bincount(y, weights=hits[i] * weights, minlength=n_classes)
        self.totals_ += np.bincount(y, weights=weights, minlength=n_classes)
        self.n_samples_ += len(y)
        return self

    def _class_hits(self):
        if self.n_classes_ is None:
            raise ParameterError("TopKError", "no batches seen; call update(scores, labels) first")
        for k in self._ks:
            if k >= self.n_classes_:
                _warn_trivial(k, self.n_classes_)
        if not self.binary_:
            return self.hits_
        threshold_row = 0 if (self._min >= 0 and self._max <= 1) else 1
        return np.array(
            [self._binary_hits[threshold_row] if k == 1 else self.totals_ for k in self._ks]
        )

    def compute(self):
        """``{k: error}`` over every sample seen (weighted fraction of top-k misses)."""
        hits = self._class_hits()
        total = float(self.totals_.sum())
        if total == 0:
            raise ParameterError("sample_weight", "weights sum to zero, so the error is undefined")
        return {k: 1.0 - float(hits[i].sum()) / total for i, k in enumerate(self._ks)}

    def compute_per_class(self):
        """``{k: array (C,)}``: the top-k error of each true class (NaN for unseen classes)."""
        hits = self._class_hits()
        seen = self.totals_ > 0
        safe = np.where(seen, self.totals_, 1.0)
        return {k: np.where(seen, 1.0 - hits[i] / safe, np.nan) for i, k in enumerate(self._ks)}

    def __repr__(self):
        return f"TopKError(ks={self._ks}, n_samples={self.n_samples_})"


def _as_index_vector(x, name):
    a = _as_array(x, name)
    if a.ndim != 1:
        raise ParameterError(name, f"expected a 1-D array, got shape {a.shape}")
    if a.size == 0:  # np.asarray([]) is float64, but an empty list holds no bad value
        return a.astype(np.int64)
    a = _whole_numbers_as_int(a, name)  # as top_k_accuracy: 2.0 is class 2, 2.5 an error
    if a.dtype.kind not in "iu":
        raise ParameterTypeError(name, f"expected integer class indices, got dtype {a.dtype}")
    if a.min() < 0:
        raise ParameterError(name, f"class indices must be >= 0, got {int(a.min())}")
    return a


#: the most classes :func:`confusion_matrix` counts: 16384**2 int64 counts are 2 GB
MAX_CONFUSION_CLASSES = 2**14


def confusion_matrix(labels, predictions, n_classes=None):
    """Counts ``M[i, j]`` of samples with true class ``i`` predicted as class ``j``.

    ``labels`` and ``predictions``: int arrays of shape (N,) with values in ``[0, n_classes)``
    (whole-number floats such as ``2.0`` are accepted, as by :func:`top_k_accuracy`; other
    floats are a ``TypeError``, negative values a ``ValueError``, and a value ``>= n_classes``
    a ``ValueError`` naming ``n_classes``).
    ``n_classes`` defaults to ``max(labels.max(), predictions.max()) + 1``. Returns an int64
    array ``(C, C)``, rows true, columns predicted - the values of
    ``sklearn.metrics.confusion_matrix(labels, predictions, labels=range(C))``. Empty input
    gives a zero matrix if ``n_classes`` is given and raises ``ValueError`` otherwise.
    At most :data:`MAX_CONFUSION_CLASSES` classes (a matrix of 2 GB): a label of 10**9 is
    refused naming the argument that holds it, never a failed allocation.
    """
    y = _as_index_vector(labels, "labels")
    p = _as_index_vector(predictions, "predictions")
    if len(y) != len(p):
        raise ParameterError("predictions", f"has {len(p)} entries but labels have {len(y)}")
    if n_classes is None:
        if len(y) == 0:
            raise ParameterError("labels", "empty input; pass n_classes to get an all-zero matrix")
        n_classes = int(max(y.max(), p.max())) + 1
        if n_classes > MAX_CONFUSION_CLASSES:
            name = "labels" if y.max() >= p.max() else "predictions"
            raise ParameterError(
                name,
                f"contains class {n_classes - 1}: a confusion matrix of {n_classes} classes is "
                f"too large (at most {MAX_CONFUSION_CLASSES}); are these class indices?",
            )
    n_classes = check_int(n_classes, "n_classes", low=1, high=MAX_CONFUSION_CLASSES)
    for a, name in ((y, "labels"), (p, "predictions")):
        if len(a) and a.max() >= n_classes:
            high = int(a.max())
            raise ParameterError(
                "n_classes",
                f"{n_classes} is too small, {name} contain class {high} "
                f"(n_classes must be >= {high + 1})",
            )
    flat = y.astype(np.int64) * n_classes + p.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
