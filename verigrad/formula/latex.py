"""LaTeX math as students write it, parsed into a small validated tree (never ``eval``).

:func:`parse_latex` turns one formula (``\\frac{\\partial l}{\\partial W_{ij}} = (\\hat y_i -
y_i) x_j``) into a :class:`LatexFormula`: a chain of expressions joined by relations (``=``,
``\\approx``, ``\\in``, ``\\neq``). Tokens come from :mod:`~verigrad.formula.latex_lexer` (a whitelist: every command
it does not know is refused, so ``\\input``, ``\\def``, ``\\newcommand``, ``\\catcode`` are
never followed or expanded); the grammar is an LALR grammar run by ``lark``. Nodes are plain
tuples ``(kind, ...)``; :mod:`~verigrad.formula.indexed` evaluates them with Tensor
operations, so autograd differentiates them.

Covered: numbers, letters (each a symbol: ``Wx`` is ``W x``), Greek letters, ``\\hat{y}`` /
``\\hat y`` / ``\\widehat{y}`` (the symbol ``hat:y``), ``\\bar``, ``\\tilde``, ``\\mathbf``,
``\\boldsymbol``; ``+ - * / \\cdot \\times \\odot``, implicit multiplication, ``^`` powers,
``^T`` / ``^\\top`` / ``'`` transposes, ``^*``; subscripts ``W_{ij}``, ``W_{i,j}``, ``x_1``;
``\\frac``, ``\\sqrt``, ``\\exp``, ``\\log``, ``\\ln``, ``\\max``, ``\\min``, ``\\sigma``,
``\\operatorname{sign}``, ``\\mathrm{...}``; ``\\sum`` / ``\\prod`` with ``_{k}``,
``_{k \\neq i}``, ``_{k=1}^{K}`` or no limits (the operator takes the product that follows);
``\\frac{\\partial A}{\\partial B}``; ``|x|``, ``\\|v\\|``, ``\\|v\\|_1``; ``(x)_+``;
``\\mathbb{1}[k = i]`` and Iverson brackets; ``[a, b, c]`` vectors; ``pmatrix`` / ``bmatrix`` /
``matrix`` environments; ``\\left`` / ``\\right`` and spacing commands are dropped.

Limits (a :class:`~verigrad.formula.language.FormulaError` otherwise): at most
:data:`MAX_LATEX_LENGTH` characters, :data:`MAX_TOKENS` tokens, brackets nested at most
:data:`MAX_NESTING` deep, at most :data:`MAX_BIG_OPERATORS` sums/products, numbers at most
:data:`MAX_NUMBER_DIGITS` digits. The lexer and LALR parser are linear in the input, so these
bounds also bound the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError
from lark.lexer import Lexer

from .language import FormulaError
from .latex_lexer import FUNCTION_NAMES, MAX_NUMBER_DIGITS, MAX_TOKENS, tokenize

__all__ = [
    "LatexFormula",
    "parse_latex",
    "MAX_LATEX_LENGTH",
    "MAX_TOKENS",
    "MAX_NESTING",
    "MAX_BIG_OPERATORS",
    "MAX_NUMBER_DIGITS",
    "FUNCTION_NAMES",
]

MAX_LATEX_LENGTH = 2000
MAX_NESTING = 30
MAX_BIG_OPERATORS = 12

_GRAMMAR = r"""
start: chain
chain: expr (relation expr)*
relation: EQ | REL | NEQ | CMP

?expr: expr PLUS term   -> add
     | expr MINUS term  -> minus
     | term
?term: MINUS term       -> neg
     | PLUS term
     | product
?product: product MUL signed   -> mul
     | product DIV signed      -> div
     | product factor          -> juxt
     | product bigop           -> juxt
     | factor
     | bigop
?signed: MINUS signed          -> neg
     | factor
     | bigop

bigop: SUM limits? product
limits: SUB LBRACE sumspec RBRACE (POW group)?
      | SUB LETTER (POW group)?
sumspec: LETTER (COMMA LETTER)* (NEQ LETTER)?
       | LETTER EQ expr

?factor: postfix
       | funcapp
?postfix: atom
        | postfix SUB subscript      -> sub
        | postfix SUB PLUS           -> positive
        | postfix SUB LBRACE PLUS RBRACE -> positive
        | postfix POW power          -> pow
        | postfix TRANSPOSE          -> transpose
        | postfix PRIME              -> prime
        | postfix STAR               -> star
subscript: LETTER | NUMBER | LBRACE subitems RBRACE
subitems: (LETTER | NUMBER | COMMA | PLUS | MINUS)+
?power: atom_simple | LBRACE expr RBRACE | MINUS atom_simple -> neg
?atom_simple: LETTER -> sym
            | NUMBER -> num

funcapp: FUNC funcsub? LPAR expr (COMMA expr)* RPAR funcpost*
       | FUNC funcsub? np_postfix
?np_postfix: np_atom
        | np_postfix SUB subscript      -> sub
        | np_postfix POW power          -> pow
        | np_postfix TRANSPOSE          -> transpose
        | np_postfix PRIME              -> prime
        | np_postfix STAR               -> star
?np_atom: LETTER                -> sym
     | NUMBER                   -> num
     | LBRACE expr RBRACE       -> group
     | FRAC group group          -> frac
     | SQRT group                -> sqrt
     | LBAR expr RBAR            -> abs
     | LNORM expr RNORM          -> norm
funcsub: SUB subscript
funcpost: SUB subscript | POW power

?atom: LETTER                   -> sym
     | NUMBER                   -> num
     | LPAR expr RPAR           -> group
     | LPAR expr (COMMA expr)+ RPAR -> tuple
     | LBRACE expr RBRACE       -> group
     | LBRACK expr RBRACK       -> group
     | LBRACK expr (COMMA expr)+ RBRACK -> vector
     | LBRACK expr (CMP | EQ | NEQ) expr RBRACK -> iverson
     | INDICATOR LBRACK expr (CMP | EQ | NEQ) expr RBRACK -> iverson
     | INDICATOR LPAR expr (CMP | EQ | NEQ) expr RPAR -> iverson
     | FRAC group group          -> frac
     | FRAC LBRACE PARTIAL expr RBRACE LBRACE PARTIAL postfix RBRACE -> deriv
     | FRAC LBRACE PARTIAL RBRACE LBRACE PARTIAL postfix RBRACE factor -> deriv_op
     | SQRT group                -> sqrt
     | LBAR expr RBAR            -> abs
     | LNORM expr RNORM          -> norm
     | BEGINMAT rows ENDMAT      -> matrix
     | DOTS                      -> dots
     | NABLA SUB subscript postfix -> nabla
group: LBRACE expr RBRACE
rows: row (ROWSEP row)* ROWSEP?
row: expr (AMP expr)*

%declare NUMBER LETTER FUNC PLUS MINUS MUL DIV POW SUB LPAR RPAR LBRACE RBRACE LBRACK RBRACK
%declare COMMA EQ REL NEQ CMP SUM FRAC PARTIAL SQRT LBAR RBAR LNORM RNORM BEGINMAT ENDMAT
%declare ROWSEP AMP DOTS NABLA INDICATOR TRANSPOSE PRIME STAR
"""


class _LatexLexer(Lexer):
    def __init__(self, lexer_conf):
        pass

    def lex(self, data):
        yield from data


_PARSER = None


def _parser() -> Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark(_GRAMMAR, parser="lalr", lexer=_LatexLexer)
    return _PARSER


# ------------------------------------------------------------------------------ tree
class _ToTuples(Transformer):
    """lark's parse tree as ``(kind, ...)`` tuples."""

    def start(self, c):
        return c[0]

    def chain(self, c):
        parts = [c[0]]
        relations = []
        for k in range(1, len(c), 2):
            relations.append(c[k])
            parts.append(c[k + 1])
        return ("chain", tuple(parts), tuple(relations))

    def relation(self, c):
        t = c[0]
        return {"EQ": "=" if t.value == "=" else "~"}.get(t.type, t.value)

    def add(self, c):
        return ("bin", "+", c[0], c[2])

    def minus(self, c):
        return ("bin", "-", c[0], c[2])

    def sub(self, c):
        return ("sub", c[0], c[2])

    def neg(self, c):
        return ("neg", c[-1])

    def term(self, c):
        return c[-1]

    def mul(self, c):
        return ("bin", "odot" if c[1].value == "odot" else "*", c[0], c[2])

    def div(self, c):
        return ("bin", "/", c[0], c[2])

    def juxt(self, c):
        return ("bin", "juxt", c[0], c[1])

    def bigop(self, c):
        kind = c[0].value
        if len(c) == 2:
            return ("sum", kind, (), (), c[1])
        indices, excluded = c[1]
        return ("sum", kind, indices, excluded, c[2])

    def limits(self, c):
        if isinstance(c[1], Token) and c[1].type == "LETTER":
            return ((c[1].value,), ())
        return c[2]

    def sumspec(self, c):
        letters = [t.value for t in c if isinstance(t, Token) and t.type == "LETTER"]
        if any(isinstance(t, Token) and t.type == "EQ" for t in c):
            return ((letters[0],), ())
        if any(isinstance(t, Token) and t.type == "NEQ" for t in c):
            return (tuple(letters[:-1]), ((letters[-2], letters[-1]),))
        return (tuple(letters), ())

    def subscript(self, c):
        if isinstance(c[0], Token) and c[0].type in ("LETTER", "NUMBER"):
            return (c[0].value,)
        return c[1]

    def subitems(self, c):
        items = []
        for t in c:
            if t.type == "LETTER":
                items.append(t.value)
            elif t.type == "NUMBER":
                items.extend(t.value)  # W_{12} is W_{1,2}
            elif t.type in ("PLUS", "MINUS"):
                items.append(t.value)  # x_{k+1}: an iterate's label
        return tuple(items)

    def power(self, c):
        return c[1] if isinstance(c[0], Token) else c[0]

    def positive(self, c):
        return ("relu", c[0])

    def pow(self, c):
        return ("pow", c[0], c[2])

    def transpose(self, c):
        return ("T", c[0])

    def prime(self, c):
        return ("prime", c[0])

    def star(self, c):
        return ("star", c[0])

    def sym(self, c):
        return ("sym", c[0].value)

    def num(self, c):
        return ("num", float(c[0].value))

    def group(self, c):
        return c[1] if isinstance(c[0], Token) else c[0]

    def tuple(self, c):
        return ("tuple", tuple(x for x in c if not isinstance(x, Token)))

    def vector(self, c):
        return ("vector", tuple(x for x in c if not isinstance(x, Token)))

    def iverson(self, c):
        body = [x for x in c if not (isinstance(x, Token) and x.type in ("LBRACK", "RBRACK"))]
        body = [x for x in body if not (isinstance(x, Token) and x.type in ("LPAR", "RPAR"))]
        body = [x for x in body if not (isinstance(x, Token) and x.type == "INDICATOR")]
        left, op, right = body
        return ("iverson", op.value, left, right)

    def frac(self, c):
        return ("bin", "/", c[1], c[2])

    def deriv(self, c):
        return ("deriv", c[3], c[7])

    def deriv_op(self, c):
        return ("deriv", c[8], c[6])

    def sqrt(self, c):
        return ("call", "sqrt", (), (c[1],), ())

    def abs(self, c):
        return ("abs", c[1])

    def norm(self, c):
        return ("norm", c[1])

    def matrix(self, c):
        return ("matrix", c[1])

    def rows(self, c):
        return tuple(r for r in c if not isinstance(r, Token))

    def row(self, c):
        return tuple(x for x in c if not isinstance(x, Token))

    def dots(self, c):
        return ("dots",)

    def nabla(self, c):
        return ("nabla", c[2], c[3])

    def funcsub(self, c):
        return ("fsub", c[1])

    def funcpost(self, c):
        return ("subpost", c[1]) if c[0].type == "SUB" else ("powpost", c[1])

    def funcapp(self, c):
        name = c[0].value
        rest = list(c[1:])
        fsub = ()
        if rest and isinstance(rest[0], tuple) and rest[0][0] == "fsub":
            fsub = rest.pop(0)[1]
        args = tuple(x for x in rest if not isinstance(x, Token) and x[0] not in _POSTS)
        posts = tuple(x for x in rest if not isinstance(x, Token) and x[0] in _POSTS)
        node = ("call", name, fsub, args, ())
        for kind, value in posts:
            node = ("sub", node, value) if kind == "subpost" else ("pow", node, value)
        return node


_POSTS = ("subpost", "powpost")


@dataclass(frozen=True)
class LatexFormula:
    """A parsed LaTeX formula: the ``source`` and the chain ``parts[0] rel[0] parts[1] ...``."""

    source: str
    parts: tuple
    relations: tuple

    def __str__(self):
        return self.source


def _nesting(tokens) -> int:
    depth = deepest = 0
    for t in tokens:
        if t.type in ("LPAR", "LBRACE", "LBRACK", "LBAR", "LNORM", "BEGINMAT"):
            depth += 1
            deepest = max(deepest, depth)
        elif t.type in ("RPAR", "RBRACE", "RBRACK", "RBAR", "RNORM", "ENDMAT"):
            depth -= 1
    return deepest


def parse_latex(source: str) -> LatexFormula:
    """Parse one LaTeX formula (a chain ``a = b = c`` or a single expression).

    Raises :class:`FormulaError` with a one-line reason for text outside the whitelist, over
    the limits or not a formula; nothing is expanded or evaluated.
    """
    if not isinstance(source, str):
        raise FormulaError(f"expected text, got {type(source).__name__}")
    text = source.strip().strip("$").strip()
    if not text:
        raise FormulaError("the formula is empty")
    if len(text) > MAX_LATEX_LENGTH:
        raise FormulaError(
            f"the formula has {len(text)} characters, more than the limit {MAX_LATEX_LENGTH}"
        )
    tokens = tokenize(text)
    if not tokens:
        raise FormulaError("the formula is empty")
    deepest = _nesting(tokens)
    if deepest > MAX_NESTING:
        raise FormulaError(f"brackets nest {deepest} deep, more than the limit {MAX_NESTING}")
    big = sum(t.type == "SUM" for t in tokens)
    if big > MAX_BIG_OPERATORS:
        raise FormulaError(f"{big} sums or products, more than the limit {MAX_BIG_OPERATORS}")
    try:
        tree = _parser().parse(tokens)
        chain = _ToTuples().transform(tree)
    except LarkError as exc:
        token = getattr(exc, "token", None)
        where = f" at {token.value!r}" if token is not None and token.value else ""
        raise FormulaError(f"not a formula I can read{where}") from None
    except RecursionError:
        raise FormulaError("the formula is too deeply nested") from None
    parts = tuple(_bind_pair_sums(part, chain[1]) for part in chain[1])
    return LatexFormula(text, parts, chain[2])


def _letters(node, out: set) -> set:
    """Every index letter and symbol name in ``node`` (iteratively)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            if len(item) == 2 and item[0] == "sym":
                out.add(item[1])
            stack.extend(item)
        elif isinstance(item, str):
            out.add(item)
    return out


def _bind_pair_sums(node, chain_parts):
    """``\\sum_{k \\neq l}`` sums over both ``k`` and ``l`` when ``l`` appears in the summand and
    nowhere else in the chain (``\\sum_{k \\neq l} q_{kl}``); otherwise ``l`` is a free index
    the sum only excludes (``\\sum_{k \\neq i} \\exp(a_k)`` or ``\\sum_{j \\neq i}`` beside a
    left side over ``i``)."""
    if not isinstance(node, tuple):
        return node
    if node and node[0] == "sum" and node[3]:
        kind, indices, excluded, body = node[1], node[2], node[3], node[4]
        inside = _letters(body, set())
        outside = set()
        for part in chain_parts:
            _letters_outside(part, node, outside)
        extra = tuple(
            o for _, o in excluded if o in inside and o not in outside and o not in indices
        )
        return ("sum", kind, indices + extra, excluded, _bind_pair_sums(body, chain_parts))
    return tuple(_bind_pair_sums(child, chain_parts) for child in node)


def _letters_outside(node, target, out: set) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if item is target:
            continue
        if isinstance(item, tuple):
            if len(item) == 2 and item[0] == "sym":
                out.add(item[1])
            stack.extend(item)
        elif isinstance(item, str) and len(item) == 1:
            out.add(item)
