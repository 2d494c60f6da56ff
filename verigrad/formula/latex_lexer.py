"""The lexer of LaTeX formulas: a whitelist of commands turned into grammar tokens.

Every command outside the tables here is refused with a :class:`FormulaError` (so
``\\input``, ``\\def``, ``\\newcommand``, ``\\catcode`` are never followed or expanded).
Decorated letters become one symbol (``\\hat{y}`` / ``\\hat y`` / ``\\widehat{y}`` are
``hat:y``); ``|`` and ``\\|`` open or close by position (after an operand a bar closes);
``^T``, ``^\\top`` and ``^*`` are postfix tokens; spacing, ``\\left`` and ``\\right`` are
dropped. At most :data:`MAX_TOKENS` tokens and numbers of :data:`MAX_NUMBER_DIGITS` digits.
"""

from __future__ import annotations

import re

from lark import Token

from .language import FormulaError

__all__ = ["tokenize", "FUNCTION_NAMES", "MAX_TOKENS", "MAX_NUMBER_DIGITS"]

MAX_TOKENS = 600
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
    "leftarrow": ("REL", "<-"),
    "gets": ("REL", "<-"),
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


_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_SPECIAL = r"(T|\\top|\\intercal|\*|\\ast|\\star|')"
_BRACED_SPECIAL = re.compile(r"\{\s*" + _SPECIAL + r"\s*\}")
_BARE_SPECIAL = re.compile(_SPECIAL)
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
            special = _BRACED_SPECIAL.match(rest) or _BARE_SPECIAL.match(rest)
            if special:
                kind = "STAR" if special.group(1) in ("*", "\\ast", "\\star") else "TRANSPOSE"
                tokens.add(kind, special.group(1))
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
