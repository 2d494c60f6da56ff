"""Proximal operators: ``op(v, t) = argmin_x g(x) + ||x - v||^2 / (2 t)``.

Each factory (``l1(lam)``, ``box(lo, hi)``, ...) returns a callable object ``op`` with

* ``op(v, t)``: the proximal point of ``t * g`` at ``v`` (a new array of ``v``'s shape; the
  dtype follows ``v``: float32 stays float32, integers become float64). ``v`` is never
  modified. ``t > 0`` is the step (the optimizers pass their learning rate).
* ``op(v, t)`` with ``t`` an array of ``v``'s shape (every entry finite and ``> 0``): the prox in
  the diagonal metric ``D = diag(1 / t)``, ``argmin_x g(x) + sum_i (x_i - v_i)^2 / (2 t_i)``
  (ProxGen, Yun, Kim & Lee 2021): what Adam, AdamW, RMSprop and Adagrad pass, with
  ``t_i = lr / (sqrt(v_hat_i) + eps)`` their own per-element step. Operators with
  ``op.weighted`` True have this form (below); the others (``nuclear``, ``l1_ball``,
  ``simplex``, ``linf``) refuse an array ``t`` with a ParameterError naming ``t``.
* ``op.value(x)``: ``g(x)`` as a float (``inf`` outside the set for indicator functions).

Formulas (Parikh & Boyd 2014, "Proximal Algorithms", ch. 6):

==================  ==============================  =============================================
factory             g(x)                            prox_{t g}(v)
==================  ==============================  =============================================
``l1(lam)``         lam ||x||_1                     sign(v) max(|v| - t lam, 0)   (soft threshold)
``l2(lam)``         lam ||x||_2 (whole array)       max(0, 1 - t lam / ||v||_2) v  (block soft thr.)
``group_l1``        lam sum_g w_g ||x_g||_2         block soft threshold of each group
``elastic_net``     l1 ||x||_1 + l2/2 ||x||_2^2     soft(v, t l1) / (1 + t l2)
``nonneg()``        indicator{x >= 0}               max(v, 0)
``box(lo, hi)``     indicator{lo <= x <= hi}        clip(v, lo, hi)
``nuclear(lam)``    lam sum_i sigma_i(x)            U diag(max(sigma - t lam, 0)) V^T   (SVT)
``l1_ball(r)``      indicator{||x||_1 <= r}         Duchi et al. 2008 sort-based projection
``simplex(r)``      indicator{x >= 0, sum x = r}    Duchi et al. 2008 sort-based projection
``linf(lam)``       lam ||x||_inf                   v - proj_{||.||_1 <= t lam}(v)   (Moreau)
==================  ==============================  =============================================

The ``linf`` formula is the Moreau decomposition ``v = prox_{tg}(v) + t prox_{g*/t}(v / t)``:
the conjugate of ``lam ||.||_inf`` is the indicator of the l1 ball of radius ``lam``, whose prox
is the projection (for any scaling), and ``t proj_{B(lam)}(v / t) = proj_{B(t lam)}(v)``.

Weighted (diagonal-metric) forms, ``t`` an array:

==================  ============================================================================
``l1``              sign(v) max(|v| - lam t, 0): soft thresholding at ``lam t_i`` (exact)
``elastic_net``     soft(v, l1 t) / (1 + l2 t), entrywise (exact)
``nonneg``, ``box`` the same projections (a separable set projects alike in any diagonal metric)
``l2``, ``group_l1`` the exact weighted block shrink (below)
==================  ============================================================================

Weighted block shrink of a group ``v_g`` with steps ``t_g`` and penalty ``lam_g``: the
optimality condition ``0 in lam_g d||x||_2 + (x - v) / t`` gives ``x = 0`` exactly when
``||v_g / t_g||_2 <= lam_g`` and otherwise ``x_i = v_i r / (r + lam_g t_i)``, where
``r = ||x_g||_2 > 0`` is the root of ``phi(r) = sum_i v_i^2 / (r + lam_g t_i)^2 = 1``
(``phi`` decreases strictly, so the root is unique; it lies in
``[||v_g|| - lam_g max t, ||v_g|| - lam_g min t]``). It is found by safeguarded Newton steps on
``phi(r)^(-1/2) - 1`` (linear in ``r`` when ``t`` is constant, where the bracket is a point and
the formula is the ordinary block soft threshold), to float64 round-off in a few iterations.

Array policy: ``l1``, ``elastic_net``, ``nonneg``, ``box`` act entrywise on any shape; ``l2``,
``l1_ball``, ``simplex`` and ``linf`` treat the whole array as one vector; ``nuclear`` needs
``ndim >= 2`` and thresholds the singular values of each trailing matrix ``v[..., :, :]``;
``group_l1`` groups index the first axis (for a 1-D vector its entries, for a 2-D weight
``(out, in)`` its rows, each group's block ``v[g]`` being shrunk as one vector); entries in no
group are left unpenalised.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._checks import (
    ParameterError,
    ParameterTypeError,
    as_float_array,
    check_finite,
    check_number,
)
from .shrinkage import (
    _as_input,
    _soft_threshold,
    project_l1_ball,
    project_simplex,
    soft_threshold,
    weighted_group_shrink,
)

__all__ = [
    "ProxOperator",
    "l1",
    "l2",
    "group_l1",
    "elastic_net",
    "nonneg",
    "box",
    "nuclear",
    "l1_ball",
    "simplex",
    "linf",
    "soft_threshold",
    "weighted_group_shrink",
    "project_l1_ball",
    "project_simplex",
]


def _check_step(t, v: np.ndarray):
    """A float ``t > 0``, or (a per-element step) a float ndarray of ``v``'s shape, every entry
    finite and ``> 0``."""
    # hot path (called once per parameter per optimizer step): test the common case first
    if isinstance(t, numbers.Real) and not isinstance(t, bool):
        if 0 < t < np.inf:
            return float(t)
        return check_finite(check_number(t, "t", low=0.0, low_open=True), "t")
    if isinstance(t, np.ndarray) and t.ndim == 0:
        return _check_step(t.item(), v)
    if not isinstance(t, np.ndarray):
        t = as_float_array(t, "t")
        if t.ndim == 0:
            return _check_step(float(t), v)
    if t.dtype.kind != "f":
        t = as_float_array(t, "t")
    if t.shape != v.shape:
        raise ParameterError(
            "t", f"a per-element step must have the shape of v {v.shape}, got {t.shape}"
        )
    if t.size:
        low, high = t.min(), t.max()
        if not (low > 0 and high < np.inf):  # NaN fails both
            bad = int(np.count_nonzero(~(np.isfinite(t) & (t > 0))))
            raise ParameterError(
                "t", f"every per-element step must be finite and > 0, {bad} entries are not"
            )
    return t


def _rounding(x: np.ndarray) -> float:
    """Relative rounding allowance of a sum over ``x`` (indicator values accept it)."""
    return 4.0 * float(np.finfo(x.dtype).eps) * max(x.size, 1)


class ProxOperator:
    """Base class: ``op(v, t)`` is the prox of ``t * g`` at ``v``; ``op.value(x)`` is ``g(x)``.

    ``weighted``: whether ``t`` may be an array of ``v``'s shape (the prox in the diagonal
    metric ``1 / t``, see the module docstring); ``_prox`` then receives that array.
    """

    weighted = True

    def __call__(self, v, t=1.0) -> np.ndarray:
        v = _as_input(v)
        t = _check_step(t, v)
        if not self.weighted and isinstance(t, np.ndarray):
            raise ParameterError(
                "t",
                f"{type(self).__name__.strip('_').lower()} has no closed-form prox in a "
                "diagonal metric, so it needs one scalar step t, got an array (an adaptive "
                "optimizer, Adam, AdamW, RMSprop or Adagrad, passes its per-element step; use "
                "SGD for this operator)",
            )
        return self._prox(v, t)

    def value(self, x) -> float:
        return float(self._value(_as_input(x, "x")))

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _value(self, x: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def _params(self) -> dict:
        return {}


def _penalty(value, name: str) -> float:
    """A penalty weight: a finite number >= 0 (an infinite one only ever gives zeros)."""
    return check_finite(check_number(value, name, low=0.0), name)


class _L1(ProxOperator):
    def __init__(self, lam):
        self.lam = _penalty(lam, "lam")

    def _prox(self, v, t):
        return _soft_threshold(v, t * self.lam)

    def _value(self, x):
        return self.lam * np.abs(x).sum()

    def _params(self):
        return {"lam": self.lam}


class _L2(ProxOperator):
    def __init__(self, lam):
        self.lam = _penalty(lam, "lam")

    def _prox(self, v, t):
        if isinstance(t, np.ndarray):
            shrunk = weighted_group_shrink(v.reshape(1, -1), t.reshape(1, -1), self.lam)
            return shrunk.reshape(v.shape).astype(v.dtype, copy=False)
        norm = float(np.sqrt(np.vdot(v, v).real))
        shrink = t * self.lam
        if norm <= shrink:
            return np.zeros_like(v)
        return v * v.dtype.type(1.0 - shrink / norm)

    def _value(self, x):
        return self.lam * np.linalg.norm(x.ravel())

    def _params(self):
        return {"lam": self.lam}


def _check_groups(groups, name: str = "groups") -> list:
    """A list of non-empty, disjoint integer index arrays (validated, copied)."""
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise ParameterTypeError(
            name, f"expected a list of index lists, got {type(groups).__name__}"
        )
    out, seen = [], set()
    for k, g in enumerate(groups):
        if isinstance(g, numbers.Integral):
            raise ParameterTypeError(
                name, f"group {k} must be a list of indices, got the integer {int(g)}"
            )
        idx = np.asarray(list(g) if not isinstance(g, np.ndarray) else g)
        if idx.size == 0:
            raise ParameterError(name, f"group {k} is empty")
        if idx.dtype.kind not in "iu":
            raise ParameterTypeError(
                name, f"group {k} must hold integer indices, got dtype {idx.dtype}"
            )
        idx = idx.astype(np.intp).ravel()
        if idx.min() < 0:
            raise ParameterError(name, f"group {k} has a negative index {int(idx.min())}")
        members = set(idx.tolist())
        if len(members) != idx.size or members & seen:
            dup = sorted((members & seen) or {i for i in idx.tolist() if list(idx).count(i) > 1})
            raise ParameterError(name, f"groups overlap (index {dup[0]} appears more than once)")
        seen |= members
        out.append(idx)
    if not out:
        raise ParameterError(name, "expected at least one group")
    return out


class _GroupL1(ProxOperator):
    def __init__(self, lam, groups, weights=None):
        self.lam = _penalty(lam, "lam")
        self.groups = _check_groups(groups)
        if weights is None:
            self.weights = np.ones(len(self.groups))
        else:
            w = as_float_array(weights, "weights", ndim=1)
            if w.shape[0] != len(self.groups):
                raise ParameterError(
                    "weights",
                    f"expected {len(self.groups)} weights (one per group), got {w.shape[0]}",
                )
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ParameterError("weights", "must be finite and >= 0")
            self.weights = w.astype(np.float64)
        self._max_index = max(int(g.max()) for g in self.groups)
        # one row of the first axis per group (each conv filter, each neuron): vectorised
        self._rows = (
            np.array([int(g[0]) for g in self.groups])
            if all(g.size == 1 for g in self.groups)
            else None
        )

    def _check_shape(self, v, name):
        if v.ndim == 0 or v.shape[0] <= self._max_index:
            raise ParameterError(
                name,
                f"groups index up to {self._max_index} along the first axis, got shape {v.shape}",
            )

    def _prox(self, v, t):
        self._check_shape(v, "v")
        if isinstance(t, np.ndarray):
            return self._prox_weighted(v, t)
        out = v.copy()
        for g, w in zip(self.groups, self.weights, strict=True):
            block = v[g]
            norm = float(np.sqrt(np.vdot(block, block).real))
            shrink = t * self.lam * w
            out[g] = 0 if norm <= shrink else block * (1.0 - shrink / norm)
        return out

    def _prox_weighted(self, v, t):
        out = v.copy()
        lam = self.lam * self.weights
        if self._rows is not None:
            rows = self._rows
            shrunk = weighted_group_shrink(
                v[rows].reshape(len(rows), -1), t[rows].reshape(len(rows), -1), lam
            )
            out[rows] = shrunk.reshape(out[rows].shape)
            return out
        for g, lam_g in zip(self.groups, lam, strict=True):
            shrunk = weighted_group_shrink(v[g].reshape(1, -1), t[g].reshape(1, -1), lam_g)
            out[g] = shrunk.reshape(out[g].shape)
        return out

    def _value(self, x):
        self._check_shape(x, "x")
        norms = np.array([np.linalg.norm(x[g].ravel()) for g in self.groups])
        return self.lam * float(self.weights @ norms)

    def _params(self):
        return {"lam": self.lam, "groups": [g.tolist() for g in self.groups]}


class _ElasticNet(ProxOperator):
    def __init__(self, l1, l2):
        self.l1 = _penalty(l1, "l1")
        self.l2 = _penalty(l2, "l2")

    def _prox(self, v, t):
        out = _soft_threshold(v, t * self.l1)
        if isinstance(t, np.ndarray):
            out /= 1.0 + t * self.l2
        else:
            out /= v.dtype.type(1.0 + t * self.l2)
        return out

    def _value(self, x):
        return self.l1 * np.abs(x).sum() + 0.5 * self.l2 * np.vdot(x, x).real

    def _params(self):
        return {"l1": self.l1, "l2": self.l2}


class _NonNeg(ProxOperator):
    def _prox(self, v, t):
        return np.maximum(v, 0)

    def _value(self, x):
        return 0.0 if np.all(x >= 0) else np.inf


class _Box(ProxOperator):
    def __init__(self, lo, hi):
        self.lo = self._bound(lo, "lo")
        self.hi = self._bound(hi, "hi")
        if np.any(np.asarray(self.lo) > np.asarray(self.hi)):
            low, high = np.broadcast_arrays(np.asarray(self.lo), np.asarray(self.hi))
            at = tuple(int(i) for i in np.argwhere(low > high)[0])
            where = f"[{', '.join(map(str, at))}]" if at else ""
            raise ValueError(
                f"lo, hi: need lo <= hi everywhere, got lo{where}={float(low[at]):g} > "
                f"hi{where}={float(high[at]):g}"
            )

    @staticmethod
    def _bound(b, name):
        if isinstance(b, numbers.Real) and not isinstance(b, bool):
            if np.isnan(b):
                raise ParameterError(name, "must be a number, got nan")
            return float(b)
        a = as_float_array(b, name)
        if np.any(np.isnan(a)):
            raise ParameterError(name, "contains NaN")
        return a

    def _prox(self, v, t):
        try:
            out = np.clip(v, self.lo, self.hi)
        except ValueError:
            raise ParameterError(
                "v", f"shape {v.shape} does not broadcast with the box bounds"
            ) from None
        if out.shape != v.shape:
            raise ParameterError("v", f"shape {v.shape} does not match the box bounds' shape")
        return out.astype(v.dtype, copy=False)

    def _value(self, x):
        inside = np.all((x >= self.lo) & (x <= self.hi))
        return 0.0 if inside else np.inf

    def _params(self):
        return {"lo": self.lo, "hi": self.hi}


class _Nuclear(ProxOperator):
    weighted = False

    def __init__(self, lam):
        self.lam = check_number(lam, "lam", low=0.0)

    def _prox(self, v, t):
        if v.ndim < 2:
            raise ParameterError("v", f"nuclear needs a matrix (ndim >= 2), got shape {v.shape}")
        u, s, vt = np.linalg.svd(v, full_matrices=False)
        s = np.maximum(s - t * self.lam, 0).astype(v.dtype, copy=False)
        return (u * s[..., None, :]) @ vt

    def _value(self, x):
        if x.ndim < 2:
            raise ParameterError("x", f"nuclear needs a matrix (ndim >= 2), got shape {x.shape}")
        return self.lam * np.linalg.svd(x, compute_uv=False).sum()

    def _params(self):
        return {"lam": self.lam}


class _L1Ball(ProxOperator):
    weighted = False

    def __init__(self, radius):
        self.radius = check_number(radius, "radius", low=0.0)

    def _prox(self, v, t):
        return project_l1_ball(v, self.radius)

    def _value(self, x):
        return 0.0 if np.abs(x).sum() <= self.radius * (1 + _rounding(x)) + 1e-300 else np.inf

    def _params(self):
        return {"radius": self.radius}


class _Simplex(ProxOperator):
    weighted = False

    def __init__(self, radius):
        self.radius = check_number(radius, "radius", low=0.0)

    def _prox(self, v, t):
        return project_simplex(v, self.radius)

    def _value(self, x):
        slack = max(1e-9, _rounding(x)) * max(self.radius, 1.0)
        on = np.all(x >= 0) and abs(float(x.sum()) - self.radius) <= slack
        return 0.0 if on else np.inf

    def _params(self):
        return {"radius": self.radius}


class _Linf(ProxOperator):
    weighted = False

    def __init__(self, lam):
        self.lam = check_number(lam, "lam", low=0.0)

    def _prox(self, v, t):
        # Moreau: prox_{t lam ||.||_inf}(v) = v - proj_{||.||_1 <= t lam}(v)
        return v - project_l1_ball(v, t * self.lam)

    def _value(self, x):
        return self.lam * float(np.abs(x).max()) if x.size else 0.0

    def _params(self):
        return {"lam": self.lam}


def l1(lam) -> ProxOperator:
    """``g(x) = lam ||x||_1``: soft thresholding ``sign(v) max(|v| - t lam, 0)``, entrywise."""
    return _L1(lam)


def l2(lam) -> ProxOperator:
    """``g(x) = lam ||x||_2`` of the whole array: ``max(0, 1 - t lam / ||v||) v``."""
    return _L2(lam)


def group_l1(lam, groups, weights=None) -> ProxOperator:
    """``g(x) = lam sum_g weights_g ||x[g]||_2``; groups index the first axis of ``x``.

    ``groups`` is a list of non-empty, disjoint index lists (overlap raises ValueError);
    indices in no group are left unpenalised. ``weights`` (one per group, default all 1;
    the Yuan & Lin 2006 choice is ``sqrt(len(g))``).
    """
    return _GroupL1(lam, groups, weights)


def elastic_net(l1, l2) -> ProxOperator:
    """``g(x) = l1 ||x||_1 + (l2 / 2) ||x||_2^2``: ``soft(v, t l1) / (1 + t l2)``."""
    return _ElasticNet(l1, l2)


def nonneg() -> ProxOperator:
    """Indicator of the non-negative orthant: ``max(v, 0)``."""
    return _NonNeg()


def box(lo, hi) -> ProxOperator:
    """Indicator of ``{lo <= x <= hi}`` (numbers or arrays broadcasting to ``v``): ``clip``."""
    return _Box(lo, hi)


def nuclear(lam) -> ProxOperator:
    """``g(X) = lam ||X||_*`` (sum of singular values): singular-value soft thresholding.

    Cai, Candès & Shen 2010. ``v`` has ``ndim >= 2``; a stack ``(..., m, n)`` is thresholded
    matrix by matrix. Cost: one thin SVD.
    """
    return _Nuclear(lam)


def l1_ball(radius) -> ProxOperator:
    """Projection onto ``{x : ||x||_1 <= radius}`` (Duchi et al. 2008); inside points stay put."""
    return _L1Ball(radius)


def simplex(radius=1.0) -> ProxOperator:
    """Projection onto ``{x : x >= 0, sum x = radius}`` (Duchi et al. 2008)."""
    return _Simplex(radius)


def linf(lam) -> ProxOperator:
    """``g(x) = lam ||x||_inf``: ``v - proj_{||.||_1 <= t lam}(v)`` by the Moreau identity."""
    return _Linf(lam)
