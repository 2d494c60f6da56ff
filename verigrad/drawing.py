"""The computation graph as a picture: every node with its operation, value and gradient.

Micrograd's ``draw_dot`` in verigrad's terms, with matplotlib only (no Graphviz binary):

* :func:`graph_data` walks the graph under a result (the engine's own
  :func:`~verigrad.tensor.topological_order`) and runs the same reverse sweep as
  ``backward``, keeping the gradient at *every* node (``backward`` keeps it on leaves only).
  Nothing on the tensors is changed: no ``.grad`` is written.
* :func:`layout` places the nodes left to right: a node one column right of its furthest
  input, an input one column left of its first consumer, rows ordered by a few barycentre
  sweeps so edges rarely cross.
* :func:`render` draws the boxes and arrows and returns PNG or SVG bytes; :func:`draw_graph`
  writes them to a file (``Tensor.draw(path)`` calls it).

Large graphs are summarised, never drawn as a hairball: beyond ``max_nodes`` only the nodes
nearest the output are kept and everything further upstream becomes one ``…`` node that says
how many nodes it stands for; the picture carries a note saying so.

Layering: this module is the tensor's sibling (``verigrad.tensor : verigrad.drawing``); it
imports only :mod:`verigrad.tensor`, :mod:`verigrad.autograd`, :mod:`verigrad._checks` and,
lazily, matplotlib.
"""

from __future__ import annotations

import io
import os
from collections import deque
from dataclasses import dataclass

import numpy as np

from ._checks import MissingFileError, ParameterError, ParameterTypeError, check_int
from .autograd import backpropagate
from .tensor import Tensor, topological_order

__all__ = [
    "GraphNode",
    "GraphData",
    "MAX_NODES",
    "FORMATS",
    "graph_data",
    "NonFinite",
    "first_non_finite",
    "Layout",
    "layout",
    "format_value",
    "render",
    "draw_graph",
]

#: nodes drawn before the rest of the graph is summarised as one ``…`` node
MAX_NODES = 30
#: the file formats :func:`render` writes
FORMATS = ("png", "svg")
_HIDDEN_OP = "…"


@dataclass(frozen=True)
class GraphNode:
    """One node of the drawn graph.

    ``op`` is the operation that made it (``"add"``, ``"softmax"``, ...), ``""`` for a leaf and
    ``"…"`` for the summary of hidden upstream nodes (``hidden`` counts them). ``name`` is the
    caller's label for a leaf (``"x"``). ``value`` is the forward result; ``grad`` the gradient
    of the output with respect to this node (same shape as ``value``), None where no gradient
    flows (constants, the summary node, an output that does not require grad).
    """

    index: int
    op: str
    name: str
    value: np.ndarray
    grad: np.ndarray | None
    requires_grad: bool
    hidden: int = 0

    @property
    def is_leaf(self) -> bool:
        return self.op == ""

    @property
    def label(self) -> str:
        """The title of the node's box: its name, its operation, or ``const``/``input``."""
        if self.op == _HIDDEN_OP:
            return f"… {self.hidden} more nodes"
        if self.name:
            return self.name
        if self.op:
            return self.op
        return "input" if self.requires_grad else "const"


@dataclass(frozen=True)
class GraphData:
    """The graph behind a picture: ``nodes`` in topological order (inputs first, output last),
    ``edges`` as ``(parent, child)`` node indices, one per argument (``x * x`` gives two),
    ``root`` the output's index, ``total`` the size of the whole graph and ``hidden`` how
    many of its nodes the summary node stands for (0 when everything is shown)."""

    nodes: tuple
    edges: tuple
    root: int
    total: int
    hidden: int = 0

    def node_named(self, name: str) -> GraphNode:
        """The leaf labelled ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise ParameterError("name", f"no node is named {name!r}")

    def nodes_with_op(self, op: str) -> list:
        return [node for node in self.nodes if node.op == op]

    @property
    def note(self) -> str:
        """One sentence saying what the picture leaves out ('' when nothing)."""
        if not self.hidden:
            return ""
        shown = len(self.nodes) - 1
        return (
            f"showing the {shown} nodes nearest the output of {self.total}; the other "
            f"{self.hidden} are summarised in the '…' node"
        )


# ---------------------------------------------------------------------------- the data
def _names_by_id(names) -> dict:
    if names is None:
        return {}
    if not hasattr(names, "items"):
        raise ParameterTypeError(
            "names", f"expected a mapping of label -> Tensor, got {type(names).__name__}"
        )
    out = {}
    for label, node in names.items():
        if not isinstance(label, str) or not isinstance(node, Tensor):
            raise ParameterTypeError(
                "names",
                f"expected a mapping of label (str) -> Tensor, got {label!r}: "
                f"{type(node).__name__}",
            )
        out[id(node)] = label
    return out


def _gradients(root: Tensor, grad) -> dict:
    """``id(node) -> d root / d node`` for every node on a path to a grad-requiring input:
    backward's sweep, keeping the intermediate gradients instead of only the leaves'."""
    if not root.requires_grad:
        return {}
    if grad is None:
        if root.data.size != 1:
            raise ParameterError(
                "grad", f"the output has shape {root.shape}: give the gradient to start from"
            )
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise ParameterError(
                "grad", f"shape {grad.shape} does not match the output's {root.shape}"
            )
    done = {}

    def keep(node, g):
        done[id(node)] = np.array(g, dtype=node.data.dtype)  # a broadcast view made whole
        return g

    backpropagate(root, grad, keep)
    return done


def _nearest(order: list, root: Tensor, limit: int) -> set:
    """The ids of the ``limit`` nodes nearest ``root`` (breadth first over parents)."""
    kept, queue = {id(root)}, deque([root])
    while queue and len(kept) < limit:
        node = queue.popleft()
        for parent in node._parents:
            if id(parent) not in kept and len(kept) < limit:
                kept.add(id(parent))
                queue.append(parent)
    return kept


def graph_data(root: Tensor, names=None, grad=None, max_nodes=None) -> GraphData:
    """The nodes and edges of the graph that computed ``root``, with values and gradients.

    The gradient at each node equals what ``backward`` would leave in ``.grad`` of that node
    (with ``retain_grad`` on the intermediate ones); the tensors themselves are not changed.

    Parameters
    ----------
    root : Tensor
        The output (a scalar unless ``grad`` is given).
    names : mapping of str -> Tensor, optional
        Labels for inputs (``{"x": x, "y": y}``); other leaves read ``input`` or ``const``.
    grad : array_like, optional
        The gradient to start the sweep from (default 1 for a scalar output).
    max_nodes : int, optional
        Keep at most this many nodes (the ones nearest the output, breadth first) and
        summarise the rest as one ``…`` node; default: keep all.
    """
    if not isinstance(root, Tensor):
        raise ParameterTypeError("root", f"expected a Tensor, got {type(root).__name__}")
    labels = _names_by_id(names)
    if max_nodes is not None:
        max_nodes = check_int(max_nodes, "max_nodes", low=2)
    order = topological_order(root, requiring_grad=False)
    grads = _gradients(root, grad)
    total = len(order)
    kept = {id(n) for n in order}
    if max_nodes is not None and total > max_nodes:
        kept = _nearest(order, root, max_nodes - 1)  # one box for the summary

    nodes, index = [], {}
    hidden = total - len(kept)
    if hidden:
        nodes.append(GraphNode(0, _HIDDEN_OP, "", np.empty(0), None, False, hidden))
    for node in order:
        if id(node) not in kept:
            continue
        index[id(node)] = len(nodes)
        nodes.append(
            GraphNode(
                len(nodes),
                node._op if node._parents else "",
                labels.get(id(node), ""),
                node.data,
                grads.get(id(node)),
                node.requires_grad,
            )
        )
    edges, cut = [], set()
    for node in order:
        if id(node) not in kept:
            continue
        for parent in node._parents:
            if id(parent) in kept:
                edges.append((index[id(parent)], index[id(node)]))
            elif id(node) not in cut:  # one arrow from the summary per cut node
                cut.add(id(node))
                edges.append((0, index[id(node)]))
    return GraphData(tuple(nodes), tuple(edges), index[id(root)], total, hidden)


@dataclass(frozen=True)
class NonFinite:
    """Where a graph first stops being finite: ``node`` holds a NaN or an infinity in its
    ``what`` (``"value"`` or ``"gradient"``); ``inputs`` are the names of the labelled leaves
    upstream of it (the ones a different point would change)."""

    node: GraphNode
    what: str
    inputs: tuple

    def describe(self) -> str:
        """``"the value of log is nan"``: one phrase for a message."""
        array = self.node.value if self.what == "value" else self.node.grad
        bad = np.asarray(array, dtype=np.float64)
        bad = bad[~np.isfinite(bad)].reshape(-1)
        title = self.node.name or self.node.op or self.node.label
        count = "" if np.size(array) == 1 else f" ({bad.size} of {np.size(array)} entries)"
        return f"the {self.what} of {title} is {float(bad[0])}{count}"


def first_non_finite(data: GraphData) -> NonFinite | None:
    """The node where ``data`` first holds a NaN or an infinity, None if nowhere.

    Values are searched inputs first and gradients output first (the directions each flows),
    so the node found is where the trouble starts: ``log(x)`` at ``x = -1`` gives the value of
    ``log``; ``sqrt(x)`` at ``x = 0`` the gradient at ``x``. The summary node of a summarised
    graph holds nothing: draw with ``max_nodes=None`` to search every node.
    """
    parents = {}
    for parent, child in data.edges:
        parents.setdefault(child, []).append(parent)

    def inputs(index):
        seen, stack = {index}, [index]
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return tuple(sorted(data.nodes[i].name for i in seen if data.nodes[i].name))

    def finite(array):
        return array is None or bool(np.all(np.isfinite(np.asarray(array, dtype=np.float64))))

    for node in data.nodes:
        if not finite(node.value):
            return NonFinite(node, "value", inputs(node.index))
    for node in reversed(data.nodes):
        if not finite(node.grad):
            return NonFinite(node, "gradient", inputs(node.index))
    return None


# ---------------------------------------------------------------------------- the layout
@dataclass(frozen=True)
class Layout:
    """Where things go: ``position[node index] = (column, row)``; ``routes[k]`` the points an
    edge ``data.edges[k]`` passes through from its parent to its child (one per column it
    crosses, so a long edge runs in the channel between boxes instead of under them);
    ``copies`` holds ``(node index, (column, row))`` for each extra drawing of an input that
    is used in several columns."""

    position: dict
    routes: tuple
    copies: tuple = ()


def layout(data: GraphData) -> Layout:
    """Place the nodes left to right from inputs to the output (a layered, Sugiyama-style
    layout in a few lines).

    An operation sits one column right of its furthest parent; a leaf one column left of its
    nearest consumer (so a constant ``3`` sits beside the product it enters, not at the far
    left). An edge spanning several columns gets a waypoint in each column between, and rows
    within a column (nodes and waypoints together) follow four barycentre sweeps: the average
    row of the neighbours in the previous column, then in the next. Rows are centred on 0.
    """
    parents = {n.index: [] for n in data.nodes}
    children = {n.index: [] for n in data.nodes}
    for p, c in data.edges:
        parents[c].append(p)
        children[p].append(c)
    column = {}
    for node in data.nodes:  # topological order: parents first
        ps = parents[node.index]
        column[node.index] = 1 + max(column[p] for p in ps) if ps else 0
    for node in reversed(data.nodes):  # sources move right, next to their first consumer
        if not parents[node.index] and children[node.index]:
            column[node.index] = min(column[c] for c in children[node.index]) - 1
    low = min(column.values())
    column = {k: v - low for k, v in column.items()}

    # an input used in several columns is drawn again beside each later consumer:
    # copies ("c", node, column) instead of long edges across the picture
    copies = {}
    for node in data.nodes:
        if parents[node.index] or node.op == _HIDDEN_OP:
            continue
        for col in sorted({column[c] for c in children[node.index]})[1:]:
            copies[(node.index, col)] = ("c", node.index, col - 1)
            column[("c", node.index, col - 1)] = col - 1

    # waypoints: ("w", edge number, column); a chain parent -> w... -> child
    before = {key: [] for key in column}  # neighbours one column left
    after = {key: [] for key in column}
    chains = []
    for k, (p, c) in enumerate(data.edges):
        p = copies.get((p, column[c]), p)
        chain = [p] + [("w", k, col) for col in range(column[p] + 1, column[c])] + [c]
        for key in chain[1:-1]:
            column[key] = key[2]
            before[key], after[key] = [], []
        for a, b in zip(chain, chain[1:], strict=False):
            after[a].append(b)
            before[b].append(a)
        chains.append(chain)

    n_columns = max(column.values()) + 1
    columns = [[] for _ in range(n_columns)]
    for key in column:  # nodes in topological order, then waypoints in edge order
        columns[column[key]].append(key)
    row = {key: float(r) for members in columns for r, key in enumerate(members)}

    def sweep(members, neighbours):
        def key(member):
            near = [row[j] for j in neighbours[member]]
            return sum(near) / len(near) if near else row[member]

        members.sort(key=key)
        for r, member in enumerate(members):
            row[member] = float(r)

    for _ in range(4):
        for members in columns[1:]:
            sweep(members, before)
        for members in reversed(columns[:-1]):
            sweep(members, after)
    for members in columns:
        shift = (len(members) - 1) / 2
        for member in members:
            row[member] -= shift
    position = {n.index: (float(column[n.index]), row[n.index]) for n in data.nodes}
    routes = tuple(tuple((float(column[key]), row[key]) for key in chain) for chain in chains)
    repeated = tuple((key[1], (float(column[key]), row[key])) for key in copies.values())
    return Layout(position, routes, repeated)


# ---------------------------------------------------------------------------- the picture
def format_value(value, digits: int = 4) -> str:
    """A value in a few characters: a number, a short vector, or shape and range."""
    if value is None:
        return "—"
    array = np.asarray(value)
    if array.size == 0:
        return "—"
    array = array.astype(np.float64) + 0.0  # + 0.0: no negative zeros in the picture
    if array.size == 1:
        return f"{float(array.reshape(-1)[0]):.{digits}g}"
    if array.ndim == 1 and array.size <= 3:
        return "[" + ", ".join(f"{float(v):.3g}" for v in array) + "]"
    shape = "×".join(str(n) for n in array.shape) if array.ndim > 1 else f"{array.size}-vector"
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return f"{shape}, not finite"
    return f"{shape} in [{float(finite.min()):.3g}, {float(finite.max()):.3g}]"


_COLOURS = {
    "input": "#cfe2ff",  # a leaf that requires grad
    "const": "#e9ecef",
    "op": "#fff3cd",
    "output": "#d1e7dd",
    "hidden": "#f8d7da",
}


def _colour(node: GraphNode, root: int) -> str:
    if node.op == _HIDDEN_OP:
        return _COLOURS["hidden"]
    if node.index == root:
        return _COLOURS["output"]
    if node.is_leaf:
        return _COLOURS["input" if node.requires_grad else "const"]
    return _COLOURS["op"]


def render(data: GraphData, format: str = "png", title: str = "", dpi: int = 120) -> bytes:
    """The picture of ``data`` as PNG or SVG bytes (matplotlib, no Graphviz).

    Each box reads its operation (or name), ``value`` and ``grad``; arrows run from each
    argument to the operation that used it (a repeated argument, ``x * x``, gets two arcs).
    """
    if not isinstance(data, GraphData):
        raise ParameterTypeError("data", f"expected GraphData, got {type(data).__name__}")
    if format not in FORMATS:
        raise ParameterError("format", f"must be one of {FORMATS}, got {format!r}")
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    place = layout(data)
    box_w, box_h, col_gap, row_gap = 2.7, 1.05, 3.7, 1.45
    points = list(place.position.values()) + [p for route in place.routes for p in route]
    points += [p for _, p in place.copies]
    xs = [c * col_gap for c, _ in points]
    ys = [-r * row_gap for _, r in points]
    width = max(xs) - min(xs) + box_w + 0.6
    height = max(ys) - min(ys) + box_h + 0.6
    note = data.note
    top_pad = (0.55 if title else 0) + (0.45 if note else 0)
    scale = 0.72  # inches per layout unit
    fig = Figure(figsize=(max(width * scale, 3.5), (height + top_pad) * scale))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(min(xs) - box_w / 2 - 0.3, max(xs) + box_w / 2 + 0.3)
    ax.set_ylim(min(ys) - box_h / 2 - 0.3, max(ys) + box_h / 2 + 0.3 + top_pad)
    ax.axis("off")

    def at(point):
        return point[0] * col_gap, -point[1] * row_gap

    centre = {i: at(p) for i, p in place.position.items()}
    multiplicity = {}
    for edge in data.edges:
        multiplicity[edge] = multiplicity.get(edge, 0) + 1
    drawn = {}
    style = {"arrowstyle": "-|>", "mutation_scale": 12, "color": "#495057", "linewidth": 1.0}
    for edge, route in zip(data.edges, place.routes, strict=True):
        (x0, y0), (x1, y1) = at(route[0]), at(route[-1])
        if len(route) == 2:  # neighbouring columns: a straight arrow, arcs for x * x
            k = drawn.get(edge, 0)
            drawn[edge] = k + 1
            m = multiplicity[edge]
            rad = 0.0 if m == 1 else 0.25 * (k - (m - 1) / 2)
            arrow = FancyArrowPatch(
                (x0 + box_w / 2, y0),
                (x1 - box_w / 2, y1),
                connectionstyle=f"arc3,rad={rad}",
                shrinkA=0,
                shrinkB=1,
                **style,
            )
        else:  # through the channel of each column it crosses
            vertices = [(x0 + box_w / 2, y0)]
            for waypoint in route[1:-1]:
                wx, wy = at(waypoint)
                vertices += [(wx - box_w / 2, wy), (wx + box_w / 2, wy)]
            vertices.append((x1 - box_w / 2, y1))
            codes = [Path.MOVETO] + [Path.LINETO] * (len(vertices) - 1)
            arrow = FancyArrowPatch(path=Path(vertices, codes), **style)
        ax.add_patch(arrow)
    boxes = [(node, centre[node.index], False) for node in data.nodes]
    boxes += [(data.nodes[i], at(p), True) for i, p in place.copies]
    for node, (x, y), copy in boxes:
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=_colour(node, data.root),
                edgecolor="#343a40",
                linewidth=1.0,
                linestyle="--" if copy else "-",
            )
        )
        if node.op == _HIDDEN_OP:
            ax.text(x, y, f"…\n{node.hidden} more nodes", ha="center", va="center", fontsize=8)
            continue
        label = node.label + (" (again)" if copy else "")
        ax.text(x, y + 0.28, label, ha="center", va="center", fontsize=9, weight="bold")
        ax.text(x, y, f"value {format_value(node.value)}", ha="center", va="center", fontsize=7.5)
        ax.text(
            x, y - 0.28, f"grad {format_value(node.grad)}", ha="center", va="center", fontsize=7.5
        )
    top = max(ys) + box_h / 2 + 0.3
    if title:
        plain = title.replace("$", r"\$")  # never read as matplotlib mathtext
        ax.text(min(xs) - box_w / 2, top + top_pad - 0.3, plain, fontsize=10, va="center")
    if note:
        ax.text(
            min(xs) - box_w / 2,
            top + 0.2,
            "Note: " + note,
            fontsize=8,
            style="italic",
            color="#842029",
            va="center",
        )
    buffer = io.BytesIO()
    with rc_context({"svg.hashsalt": "verigrad", "svg.fonttype": "path"}):
        fig.savefig(
            buffer, format=format, dpi=dpi, metadata={"Date": None} if format == "svg" else None
        )
    return buffer.getvalue()


def draw_graph(
    root: Tensor, path, names=None, grad=None, max_nodes: int = MAX_NODES, title: str = ""
) -> GraphData:
    """Draw the graph under ``root`` to ``path`` (``.png`` or ``.svg``); return its data.

    See :func:`graph_data` for ``names``, ``grad`` and ``max_nodes`` and :func:`render` for
    the picture.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise ParameterError("path", f"must end in .png or .svg, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MissingFileError("path", f"directory {directory} does not exist")
    data = graph_data(root, names=names, grad=grad, max_nodes=max_nodes)
    picture = render(data, suffix, title=title)
    with open(path, "wb") as fh:
        fh.write(picture)
    return data
