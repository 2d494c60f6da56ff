"""``verigrad graph``: draw the computation graph of a formula with values and gradients."""

from __future__ import annotations

HELP = "draw the computation graph of a formula, each node with its value and gradient"
DESCRIPTION = """Evaluate a formula at a point, run backward, and draw its computation graph
left to right (PNG or SVG, matplotlib only): every node shows its operation, its value and
the gradient of the formula with respect to it.

  verigrad graph --f "(x**2 + sigmoid(y)) / (3*x + y - sigmoid(x))" --at x=1,y=0 --out f.png
  verigrad graph --f "cross_entropy(softmax(W @ x + b), y)" --shape W=3x4 x=4 b=3 \\
      --onehot y=3 --out softmax.svg

Formulas use the language of `verigrad check-grad` (Python syntax: + - * / ** @, sigmoid,
softmax, log, sum, ...), or LaTeX with --latex (\\frac, \\sigma, \\exp, \\sum, ...: the parser
of `verigrad grade`). Graphs larger than --max-nodes are summarised: the nodes nearest the
output are drawn and the rest become one '…' box, with a note saying so."""

#: library parameter -> argparse dest
PARAMETER_DESTS = {"path": "out", "spec": "shape", "values": "at"}


def add_arguments(p):
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--f", metavar="EXPR", help="the formula (a scalar), Python syntax")
    which.add_argument(
        "--latex",
        metavar="TEX",
        help="the formula in LaTeX instead, e.g. '\\frac{x^2 + \\sigma(y)}{3x + y - \\sigma(x)}' "
        "(needs the grade extra: lark)",
    )
    p.add_argument(
        "--at",
        default="",
        metavar="NAME=VALUE,...",
        help="scalar variables and their values, e.g. x=1,y=0",
    )
    p.add_argument(
        "--shape",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=DIMS",
        help="array variables with N(0, 1) entries (drawn with --seed), e.g. W=3x4 x=4",
    )
    p.add_argument(
        "--onehot",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=K",
        help="one-hot constant vectors of length K (labels)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for --shape (default 0)")
    p.add_argument(
        "--max-nodes",
        type=int,
        default=30,
        metavar="N",
        help="summarise graphs with more nodes than this (default 30)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the picture: FILE.png or FILE.svg")


def parse_point(text: str) -> dict:
    """``"x=1,y=0"`` as ``{"x": 1.0, "y": 0.0}`` (errors name ``values``)."""
    import math

    from .._checks import ParameterError

    point = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.count("=") != 1:
            raise ParameterError("values", f"expected NAME=NUMBER pairs like x=1,y=0, got {item!r}")
        name, value = (s.strip() for s in item.split("="))
        try:
            number = float(value)
        except ValueError:
            raise ParameterError("values", f"{name}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ParameterError("values", f"{name}: must be a finite number, got {value}")
        if name in point:
            raise ParameterError("values", f"{name} is given twice")
        point[name] = number
    return point


def _evaluate_latex(source: str, env: dict):
    """Evaluate LaTeX ``source`` with the variables of ``env`` (Tensors) as graph leaves.

    Returns ``(Tensor, names used)``. The formula package's index-notation evaluator reads
    variables as constants; here they are the caller's Tensors, so autograd sees them.
    """
    from .._checks import ParameterError
    from ..formula import FormulaError
    from ..formula.checker import Variable

    try:
        from ..formula.indexed import Context, Evaluator, Indexed
        from ..formula.latex import parse_latex
    except ImportError as exc:  # lark: the grade extra
        raise ParameterError(
            "latex", f"needs the grade extra ({exc.name} is not installed)"
        ) from None

    class _Leaves(Evaluator):
        def symbol(self, name):
            canonical = self.context.canonical(name)
            if canonical in env:
                used.add(canonical)
                return Indexed(env[canonical], ())
            return super().symbol(name)

    used = set()
    parsed = parse_latex(source)
    if len(parsed.parts) != 1:
        raise FormulaError("give one expression, not an equation")
    context = Context({n: Variable(n, t.shape) for n, t in env.items()})
    out = _Leaves(context, {n: t.data for n, t in env.items()})(parsed.parts[0])
    if out.names:
        raise FormulaError(f"free indices {', '.join(out.names)}: the formula must be a scalar")
    return out.t, frozenset(used)


def _refuse_non_finite(found, args, formula_param: str) -> None:
    """Refuse a graph with a NaN or an infinity in any node's value or gradient (``found``:
    :func:`~verigrad.drawing.first_non_finite` of the whole graph, not only the drawn part),
    naming what the user must change: ``--at`` when a point given there feeds the node (log(x)
    at x=-1), the formula otherwise (the --shape entries are random draws)."""
    if found is None:
        return
    from .._checks import NotFiniteError

    at_names = set(parse_point(args.at))
    from_at = [name for name in found.inputs if name in at_names]
    if from_at:
        point = ",".join(f"{n}={v:g}" for n, v in parse_point(args.at).items())
        raise NotFiniteError(
            "values",
            f"the formula is not finite at {point}: {found.describe()}; choose a point where "
            "every node's value and gradient are finite",
        )
    raise NotFiniteError(
        formula_param,
        f"the formula is not finite at the values drawn for its variables: {found.describe()}; "
        "--shape entries are N(0, 1) draws, so apply log or sqrt to positive expressions only "
        "(exp(W), W**2 + 1, ...)",
    )


def run(args) -> int:
    import numpy as np

    from .._checks import check_int

    check_int(args.max_nodes, "max_nodes", low=2)
    check_int(args.seed, "seed", low=0)
    # a NaN or an infinity is refused (naming the option to change), not warned about
    with np.errstate(all="ignore"):
        return _draw(args, np.random.default_rng(args.seed))


def _draw(args, rng) -> int:
    from .._checks import ParameterError
    from ..drawing import draw_graph, first_non_finite, format_value, graph_data
    from ..formula import FormulaError, evaluate, parse, parse_shape
    from ..io import UnwritableError
    from ..tensor import Tensor

    env = {}
    try:
        for name, value in parse_point(args.at).items():
            env[name] = Tensor(value, requires_grad=True)
        for spec in args.shape:
            variable = parse_shape(spec)
            env[variable.name] = Tensor(variable.draw(rng), requires_grad=True)
        for spec in args.onehot:
            variable = parse_shape(spec, "onehot")
            env[variable.name] = Tensor(variable.draw(rng))
        if args.f is not None:
            formula = parse(args.f, list(env))
            out, used = evaluate(formula, env), formula.names
        else:
            out, used = _evaluate_latex(args.latex, env)
    except FormulaError as exc:
        raise ParameterError("f" if args.f is not None else "latex", str(exc)) from None
    source = args.f if args.f is not None else args.latex
    param = "f" if args.f is not None else "latex"
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ParameterError(param, "the formula uses no variable that needs a gradient")
    if out.size != 1:
        raise ParameterError(param, f"the formula must give a scalar, it gives shape {out.shape}")
    unused = sorted(set(env) - used)
    names = {n: t for n, t in env.items() if n in used}
    _refuse_non_finite(first_non_finite(graph_data(out, names=names)), args, param)
    try:
        data = draw_graph(
            out,
            args.out,
            names=names,
            max_nodes=args.max_nodes,
            title=source,
        )
    except OSError as exc:
        if isinstance(exc, UnwritableError) or not exc.errno:
            raise
        reason = f"cannot write {args.out}: {exc.strerror or exc}"
        raise UnwritableError("out", reason, exc.errno, exc.strerror, args.out) from None
    parts = [f"f = {format_value(out.data)}"]
    for name in sorted(used):
        node = next((n for n in data.nodes if n.name == name), None)
        if node is not None and node.grad is not None:
            parts.append(f"df/d{name} = {format_value(node.grad)}")
    shown = f"{len(data.nodes) - (1 if data.hidden else 0)} of {data.total} nodes"
    print(f"wrote {args.out}: {shown}; " + ", ".join(parts))
    if data.note:
        print(f"note: {data.note}")
    if unused:
        print(f"note: {', '.join(unused)} not used by the formula")
    return 0
