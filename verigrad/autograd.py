"""The autograd engine under :class:`~verigrad.tensor.Tensor`: whether operations are recorded,
and the walk over the recorded graph.

A recorded result keeps ``_parents`` (the tensors it was computed from) and ``_backward``, a
closure ``g -> (g_parent_0, g_parent_1, ...)`` mapping the gradient of the final scalar with
respect to the result to its gradient with respect to each parent (a vector-Jacobian
product). This module knows nothing else about tensors: it reads those two attributes and
``requires_grad``, so it sits below :mod:`verigrad.tensor` and never imports it.

* :class:`no_grad` / :class:`enable_grad` switch recording off and on (per thread).
* :func:`topological_order` lists a graph parents-first by an iterative depth-first search,
  so a chain of 100,000 operations does not hit Python's recursion limit.
* :func:`backpropagate` is the chain rule applied backwards: it visits the nodes in reverse
  topological order, handing each its gradient, the sum of the contributions that reached it
  along different paths (``b = a + a; c = b + b`` gives ``dc/da = 4``), then passes it on
  through the node's closure. ``Tensor.backward`` adds what reaches a leaf into its
  ``.grad``, so gradients accumulate across calls exactly as in PyTorch.
"""

from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "topological_order", "backpropagate"]


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded for backward."""
    return _grad_mode.enabled


class no_grad:
    """Context manager (and decorator) that stops recording operations.

    Inside ``with no_grad():`` every result has ``requires_grad=False`` and keeps no parents, so
    evaluation code builds no graph and holds no intermediate arrays alive.
    """

    _enable = False

    def __enter__(self):
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self._enable
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Context manager that turns recording back on inside a ``no_grad`` block."""

    _enable = True


def topological_order(root, requiring_grad: bool = True) -> list:
    """Nodes reachable from ``root``, parents before children (``root`` last).

    Iterative post-order depth-first search: no recursion, so graph depth is unbounded. With
    ``requiring_grad`` (what backward walks) constants are left out; without it every node is
    listed, parents in argument order (what a printed graph shows).
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(node._parents):
            if (parent.requires_grad or not requiring_grad) and id(parent) not in visited:
                stack.append((parent, False))
    return order


def backpropagate(root, grad, visit) -> None:
    """Apply the chain rule backwards from ``root``, calling ``visit(node, g)`` once for every
    node on a path from a grad-requiring input, children before parents.

    ``grad`` is the gradient of the objective with respect to ``root`` (an array of its shape,
    already checked). ``g`` is the gradient with respect to ``node``, complete when visited:
    every path into the node has been summed. ``visit`` returns the gradient to pass on
    through the node's ``_backward`` to its parents: ``g`` itself, or ``g`` converted (to the
    node's dtype, say); a ``None`` from the closure (an input that needs no gradient) is
    skipped. ``visit`` may keep ``g`` but must not modify it in place: a closure may hand the
    same array to several parents.
    """
    grads = {id(root): grad}
    for node in reversed(topological_order(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        g = visit(node, g)
        if node._backward is None:
            continue
        for parent, parent_grad in zip(node._parents, node._backward(g), strict=True):
            if parent_grad is None or not parent.requires_grad:
                continue
            previous = grads.get(id(parent))
            grads[id(parent)] = parent_grad if previous is None else previous + parent_grad
