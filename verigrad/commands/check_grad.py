"""``verigrad check-grad``: is my hand-derived gradient right?"""

from __future__ import annotations

import json
import math

HELP = "check a hand-derived gradient formula against autograd at random points"
#: a raw string: the examples hold LaTeX (\frac, \neq) and shell line continuations
DESCRIPTION = r"""Evaluate a scalar function and your formula for its gradient at random points,
compare with the gradient autograd computes, and say whether they agree; if not, show the
worst entry (the point, the index, both values) as a counterexample.

  verigrad check-grad --f "cross_entropy(softmax(W @ x + b), y)" --wrt W \
      --grad "outer(softmax(W @ x + b) - y, x)" --shape W=3x4 x=4 b=3 --onehot y=3

Formulas are Python-like expressions over the declared variables: numbers, + - * / ** @,
unary -, indexing with integer literals (W[0], x[1:3]) and the functions exp, log, sqrt, abs,
square, sigmoid, tanh, relu, softplus, softmax, log_softmax, logsumexp, sum, mean, max, min,
maximum, minimum, outer, dot, T (transpose), norm, mse and cross_entropy(p, y) = -sum(y log p)
on probabilities p. Anything else (attributes, other names or calls, strings, lambdas, huge
exponents or shapes) is refused. Formulas are never passed to eval/exec.

With --latex, --f, --grad and every --define are LaTeX, as on paper; index notation works
(free indices make an array, \sum_k sums, \sum_{k \neq i} excludes), and --grad may carry
its left side:

  verigrad check-grad --latex --define "a = Wx + b" --define "\hat y = \sigma(a)" \
      --f "-\sum_i y_i \log \hat y_i" --wrt W \
      --grad "\frac{\partial l}{\partial W_{ij}} = (\hat y_i - y_i) x_j" \
      --shape W=3x4 x=4 b=3 --onehot y=3

Exit status: 0 every formula agrees at every point tried, 1 some formula disagrees,
2 bad usage or a refused formula."""


def add_arguments(p):
    p.add_argument("--f", required=True, metavar="EXPR", help="the scalar function")
    p.add_argument(
        "--wrt",
        action="append",
        required=True,
        metavar="NAME",
        help="variable to differentiate with respect to (repeatable)",
    )
    p.add_argument(
        "--grad",
        action="append",
        required=True,
        metavar="EXPR",
        help="your formula for df/d(wrt), one per --wrt, in the same order (one starting "
        "with '-' works as is: --grad -y/p, or --grad=-y/p)",
    )
    p.add_argument(
        "--shape",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=DIMS",
        help="variables with N(0, 1) entries, e.g. W=3x4 x=4 s=scalar",
    )
    p.add_argument(
        "--positive",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=DIMS",
        help="variables with entries in [0.5, 2] (for log, sqrt)",
    )
    p.add_argument(
        "--onehot",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=K",
        help="one-hot constant vectors of length K (labels)",
    )
    p.add_argument(
        "--prob",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=K",
        help="random probability vectors of length K",
    )
    p.add_argument("--trials", type=int, default=5, help="random points to try (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="entries agree when |yours - autograd| <= tol (1 + |autograd|) (default 1e-6)",
    )
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.add_argument(
        "--latex",
        action="store_true",
        help="read --f, --grad and --define as LaTeX (index notation allowed)",
    )
    p.add_argument(
        "--define",
        action="append",
        default=[],
        metavar="NAME = EXPR",
        help="a LaTeX definition used by the formulas (repeatable; needs --latex)",
    )


def _finite(value):
    """JSON-safe numbers: NaN and infinities as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _format_array(values) -> str:
    import numpy as np

    return np.array2string(
        np.asarray(values), precision=4, suppress_small=True, separator=", ", prefix="    "
    )


#: library parameters set by options of another name (the CLI finds the option by its dest)
PARAMETER_DESTS = {"grads": "grad", "variables": "shape", "definitions": "define"}

#: option dest -> kind of the variables it declares
_KIND_OF_DEST = {"shape": "normal", "positive": "positive", "onehot": "onehot", "prob": "prob"}


def _variables(args) -> list:
    """The declared variables; a bad declaration is an error about the option that gave it."""
    from .._checks import param_error
    from ..formula import parse_shape

    variables = []
    for dest, kind in _KIND_OF_DEST.items():
        for spec in getattr(args, dest):
            try:
                variables.append(parse_shape(spec, kind))
            except ValueError as exc:
                raise param_error(exc, dest) from None
    return variables


def run(args) -> int:
    from .._checks import ParameterError
    from ..formula import check_gradients, check_latex_gradient

    if len(args.grad) != len(args.wrt):  # the pairing of two repeatable options
        raise ParameterError(
            "grad",
            f"{len(args.grad)} formula(s) for {len(args.wrt)} --wrt variable(s); "
            "give one --grad per --wrt, in the same order",
        )
    variables = _variables(args)
    if args.define and not args.latex:
        raise ParameterError("define", "definitions are LaTeX: give --latex too")
    if args.latex:
        checks = check_latex_gradient(
            args.f, args.wrt, args.grad, variables, args.define, args.trials, args.seed, args.tol
        )
        info = {"fd_max_abs_diff": None, "fd_checked": False}
    else:
        checks, info = check_gradients(
            args.f, args.wrt, args.grad, variables, trials=args.trials, seed=args.seed, tol=args.tol
        )
    agrees = all(c.agrees for c in checks)
    if args.json:
        print(
            json.dumps(
                _finite(
                    {
                        "f": args.f,
                        "variables": [
                            {"name": v.name, "shape": list(v.shape), "kind": v.kind}
                            for v in variables
                        ],
                        "trials": args.trials,
                        "seed": args.seed,
                        "tol": args.tol,
                        "autograd_vs_finite_differences": info["fd_max_abs_diff"],
                        "agrees": agrees,
                        "results": [c.as_dict() for c in checks],
                    }
                ),
                indent=2,
            )
        )
        return 0 if agrees else 1

    names = ", ".join(v.name for v in variables)
    print(f"f({names}) = {args.f}")
    print("variables: " + "; ".join(v.describe() for v in variables))
    print(
        f"{args.trials} random point(s), seed {args.seed}; entries agree when "
        f"|yours - autograd| <= {args.tol:g} (1 + |autograd|)"
    )
    if info["fd_checked"]:
        print(
            f"(the autograd reference agrees with central finite differences at point 1: "
            f"max relative diff {info['fd_max_abs_diff']:.1e})"
        )
    for check in checks:
        print()
        print(f"df/d{check.wrt} = {check.formula}")
        if check.agrees:
            print(
                f"  RIGHT: agrees with autograd at all {check.points_tried} points "
                f"({check.entries_tried} entries)."
            )
            continue
        print(f"  WRONG: {check.reason}.")
        w = check.worst
        if w:
            print(
                f"  counterexample: at point {w['point']}, entry {w['entry']}: your formula gives "
                f"{w['yours']:.6g}, autograd gives {w['autograd']:.6g} (|diff| {w['abs_diff']:.3g})"
            )
            if w.get("yours_at_point") is not None:
                print(f"  yours at that point:    {_format_array(w['yours_at_point'])}")
                print(f"  autograd at that point: {_format_array(w['autograd_at_point'])}")
    print()
    print(
        "verdict: "
        + (
            "every formula agrees with autograd"
            if agrees
            else "some formula is WRONG (see the counterexample above)"
        )
    )
    return 0 if agrees else 1
