"""Section 3: the chain rule on ``f(x, y) = (x^2 + sigmoid(y)) / (3x + y - sigmoid(x))``.

Forward, with ``s = sigmoid``::

    u = x^2 + s(y)          (numerator)
    v = 3x + y - s(x)       (denominator)
    f = u / v

Backward (the chain rule, one intermediate at a time)::

    df/du = 1/v,   df/dv = -u/v^2
    du/dx = 2x,    du/dy = s(y)(1 - s(y))
    dv/dx = 3 - s(x)(1 - s(x)),   dv/dy = 1
    df/dx = df/du du/dx + df/dv dv/dx
    df/dy = df/du du/dy + df/dv dv/dy

At ``(1, 0)``: ``f = 0.6611``, ``df/dx = 0.0646``, ``df/dy = -0.1812``.
"""

from __future__ import annotations

import math

from .. import functional as F
from ..gradcheck import numerical_gradient
from ..tensor import Tensor, topological_order
from .record import Answer

__all__ = ["answers", "f", "chain_rule_by_hand", "graph_lines"]


def f(x, y):
    """The function of the question on Tensors."""
    return (x * x + F.sigmoid(y)) / (3 * x + y - F.sigmoid(x))


def chain_rule_by_hand(x: float, y: float):
    """Forward intermediates and the backward sweep in plain floats.

    Returns ``(f, df/dx, df/dy, lines)`` where ``lines`` write out every step.
    """
    sx, sy = 1 / (1 + math.exp(-x)), 1 / (1 + math.exp(-y))
    u = x * x + sy
    v = 3 * x + y - sx
    value = u / v
    df_du, df_dv = 1 / v, -u / v**2
    du_dx, du_dy = 2 * x, sy * (1 - sy)
    dv_dx, dv_dy = 3 - sx * (1 - sx), 1.0
    df_dx = df_du * du_dx + df_dv * dv_dx
    df_dy = df_du * du_dy + df_dv * dv_dy
    lines = [
        "forward:",
        f"  s(x) = sigmoid({x:g}) = {sx:.4f},  s(y) = sigmoid({y:g}) = {sy:.4f}",
        f"  u = x^2 + s(y) = {u:.4f}",
        f"  v = 3x + y - s(x) = {v:.4f}",
        f"  f = u / v = {value:.4f}",
        "backward:",
        f"  df/du = 1/v = {df_du:.4f},   df/dv = -u/v^2 = {df_dv:.4f}",
        f"  du/dx = 2x = {du_dx:.4f},   du/dy = s(y)(1 - s(y)) = {du_dy:.4f}",
        f"  dv/dx = 3 - s(x)(1 - s(x)) = {dv_dx:.4f},   dv/dy = 1",
        f"  df/dx = df/du du/dx + df/dv dv/dx = {df_du:.4f}*{du_dx:.4f} + ({df_dv:.4f})*{dv_dx:.4f}"
        f" = {df_dx:.4f}",
        f"  df/dy = df/du du/dy + df/dv dv/dy = {df_du:.4f}*{du_dy:.4f} + ({df_dv:.4f})*1"
        f" = {df_dy:.4f}",
    ]
    return value, df_dx, df_dy, lines


def graph_lines(root: Tensor, names: dict) -> list:
    """The computation graph under ``root``: one line per node, inputs before results.

    Uses the engine's own :func:`~verigrad.tensor.topological_order`; ``names`` maps ``id(tensor)`` to a label for the leaves.
    """
    order = topological_order(root, requiring_grad=False)
    labels, lines = {}, []
    for node in order:
        if not node._parents:
            labels[id(node)] = names.get(id(node), f"{float(node.data):g}")
            if id(node) in names:
                lines.append(f"  {labels[id(node)]} = {float(node.data):.4f}   (input)")
            continue
        label = f"t{len([k for k in labels.values() if k.startswith('t')]) + 1}"
        labels[id(node)] = label
        args = ", ".join(labels[id(p)] for p in node._parents)
        lines.append(f"  {label} = {node._op}({args}) = {float(node.data):.4f}")
    return lines


def answers() -> list:
    x0, y0 = 1.0, 0.0
    x, y = Tensor(x0, requires_grad=True), Tensor(y0, requires_grad=True)
    out = f(x, y)
    out.backward()
    auto = (float(out.item()), float(x.grad), float(y.grad))
    hand_f, hand_dx, hand_dy, hand_lines = chain_rule_by_hand(x0, y0)
    fd_dx, fd_dy = numerical_gradient(f, x0, y0)
    expected = (0.6611, 0.0646, -0.1812)
    rounded = tuple(round(v, 4) for v in auto)
    diffs = max(abs(auto[0] - hand_f), abs(auto[1] - hand_dx), abs(auto[2] - hand_dy))
    fd_diff = max(abs(auto[1] - float(fd_dx)), abs(auto[2] - float(fd_dy)))
    passed = rounded == expected and diffs < 1e-14 and fd_diff < 1e-8
    work = ["computation graph (verigrad Tensor graph, `_op` of each node):"]
    work += graph_lines(out, {id(x): "x", id(y): "y"})
    work += hand_lines
    work += [
        f"autograd:            f = {auto[0]:.6f}, df/dx = {auto[1]:.6f}, df/dy = {auto[2]:.6f}",
        f"hand chain rule:     f = {hand_f:.6f}, df/dx = {hand_dx:.6f}, df/dy = {hand_dy:.6f}",
        f"finite differences:  df/dx = {float(fd_dx):.6f}, df/dy = {float(fd_dy):.6f}",
    ]
    return [
        Answer(
            3,
            "3",
            "f(x, y) = (x^2 + sigmoid(y)) / (3x + y - sigmoid(x)): partials at (1, 0)",
            f"f = {rounded[0]:.4f}, df/dx = {rounded[1]:.4f}, df/dy = {rounded[2]:.4f}",
            f"autograd = hand-written chain rule (max |diff| {diffs:.1e}) = central finite "
            f"differences (max |diff| {fd_diff:.1e})",
            bool(passed),
            work,
            {
                "f": auto[0],
                "df_dx": auto[1],
                "df_dy": auto[2],
                "hand": [hand_f, hand_dx, hand_dy],
                "finite_differences": [float(fd_dx), float(fd_dy)],
            },
        )
    ]
