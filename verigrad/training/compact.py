"""The units of a trained network, their sparsity, the group prox over them, and their removal.

A *unit* is a conv filter or a linear layer's output neuron of a ``Sequential`` model, every
such layer but the last (the classes). Unit ``j`` of layer ``L`` is its incoming weights
``L.weight[j]`` and bias ``L.bias[j]``; its outgoing weights are the input channel ``j`` of the
next conv or linear layer ``N`` (``N.weight[:, j]``, or after a ``Flatten`` the block of
``N``'s columns that channel ``j`` becomes).

A unit is *removable* when deleting it and its outgoing weights leaves every output unchanged:
its incoming weights and bias are zero (its output is exactly 0; a bias <= 0 followed by a
ReLU gives 0 too), or its outgoing weights are all zero (nothing reads it). Zero is kept
through pooling (max, average, Lp of zeros are zero), so removal is exact, not approximate.

- :func:`find_units`, :func:`layer_sparsity`, :func:`weight_sparsity`,
  :func:`removable_fraction`: what ``verigrad train`` reports (``final.sparsity``,
  ``final.zero_filters``, the per-layer chart);
- :func:`apply_group_prox`: the group lasso step of ``--group-l1`` in the optimizer's metric;
- :func:`compact_model`, :func:`shrink_architecture`, :func:`compact_checkpoint`,
  :func:`load_compacted_model`: ``verigrad compact``, a smaller model with the same outputs.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from .._checks import ParameterError, check_finite, check_number
from ..io import atomic_savez
from ..nn import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, MixedPool2d, ReLU, Sequential
from ..prox.shrinkage import weighted_group_shrink
from .checkpoint import load_checkpoint, model_state, restore_model

__all__ = [
    "Unit",
    "find_units",
    "unit_zero_masks",
    "layer_sparsity",
    "weight_sparsity",
    "removable_fraction",
    "collapsed_layers",
    "apply_group_prox",
    "compact_model",
    "shrink_architecture",
    "compact_checkpoint",
    "load_compacted_model",
]


@dataclasses.dataclass(frozen=True)
class Unit:
    """A prunable layer ``index`` of a Sequential and the layer ``next_index`` reading it.

    ``block``: how many input columns of the next layer each unit feeds (1, or ``H*W`` when a
    Flatten turns a conv's channels into a linear layer's columns); ``relu``: whether a ReLU
    follows (after max/average pooling at most; then a dead unit needs only a bias <= 0).
    """

    index: int
    next_index: int
    block: int
    relu: bool


def _weighted(layer) -> bool:
    return isinstance(layer, (Conv2d, Linear))


def _relu_follows(between) -> bool:
    """Whether a ReLU comes after the layer with only max/average pooling before it: those keep
    a non-positive map non-positive, so the ReLU then makes it exactly 0."""
    for layer in between:
        if isinstance(layer, ReLU):
            return True
        if not isinstance(layer, (MaxPool2d, AvgPool2d, MixedPool2d)):
            return False
    return False


def find_units(model) -> list:
    """The prunable layers of ``model`` (see the module docstring), as :class:`Unit` records;
    empty for a model that is not a Sequential or has one weighted layer (softmax)."""
    if not isinstance(model, Sequential):
        return []
    layers = list(model)
    positions = [i for i, layer in enumerate(layers) if _weighted(layer)]
    units = []
    for here, after in zip(positions, positions[1:], strict=False):
        layer, reader = layers[here], layers[after]
        if isinstance(layer, Conv2d) and layer.groups != 1:
            continue
        if isinstance(reader, Conv2d) and reader.groups != 1:
            continue
        out = layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        width = reader.in_channels if isinstance(reader, Conv2d) else reader.in_features
        flattens = any(isinstance(m, Flatten) for m in layers[here + 1 : after])
        if isinstance(layer, Conv2d) and isinstance(reader, Linear) and flattens:
            if width % out:
                continue
            block = width // out
        elif width == out:
            block = 1
        else:
            continue
        units.append(Unit(here, after, block, _relu_follows(layers[here + 1 : after])))
    return units


def _outgoing(reader, block: int) -> np.ndarray:
    """The next layer's weights as ``(n_units, rest)``: row j is everything unit j feeds."""
    w = reader.weight.data
    if isinstance(reader, Conv2d):
        return np.moveaxis(w, 1, 0).reshape(w.shape[1], -1)
    out, cols = w.shape
    return np.moveaxis(w.reshape(out, cols // block, block), 1, 0).reshape(cols // block, -1)


def unit_zero_masks(model, unit: Unit) -> dict:
    """Per unit of ``unit``'s layer: ``dead`` (incoming weights and bias zero, or weights zero
    and bias <= 0 before a ReLU), ``unread`` (outgoing weights zero), ``removable`` (either)."""
    layer, reader = model[unit.index], model[unit.next_index]
    w = layer.weight.data.reshape(layer.weight.shape[0], -1)
    weights_zero = ~np.any(w != 0, axis=1)
    if layer.bias is None:
        dead = weights_zero
    else:
        b = layer.bias.data
        dead = weights_zero & ((b <= 0) if unit.relu else (b == 0))
    unread = ~np.any(_outgoing(reader, unit.block) != 0, axis=1)
    return {"dead": dead, "unread": unread, "removable": dead | unread}


def layer_sparsity(model) -> list:
    """One record per conv/linear layer: ``layer`` (its name in the model, e.g. ``"3"``),
    ``kind``, ``weights``, ``zero_weights`` (fraction), and for prunable layers ``units`` and
    ``zero_units`` (fraction removable); the last layer has ``units`` None."""
    records = []
    units = {u.index: u for u in find_units(model)}
    named = model._modules.items() if isinstance(model, Sequential) else []
    for i, (name, layer) in enumerate(named):
        if not _weighted(layer):
            continue
        w = layer.weight.data
        record = {
            "layer": name,
            "kind": "conv" if isinstance(layer, Conv2d) else "linear",
            "weights": int(w.size),
            "zero_weights": float(np.count_nonzero(w == 0) / w.size),
            "units": None,
            "zero_units": None,
        }
        if i in units:
            removable = unit_zero_masks(model, units[i])["removable"]
            record["units"] = int(removable.size)
            record["zero_units"] = float(removable.mean())
        records.append(record)
    return records


def weight_sparsity(model) -> float:
    """Fraction of exactly-zero entries among the weight matrices/kernels (ndim > 1)."""
    weights = [p.data for p in model.parameters() if p.ndim > 1]
    total = sum(w.size for w in weights)
    return float(sum(np.count_nonzero(w == 0) for w in weights) / total) if total else 0.0


def removable_fraction(model) -> float:
    """Fraction of the model's filters and hidden neurons (all prunable units) that are
    removable; 0 for a model without any (softmax)."""
    masks = [unit_zero_masks(model, u)["removable"] for u in find_units(model)]
    total = sum(m.size for m in masks)
    return float(sum(np.count_nonzero(m) for m in masks) / total) if total else 0.0


def collapsed_layers(model) -> list:
    """Names of the conv/linear layers whose weights are all zero (the model's output then no
    longer depends on its input: a run that reaches this has collapsed)."""
    if not isinstance(model, Sequential):
        return [] if any(np.any(p.data != 0) for p in model.parameters() if p.ndim > 1) else ["W"]
    return [
        name
        for name, layer in model._modules.items()
        if _weighted(layer) and not np.any(layer.weight.data != 0)
    ]


# ---------------------------------------------------------------------- the group prox
def apply_group_prox(model, optimizer, lam: float) -> None:
    """The group lasso step over every unit, in place, in the optimizer's metric.

    Unit ``j`` of a prunable layer is the group ``x_j = (weight[j], bias[j])`` (the bias is in
    the group, so a zeroed unit outputs exactly 0 and can be removed), penalised by
    ``lam * sqrt(|x_j|)`` (Yuan & Lin 2006: groups of different sizes penalised alike per
    parameter). With ``t`` the optimizer's per-element step of the update just taken
    (:meth:`~verigrad.optim.Optimizer.prox_step`: ``lr`` for SGD, ``lr / (sqrt(v_hat) + eps)``
    for Adam), each group becomes the exact weighted block soft threshold
    ``argmin_x lam_j ||x||_2 + sum_i (x_i - v_i)^2 / (2 t_i)``
    (:func:`verigrad.prox.shrinkage.weighted_group_shrink`): zero exactly when
    ``||v_j / t_j||_2 <= lam_j``, else ``x_i = v_i r / (r + lam_j t_i)``. The per-group scalar
    that decides a unit's fate is thus ``||v_j / t_j||_2``, the group's norm in the metric.
    Applied after the optimizer's own prox (``--l1``), this is the exact prox of the sum
    (the sparse group lasso's composition holds in any diagonal metric).
    """
    for unit in find_units(model):
        layer = model[unit.index]
        w, b = layer.weight, layer.bias
        rows = w.shape[0]
        parts_v = [w.data.reshape(rows, -1)]
        parts_t = [np.broadcast_to(optimizer.prox_step(w), w.shape).reshape(rows, -1)]
        if b is not None:
            parts_v.append(b.data[:, None])
            parts_t.append(np.broadcast_to(optimizer.prox_step(b), b.shape)[:, None])
        V = np.concatenate(parts_v, axis=1)
        T = np.concatenate(parts_t, axis=1)
        shrunk = weighted_group_shrink(V, T, lam * np.sqrt(V.shape[1])).astype(w.dtype)
        w.data[...] = shrunk[:, : parts_v[0].shape[1]].reshape(w.shape)
        if b is not None:
            b.data[...] = shrunk[:, -1]


# ---------------------------------------------------------------------- removal
def _resized(layer, *, out=None, inputs=None):
    """A copy of a Conv2d/Linear with ``out`` outputs and ``inputs`` inputs (weights zero)."""
    dtype = layer.weight.dtype
    bias = layer.bias is not None
    if isinstance(layer, Conv2d):
        return Conv2d(
            layer.in_channels if inputs is None else inputs,
            layer.out_channels if out is None else out,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            bias=bias,
            rng=0,
            dtype=dtype,
        )
    return Linear(
        layer.in_features if inputs is None else inputs,
        layer.out_features if out is None else out,
        bias=bias,
        rng=0,
        dtype=dtype,
    )


def shrink_architecture(model, widths: dict):
    """``model`` (a Sequential, changed in place and returned) with layer ``i`` resized to
    ``widths[str(i)]`` units and the layer reading it to match (weights not kept: load a
    state dict next). ``widths`` is what :func:`compact_model` records."""
    for unit in find_units(model):
        key = str(unit.index)
        if key not in widths:
            continue
        n = int(widths[key])
        # assigned in the ordered table itself: setattr would move the layer to the end
        layers = model._modules
        layers[key] = _resized(model[unit.index], out=n)
        reader_key = str(unit.next_index)
        layers[reader_key] = _resized(model[unit.next_index], inputs=n * unit.block)
    return model


def compact_model(model):
    """``(smaller, widths)``: a new model without the removable units of ``model`` and the
    inputs of the next layers that read them; its outputs equal ``model``'s to float rounding
    (the removed units contribute exactly zero). ``widths`` maps each shrunk layer's name to
    its units. At least one unit of a layer is kept."""
    import copy

    units = find_units(model)
    keeps = {}
    for unit in units:
        removable = unit_zero_masks(model, unit)["removable"]
        keep = ~removable
        if not keep.any():
            keep[0] = True
        keeps[unit.index] = keep
    smaller = copy.deepcopy(model)
    widths = {str(i): int(k.sum()) for i, k in keeps.items() if not k.all()}
    shrink_architecture(smaller, widths)
    state = {}
    for name, value in model.state_dict().items():
        state[name] = np.asarray(value)
    for unit in units:
        keep = keeps[unit.index]
        i, n = str(unit.index), str(unit.next_index)
        state[f"{i}.weight"] = state[f"{i}.weight"][keep]
        if f"{i}.bias" in state:
            state[f"{i}.bias"] = state[f"{i}.bias"][keep]
        w = state[f"{n}.weight"]
        if isinstance(model[unit.next_index], Conv2d):
            state[f"{n}.weight"] = w[:, keep]
        else:
            cols = np.repeat(keep, unit.block)
            state[f"{n}.weight"] = w[:, cols]
    smaller.load_state_dict(state)
    return smaller.eval(), widths


#: the checkpoint meta key holding the compacted widths (see :func:`compact_checkpoint`)
WIDTHS_KEY = "compacted_widths"


def compact_checkpoint(path, out) -> dict:
    """Write the compacted model of the checkpoint ``path`` to ``out`` (a ``.npz``).

    ``out`` is a checkpoint of the same format with ``model/`` entries of the smaller shapes,
    no optimizer or scheduler state (it is for inference, not for resuming), and the meta of
    the original plus ``compacted_widths`` (layer name -> units kept) and ``compacted_from``.
    :func:`load_compacted_model` reads it (as does ``load_model`` once it rebuilds
    ``compacted_widths``). Returns ``{"model": original, "compact": smaller, "widths": ...}``.
    """
    arrays, meta = load_checkpoint(path)
    if meta.get(WIDTHS_KEY):
        model = load_compacted_model(path)
    else:
        model = restore_model(arrays, meta)
    smaller, widths = compact_model(model)
    new_meta = dict(meta)
    new_meta[WIDTHS_KEY] = {**meta.get(WIDTHS_KEY, {}), **widths}
    new_meta["compacted_from"] = os.path.abspath(os.fspath(path))
    entries = {f"model/{k}": np.asarray(v) for k, v in smaller.state_dict().items()}
    entries["meta"] = np.array(json.dumps(new_meta))
    out = os.fspath(out)
    if not out.endswith(".npz"):
        raise ParameterError("out", f"the compacted checkpoint is an .npz file, got {out}")
    atomic_savez(out, **entries)
    return {"model": model, "compact": smaller, "widths": new_meta[WIDTHS_KEY]}


def load_compacted_model(path):
    """The model of a checkpoint written by :func:`compact_checkpoint` (or of an ordinary one),
    in eval mode."""
    arrays, meta = load_checkpoint(path)
    widths = meta.get(WIDTHS_KEY)
    if not widths:
        return restore_model(arrays, meta)
    from ..nn.models import build_model

    config = meta["config"]
    model = build_model(
        config["model"], tuple(meta["input_shape"]), meta["n_classes"], config["pool"], rng=0
    )
    shrink_architecture(model, widths)
    model.load_state_dict(model_state(arrays))
    return model.eval()


def check_penalty(value, name: str) -> float:
    """A sparsity penalty: a finite number >= 0 (errors name ``name``)."""
    return check_finite(check_number(value, name, 0.0), name)
