"""LaTeX math as students write it, parsed into a small validated tree (never ``eval``).

:func:`parse_latex` turns one formula (``\\frac{\\partial l}{\\partial W_{ij}} = (\\hat y_i -
y_i) x_j``) into a :class:`LatexFormula`: a chain of expressions joined by relations (``=``,
``\\approx``, ``\\in``, ``\\neq``). Tokens come from the lexer here (a whitelist: every command
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

import re
from dataclasses import dataclass

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError
from lark.lexer import Lexer

from .language import FormulaError

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
MAX_TOKENS = 600
MAX_NESTING = 30
MAX_BIG_OPERATORS = 12
MAX_NUMBER_DIGITS = 30

#: function names a formula may call (their meaning for a problem is the evaluator's)
FUNCTION_NAMES = frozenset(
    "exp log ln sigma softmax sigmoid sign tanh relu max min sqrt prox argmin S".split()
)
_PLAIN_WORDS = frozenset("exp log ln softmax sigmoid sign tanh relu max min prox".split())
_GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta kappa lambda mu nu xi pi rho "
    "tau phi varphi chi psi omega Gamma Delta Theta Lambda Sigma Phi Psi Omega".split()
)
_DECORATIONS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar"}
_DECORATIONS.update({"tilde": "tilde", "widetilde": "tilde", "dot": "dot"})
_FONTS = frozenset("mathbf boldsymbol bm vec mathit mathbf mathsf mathcal".split())
_DROPPED = frozenset(
    "left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr displaystyle textstyle "
    "limits nolimits quad qquad , ; ! : > mathclose mathopen".split()
)
_SIMPLE = {
    "cdot": ("MUL", "*"),
    "times": ("MUL", "*"),
    "ast": ("MUL", "*"),
    "odot": ("MUL", "odot"),
    "circ": ("MUL", "odot"),
    "frac": ("FRAC", "frac"),
    "dfrac": ("FRAC", "frac"),
    "tfrac": ("FRAC", "frac"),
    "partial": ("PARTIAL", "partial"),
    "sum": ("SUM", "sum"),
    "prod": ("SUM", "prod"),
    "neq": ("NEQ", "!="),
    "ne": ("NEQ", "!="),
    "in": ("REL", "in"),
    "approx": ("EQ", "~"),
    "equiv": ("EQ", "="),
    "leq": ("CMP", "<="),
    "le": ("CMP", "<="),
    "geq": ("CMP", ">="),
    "ge": ("CMP", ">="),
    "sqrt": ("SQRT", "sqrt"),
    "dots": ("DOTS", "..."),
    "ldots": ("DOTS", "..."),
    "cdots": ("DOTS", "..."),
    "infty": ("NUMBER", "inf"),
    "nabla": ("NABLA", "nabla"),
    "{": ("LPAR", "("),
    "}": ("RPAR", ")"),
    "langle": ("LPAR", "("),
    "rangle": ("RPAR", ")"),
    "lfloor": ("LPAR", "("),
    "rfloor": ("RPAR", ")"),
    "top": ("TRANSPOSE", "T"),
    "intercal": ("TRANSPOSE", "T"),
    "to": ("REL", "->"),
    "rightarrow": ("REL", "->"),
    "Rightarrow": ("REL", "=>"),
    "implies": ("REL", "=>"),
    "mid": ("REL", "|"),
    "propto": ("REL", "propto"),
    "sim": ("REL", "~"),
}
_UNICODE = {
    "σ": r"\sigma ",
    "ŷ": r"\hat{y}",
    "−": "-",
    "×": r"\times ",
    "·": r"\cdot ",
    "∑": r"\sum ",
    "∏": r"\prod ",
    "∂": r"\partial ",
    "≠": r"\neq ",
    "‖": r"\|",
    "⊤": r"\top ",
    "λ": r"\lambda ",
    "η": r"\eta ",
    "α": r"\alpha ",
    "μ": r"\mu ",
    "∈": r"\in ",
    "≈": r"\approx ",
    "≤": r"\leq ",
    "≥": r"\geq ",
    "²": "^2",
    "∇": r"\nabla ",
    "…": r"\dots ",
    "⋯": r"\dots ",
}
_MATRIX_ENVS = frozenset("pmatrix bmatrix matrix vmatrix Bmatrix smallmatrix array".split())

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
subitems: (LETTER | NUMBER | COMMA)+
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


# ------------------------------------------------------------------------------ lexer
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def _read_group(text: str, i: int) -> tuple:
    """The content of ``{...}`` starting at ``text[i] == '{'`` (no nesting allowed inside
    decoration arguments beyond one level) and the index after it."""
    depth, j = 0, i
    while j < len(text):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    raise FormulaError("unbalanced braces")


def _argument(text: str, i: int) -> tuple:
    """A command's argument: ``{...}``, a command ``\\x`` or one character."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        raise FormulaError("a command is missing its argument")
    if text[i] == "{":
        return _read_group(text, i)
    m = _COMMAND.match(text, i)
    if m:
        return m.group(0), m.end()
    return text[i], i + 1


def _symbol_name(arg: str) -> str:
    """The symbol named by a decoration's argument (``y``, ``\\lambda``, ``{y}``)."""
    arg = arg.strip()
    if arg.startswith("\\") and arg[1:] in _GREEK:
        return arg[1:]
    if re.fullmatch(r"[A-Za-z]", arg):
        return arg
    raise FormulaError(f"cannot read {arg!r} as one symbol")


class _Tokens:
    def __init__(self):
        self.out = []

    def add(self, kind: str, value: str) -> None:
        self.out.append(Token(kind, value))
        if len(self.out) > MAX_TOKENS:
            raise FormulaError(f"the formula has more than {MAX_TOKENS} tokens")


def tokenize(text: str) -> list:
    """The token list of ``text`` (a :class:`FormulaError` for anything outside the whitelist)."""
    for char, repl in _UNICODE.items():
        text = text.replace(char, repl)
    tokens = _Tokens()
    bars = []  # open | and \| (a bar after an operand closes, otherwise opens)
    i, n = 0, len(text)

    def after_operand() -> bool:
        last = tokens.out[-1].type if tokens.out else None
        return last in {"NUMBER", "LETTER", "RPAR", "RBRACK", "RBRACE", "RBAR", "RNORM"} | {
            "TRANSPOSE",
            "PRIME",
            "STAR",
            "ENDMAT",
            "DOTS",
        }

    while i < n:
        c = text[i]
        if c.isspace() or c == "~":
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            if len(m.group(0)) > MAX_NUMBER_DIGITS:
                raise FormulaError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
            tokens.add("NUMBER", m.group(0))
            i = m.end()
            continue
        if c.isalpha() and c.isascii():
            j = i
            while j < n and text[j].isalpha() and text[j].isascii():
                j += 1
            word = text[i:j]
            if word in _PLAIN_WORDS:
                tokens.add("FUNC", word)
            else:
                for letter in word:
                    tokens.add("LETTER", letter)
            i = j
            continue
        if c == "\\":
            m = _COMMAND.match(text, i)
            if not m:
                raise FormulaError("a lone backslash")
            name, i = m.group(1), m.end()
            i = _command(name, text, i, tokens, bars, after_operand)
            continue
        if c == "^":
            i += 1
            while i < n and text[i] == " ":
                i += 1
            rest = text[i:]
            special = re.match(r"(\{\s*)?(T|\\top|\\intercal|\*|\\ast|\\star|')(\s*\})?", rest)
            if special and bool(special.group(1)) == bool(special.group(3)):
                kind = "STAR" if special.group(2) in ("*", "\\ast", "\\star") else "TRANSPOSE"
                if special.group(2) == "T" and re.match(r"T[A-Za-z]", rest):
                    tokens.add("POW", "^")
                    continue
                tokens.add(kind, special.group(2))
                i += special.end()
                continue
            tokens.add("POW", "^")
            continue
        if c == "|":
            if after_operand() and bars and bars[-1] == "|":
                bars.pop()
                tokens.add("RBAR", "|")
            else:
                bars.append("|")
                tokens.add("LBAR", "|")
            i += 1
            continue
        simple = {
            "+": "PLUS",
            "-": "MINUS",
            "*": "MUL",
            "/": "DIV",
            "_": "SUB",
            "(": "LPAR",
            ")": "RPAR",
            "{": "LBRACE",
            "}": "RBRACE",
            "[": "LBRACK",
            "]": "RBRACK",
            ",": "COMMA",
            "=": "EQ",
            "<": "CMP",
            ">": "CMP",
            "'": "PRIME",
            "&": "AMP",
            "!": None,
            ".": None,
            ";": None,
            ":": None,
        }
        if c in simple:
            if simple[c] is not None:
                tokens.add(simple[c], c)
            i += 1
            continue
        raise FormulaError(f"character {c!r} is not allowed in a formula")
    return tokens.out


def _command(name, text, i, tokens, bars, after_operand) -> int:
    """Emit the tokens of command ``\\name`` (its arguments read from ``text[i:]``)."""
    if name in _DROPPED or name == " ":
        return i
    if name == "|":
        if after_operand() and bars and bars[-1] == "||":
            bars.pop()
            tokens.add("RNORM", "||")
        else:
            bars.append("||")
            tokens.add("LNORM", "||")
        return i
    if name == "\\":
        tokens.add("ROWSEP", "\\\\")
        return i
    if name in _SIMPLE:
        kind, value = _SIMPLE[name]
        tokens.add(kind, value)
        return i
    if name in ("sigma", "exp", "log", "ln", "max", "min", "tanh", "sgn"):
        tokens.add("FUNC", "sign" if name == "sgn" else name)
        return i
    if name in _GREEK:
        tokens.add("LETTER", name)
        return i
    if name in _DECORATIONS or name in _FONTS:
        arg, i = _argument(text, i)
        symbol = _symbol_name(arg)
        tokens.add("LETTER", f"{_DECORATIONS[name]}:{symbol}" if name in _DECORATIONS else symbol)
        return i
    if name in ("operatorname", "mathrm", "text", "textrm", "mathop"):
        arg, i = _argument(text, i)
        word = arg.strip().replace("\\", "")
        if word in FUNCTION_NAMES or word in ("sgn", "softmax", "prox"):
            tokens.add("FUNC", "sign" if word == "sgn" else word)
        elif re.fullmatch(r"[A-Za-z]", word):
            tokens.add("LETTER", word)
        elif word in ("d",):
            tokens.add("LETTER", "d")
        else:
            raise FormulaError(f"\\{name}{{{word}}} is not a known function or symbol")
        return i
    if name == "mathbb":
        arg, i = _argument(text, i)
        if arg.strip() in ("1", "I"):
            tokens.add("INDICATOR", "1")
        elif re.fullmatch(r"[A-Z]", arg.strip()):
            tokens.add("LETTER", arg.strip())
        else:
            raise FormulaError(f"\\mathbb{{{arg}}} is not understood")
        return i
    if name in ("begin", "end"):
        env, i = _argument(text, i)
        env = env.strip()
        if env not in _MATRIX_ENVS:
            raise FormulaError(f"environment {env!r} is not allowed inside a formula")
        if name == "begin" and env == "array":  # column spec
            _, i = _argument(text, i)
        tokens.add("BEGINMAT" if name == "begin" else "ENDMAT", env)
        return i
    if name in ("lbrack",):
        tokens.add("LBRACK", "[")
        return i
    raise FormulaError(f"the command \\{name} is not allowed (it is never expanded or followed)")


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
        return c[1]

    def funcpost(self, c):
        return ("subpost", c[1]) if c[0].type == "SUB" else ("powpost", c[1])

    def funcapp(self, c):
        name = c[0].value
        rest = list(c[1:])
        fsub = ()
        if rest and isinstance(rest[0], tuple) and all(isinstance(s, str) for s in rest[0]):
            fsub = rest.pop(0)
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
    return LatexFormula(text, chain[1], chain[2])
