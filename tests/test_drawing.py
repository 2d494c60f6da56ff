"""The graph picture: the data behind it against autograd, the layout, the files, the command."""

from __future__ import annotations

import numpy as np
import pytest

import verigrad.functional as F
from verigrad import Tensor
from verigrad._checks import MissingFileError, ParameterError, ParameterTypeError
from verigrad.cli import main
from verigrad.drawing import (
    GraphData,
    draw_graph,
    first_non_finite,
    format_value,
    graph_data,
    layout,
    render,
)
from verigrad.formula import evaluate, parse
from verigrad.tensor import topological_order


def chain_rule_f(x, y):
    return (x**2 + F.sigmoid(y)) / (3 * x + y - F.sigmoid(x))


def backward_everywhere(root):
    """The reference: the engine's own backward with every intermediate retained."""
    order = topological_order(root, requiring_grad=False)
    for node in order:
        if node.requires_grad:
            node.retain_grad()
    root.backward()
    return order


def assert_matches_autograd(data: GraphData, order: list):
    assert len(data.nodes) == len(order) and data.hidden == 0
    for node, reference in zip(data.nodes, order, strict=True):
        assert node.op == (reference._op if reference._parents else "")
        np.testing.assert_array_equal(node.value, reference.data)
        if reference.requires_grad:
            np.testing.assert_allclose(node.grad, reference.grad, rtol=1e-12, atol=1e-15)
        else:
            assert node.grad is None


def test_chain_rule_graph_matches_autograd():
    x, y = Tensor(1.0, requires_grad=True), Tensor(0.0, requires_grad=True)
    data = graph_data(chain_rule_f(x, y), names={"x": x, "y": y})
    assert x.grad is None and y.grad is None  # graph_data writes no .grad

    x2, y2 = Tensor(1.0, requires_grad=True), Tensor(0.0, requires_grad=True)
    assert_matches_autograd(data, backward_everywhere(chain_rule_f(x2, y2)))
    # the numbers of section 3, and the hand chain rule's intermediates
    assert data.node_named("x").grad == pytest.approx(0.0646454, abs=1e-7)
    assert data.node_named("y").grad == pytest.approx(-0.1811864, abs=1e-7)
    (div,) = data.nodes_with_op("div")
    assert div.index == data.root and float(div.value) == pytest.approx(0.6611012, abs=1e-7)
    u, v = 1.5, 3 - 1 / (1 + np.exp(-1.0))
    (sub,) = data.nodes_with_op("sub")
    assert float(sub.value) == pytest.approx(v) and float(sub.grad) == pytest.approx(-u / v**2)
    numerator = [n for n in data.nodes_with_op("add") if float(n.value) == 1.5]
    assert float(numerator[0].grad) == pytest.approx(1 / v)
    assert len(data.edges) == 13
    assert [n.label for n in data.nodes if n.is_leaf] == ["x", "y", "const"]


def test_softmax_regression_graph_matches_autograd_and_closed_form():
    rng = np.random.default_rng(3)
    W0, x0, b0 = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    y0 = np.eye(3)[1]
    formula = parse("cross_entropy(softmax(W @ x + b), y)", ["W", "x", "b", "y"])

    def build():
        env = {
            "W": Tensor(W0, requires_grad=True),
            "x": Tensor(x0, requires_grad=True),
            "b": Tensor(b0, requires_grad=True),
            "y": Tensor(y0),
        }
        return evaluate(formula, env), env

    loss, env = build()
    data = graph_data(loss, names=env)
    reference, _ = build()
    assert_matches_autograd(data, backward_everywhere(reference))

    yhat = np.exp(W0 @ x0 + b0) / np.exp(W0 @ x0 + b0).sum()
    np.testing.assert_allclose(data.node_named("W").grad, np.outer(yhat - y0, x0), rtol=1e-12)
    np.testing.assert_allclose(data.node_named("b").grad, yhat - y0, rtol=1e-12)
    np.testing.assert_allclose(data.node_named("x").grad, W0.T @ (yhat - y0), rtol=1e-12)
    (softmax,) = data.nodes_with_op("softmax")
    np.testing.assert_allclose(softmax.value, yhat, rtol=1e-12)
    assert data.node_named("y").grad is None
    assert float(data.nodes[data.root].value) == pytest.approx(-np.log(yhat[1]))


def test_gradient_of_a_vector_output_needs_a_seed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ParameterError) as info:
        graph_data(x * 3)
    assert info.value.param == "grad"
    data = graph_data(x * 3, names={"x": x}, grad=[1.0, -1.0])
    np.testing.assert_array_equal(data.node_named("x").grad, [3.0, -3.0])


def test_shared_parent_gives_one_edge_per_argument():
    x = Tensor(2.0, requires_grad=True)
    data = graph_data(x * x, names={"x": x})
    assert data.edges == ((0, 1), (0, 1))
    assert float(data.node_named("x").grad) == 4.0


def test_large_graph_is_summarised_with_a_note():
    x = Tensor(1.0, requires_grad=True)
    z = x
    for _ in range(100):
        z = z * 1.01 + 0.5
    data = graph_data(z, names={"x": x}, max_nodes=20)
    assert len(data.nodes) == 20 and data.total == 401 and data.hidden == 382
    summary = data.nodes[0]
    assert summary.hidden == 382 and summary.label == "… 382 more nodes"
    assert "20" not in data.note and "19 nodes nearest the output of 401" in data.note
    # the kept nodes are the ones nearest the output, with the output's exact values
    assert data.nodes[data.root].value == pytest.approx(z.data)
    assert float(data.nodes[data.root].grad) == 1.0
    assert all(0 <= p < len(data.nodes) and 0 <= c < len(data.nodes) for p, c in data.edges)
    png = render(data, "png")
    assert png.startswith(b"\x89PNG")


def test_layout_runs_left_to_right_and_never_stacks_boxes():
    x, y = Tensor(1.0, requires_grad=True), Tensor(0.0, requires_grad=True)
    data = graph_data(chain_rule_f(x, y), names={"x": x, "y": y})
    place = layout(data)
    for (_, c), route in zip(data.edges, place.routes, strict=True):
        columns = [point[0] for point in route]
        assert columns == sorted(columns) and len(set(columns)) == len(columns)
        assert place.position[c][0] == route[-1][0]
    spots = list(place.position.values()) + [p for _, p in place.copies]
    assert len(set(spots)) == len(spots)
    assert place.position[data.root][0] == max(c for c, _ in place.position.values())
    # y feeds sigmoid (column 1) and the denominator's add (column 2): drawn again there
    assert [data.nodes[i].name for i, _ in place.copies] == ["y"]


def test_format_value():
    assert format_value(np.float64(0.66110124)) == "0.6611"
    assert format_value(np.array([-0.0, 1.0, 2.5])) == "[0, 1, 2.5]"
    assert format_value(np.arange(12.0).reshape(3, 4)) == "3×4 in [0, 11]"
    assert format_value(np.arange(5.0)) == "5-vector in [0, 4]"
    assert format_value(None) == "—"


def test_draw_writes_png_and_svg(tmp_path):
    x, y = Tensor(1.0, requires_grad=True), Tensor(0.0, requires_grad=True)
    out = chain_rule_f(x, y)
    data = out.draw(tmp_path / "f.png", names={"x": x, "y": y})
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert data.node_named("x").grad == pytest.approx(0.0646454, abs=1e-7)
    draw_graph(out, tmp_path / "f.svg", names={"x": x, "y": y})
    svg = (tmp_path / "f.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "http://www.w3.org" in svg
    with pytest.raises(ParameterError) as info:
        out.draw(tmp_path / "f.pdf")
    assert info.value.param == "path"
    with pytest.raises(MissingFileError) as info:
        out.draw(tmp_path / "missing" / "f.png")
    assert info.value.param == "path"
    with pytest.raises(ParameterTypeError) as info:
        out.draw(tmp_path / "f.png", names={"x": 1.0})
    assert info.value.param == "names"
    with pytest.raises(ParameterTypeError):
        graph_data(np.ones(3))


def test_graph_command(tmp_path, capsys):
    path = tmp_path / "g.svg"
    code = main(
        [
            "graph",
            "--f",
            "(x**2 + sigmoid(y)) / (3*x + y - sigmoid(x))",
            "--at",
            "x=1,y=0",
            "--out",
            str(path),
        ]
    )
    assert code == 0 and "<svg" in path.read_text()
    printed = capsys.readouterr().out
    assert "f = 0.6611" in printed and "df/dx = 0.06465" in printed and "df/dy = -0.1812" in printed

    code = main(
        [
            "graph",
            "--f",
            "cross_entropy(softmax(W @ x + b), y)",
            "--shape",
            "W=3x4",
            "x=4",
            "b=3",
            "--onehot",
            "y=3",
            "--out",
            str(tmp_path / "s.png"),
        ]
    )
    assert code == 0 and (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--f", "x +", "--at", "x=1"], "--f: not a valid expression"),
        (["--f", "x + z", "--at", "x=1"], "--f: undeclared name 'z'"),
        (["--f", "x", "--at", "x=a"], "--at: x: 'a' is not a number"),
        (["--f", "x * 2", "--shape", "x=3"], "--f: the formula must give a scalar"),
        (["--f", "x * 2", "--at", "x=1", "--max-nodes", "1"], "--max-nodes: must be >= 2"),
        # a NaN or an infinity anywhere in the graph, never drawn as "value nan"
        (["--f", "log(x)", "--at", "x=-1"], "--at: the formula is not finite at x=-1"),
        (["--f", "y * log(x)", "--at", "x=-1,y=2"], "the value of log is nan"),
        (["--f", "x / y", "--at", "x=1,y=0"], "--at: the formula is not finite at x=1,y=0"),
        (["--f", "sqrt(x)", "--at", "x=0"], "--at: the formula is not finite at x=0: the grad"),
        (["--f", "sum(log(W))", "--shape", "W=3"], "--f: the formula is not finite"),
        # the non-finite node is among those a summarised picture would hide
        (
            ["--f", "log(x) + x + x + x + x + x + x", "--at", "x=-1", "--max-nodes", "3"],
            "--at: the formula is not finite at x=-1",
        ),
    ],
)
def test_graph_command_refuses_bad_input_in_one_line(tmp_path, capsys, argv, words):
    assert main(["graph", *argv, "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g.png").exists()


def test_graph_command_refuses_other_formats(tmp_path, capsys):
    assert main(["graph", "--f", "x * 2", "--at", "x=1", "--out", str(tmp_path / "g.pdf")]) == 2
    assert "--out: must end in .png or .svg" in capsys.readouterr().err


def test_graph_command_reads_latex(tmp_path, capsys):
    pytest.importorskip("lark", reason="the LaTeX parser needs the grade extra (lark)")
    path = tmp_path / "f.png"
    latex = r"\frac{x^2 + \sigma(y)}{3x + y - \sigma(x)}"
    assert main(["graph", "--latex", latex, "--at", "x=1,y=0", "--out", str(path)]) == 0
    printed = capsys.readouterr().out
    assert (
        "11 of 11 nodes" in printed
        and "df/dx = 0.06465" in printed
        and "df/dy = -0.1812" in printed
    )
    assert path.read_bytes().startswith(b"\x89PNG")

    code = main(["graph", "--latex", r"\sum_i x_i^2", "--shape", "x=3", "--out", str(path)])
    assert code == 0 and "df/dx = [" in capsys.readouterr().out
    for bad, words in [
        (["--latex", r"\frac{x}{", "--at", "x=1"], "--latex: "),
        (["--latex", "a = b", "--at", "a=1,b=2"], "--latex: give one expression"),
        (["--latex", "x_i", "--shape", "x=3"], "--latex: free indices i"),
        (["--at", "x=1"], "one of the arguments --f --latex is required"),
    ]:
        assert main(["graph", *bad, "--out", str(tmp_path / "g.png")]) == 2
        assert words in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_first_non_finite_finds_where_the_trouble_starts():
    x = Tensor(-1.0, requires_grad=True)
    y = Tensor(2.0, requires_grad=True)
    found = first_non_finite(graph_data(F.relu(x.log() * y) + y, names={"x": x, "y": y}))
    assert found.node.op == "log" and found.what == "value" and found.inputs == ("x",)
    assert found.describe() == "the value of log is nan"
    z = Tensor(0.0, requires_grad=True)
    found = first_non_finite(graph_data(z.sqrt() * 3, names={"z": z}))
    assert found.node.name == "z" and found.what == "gradient"
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert first_non_finite(graph_data((w.log() * w).sum(), names={"w": w})) is None
