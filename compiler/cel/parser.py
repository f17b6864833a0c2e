"""Parse CEL text into the AST of :mod:`compiler.cel.ast`, with macros expanded.

>>> parse("xs.exists(x, x > 1)").kind
'exists'
>>> parse("a +", file="g.rules", line=7, column=10)
Traceback (most recent call last):
...
compiler.cel.errors.CelError: g.rules:7:13: POLC200 the expression ends too early...

The parser is lark LALR with an *inline* transformer (``CelTransformer``): the AST is built
while parsing, bottom-up and without recursion, so a 10,000-deep expression cannot overflow
the Python stack; the depth check then runs iteratively and refuses trees deeper than
:data:`MAX_DEPTH` (both evaluators recurse over the tree).

Reusing the grammar from another lark grammar (the ``.rules`` language; tested in
``tests/cel/test_parser.py::test_grammar_can_be_embedded_in_a_host_grammar``)::

    rule: "gate" NAME "when" cel_expr ";"
    %import cel.expr -> cel_expr        // dependencies arrive as cel__binary, cel__CEL_INT...

    from lark.visitors import merge_transformers
    t = merge_transformers(RulesTransformer(), cel=CelTransformer("x.rules"))
    Lark(rules_grammar, parser="lalr", transformer=t, maybe_placeholders=True,
         import_paths=[str(GRAMMAR_PATH.parent)])

The simpler route is to capture the expression text with its position and call
``parse(text, file=..., line=..., column=...)``; spans then point into the rules file.
After building a tree through the host grammar, call :func:`finish` on each expression
(depth and literal checks).
"""

from __future__ import annotations

import threading
from pathlib import Path

from lark import Token, Transformer
from lark.exceptions import UnexpectedInput

from . import ast
from .errors import CelError
from .literals import check_int_literals, decode_number, decode_string
from ..diagnostics import Span

GRAMMAR_PATH = Path(__file__).with_name("cel.lark")

MAX_DEPTH = ast.MAX_DEPTH  # deepest tree accepted; the reason is in compiler/cel/ast.py
#: Longest expression text accepted, in characters.
MAX_EXPR_CHARS = 100_000

RESERVED = frozenset("""as break const continue else for function if import let loop package
namespace return var void while in true false null""".split())
MACROS_WITH_VAR = {"all": (2,), "exists": (2,), "exists_one": (2,), "filter": (2,), "map": (2, 3)}


class CelTransformer(Transformer):
    """Builds AST nodes from the CEL grammar's rules; positions are shifted by an offset.

    ``line``/``column`` give where the expression text starts in ``file``.
    """

    def __init__(self, file: str = "<expr>", line: int = 1, column: int = 1):
        super().__init__()
        self.locate(file, line, column)

    def locate(self, file: str, line: int, column: int) -> None:
        self.file, self.line_offset, self.column_offset = file, line - 1, column - 1
        self._parens: dict[int, int] = {}  # id(node) -> parentheses directly around it

    # --- spans -----------------------------------------------------------------------------
    def _pos(self, line: int, column: int) -> tuple[int, int]:
        return line + self.line_offset, column + (self.column_offset if line == 1 else 0)

    def tok_span(self, tok: Token) -> Span:
        line, col = self._pos(tok.line, tok.column)
        end_line, end_col = self._pos(tok.end_line, tok.end_column)
        return Span(self.file, line, col, end_line, end_col)

    def span(self, first, last) -> Span:
        a = first.span if not isinstance(first, Token) else self.tok_span(first)
        b = last.span if not isinstance(last, Token) else self.tok_span(last)
        return Span.covering(a, b)

    # --- operators -------------------------------------------------------------------------
    def conditional(self, children):
        cond, _q, then, otherwise = children
        return ast.Conditional(cond, then, otherwise, self.span(cond, otherwise))

    def binary(self, children):
        left, op, right = children
        return ast.Binary(str(op), left, right, self.span(left, right))

    def unary(self, children):
        *ops, operand = children
        if len(ops) > MAX_DEPTH:
            raise CelError("POLC203", f"{len(ops)} unary operators in a row; the limit is "
                           f"{MAX_DEPTH}", self.span(ops[0], operand),
                           hint="simplify the expression")
        node = operand
        if ops[-1] == "-" and isinstance(node, ast.Literal) and _is_signed_number(node.value):
            # `-9223372036854775808` is one literal, as in cel-go: fold the minus into it.
            node = ast.Literal(-node.value, self.span(ops[-1], node))
            ops = ops[:-1]
        for op in reversed(ops):
            node = ast.Unary(str(op), node, self.span(op, node))
        return node

    # --- members ---------------------------------------------------------------------------
    def selector(self, children):
        tok = children[0]
        return tok.update(value=tok[1:-1]) if tok.type.endswith("QUOTED_IDENT") else tok

    def select(self, children):
        operand, _dot, field = children
        return ast.Select(operand, str(field), self.span(operand, field))

    def index(self, children):
        operand, index, close = children[0], children[-2], children[-1]
        return ast.Index(operand, index, self.span(operand, close))

    def member_call(self, children):
        target, _dot, name, args, close = children
        args = tuple(args or ())
        span = self.span(target, close)
        if str(name) in MACROS_WITH_VAR:
            return self._expand_macro(str(name), target, args, span)
        return ast.Call(str(name), args, target, span)

    def create_message(self, children):
        raise CelError("POLC205", "message construction (`Type{field: value}`) is not supported",
                       self.span(children[0], children[-1]),
                       hint="polc has no protobuf message types; use a map literal `{'field': value}`")

    def ident(self, children):
        name_tok = children[-1]
        self._check_reserved(name_tok)
        name = ("." if len(children) == 2 else "") + str(name_tok)
        return ast.Ident(name, self.span(children[0], name_tok))

    def global_call(self, children):
        *dot, name_tok, args, close = children
        args = tuple(args or ())
        span = self.span(dot[0] if dot else name_tok, close)
        if str(name_tok) == "has" and not dot:
            return self._expand_has(args, span)
        self._check_reserved(name_tok)
        return ast.Call(("." if dot else "") + str(name_tok), args, None, span)

    def paren(self, children):
        # Parentheses add no node, so the tree-depth check cannot see `((((x))))`; count
        # them per node (nodes live for the whole parse, so ids are stable).
        inner = children[1]
        count = self._parens.get(id(inner), 0) + 1
        if count > MAX_DEPTH:
            raise CelError("POLC203", f"more than {MAX_DEPTH} nested parentheses", self.span(
                children[0], children[-1]), hint="remove the redundant parentheses")
        self._parens[id(inner)] = count
        return inner

    def create_list(self, children):
        open_, elements, close = children[0], children[1], children[-1]
        return ast.CreateList(tuple(elements or ()), self.span(open_, close))

    def create_map(self, children):
        open_, entries, close = children[0], children[1], children[-1]
        return ast.CreateMap(tuple(entries or ()), self.span(open_, close))

    def expr_list(self, children):
        return list(children)

    def list_elements(self, children):
        return list(children)

    def map_inits(self, children):
        return list(children)

    def map_entry(self, children):
        return (children[0], children[1])

    def field_inits(self, children):
        return list(children)

    def field_init(self, children):
        return tuple(children)

    # --- literals --------------------------------------------------------------------------
    def literal(self, children):
        tok = children[0]
        span = self.tok_span(tok)
        kind = tok.type.rsplit("CEL_", 1)[-1]
        if kind == "STRING":
            return ast.Literal(decode_string(str(tok), span), span)
        if kind in ("TRUE", "FALSE", "NULL"):
            return ast.Literal({"TRUE": True, "FALSE": False, "NULL": None}[kind], span)
        return ast.Literal(decode_number(kind, str(tok), span), span)

    # --- macros ----------------------------------------------------------------------------
    def _expand_has(self, args, span):
        if len(args) != 1 or not isinstance(args[0], ast.Select):
            raise CelError("POLC206", "has() takes one field selection, like `has(a.b)`", span,
                           hint="write the field to test as `has(value.field)`")
        return ast.Has(args[0].operand, args[0].field, span)

    def _expand_macro(self, name, target, args, span):
        arities = MACROS_WITH_VAR[name]
        if len(args) not in arities:
            shape = " or ".join(str(a) for a in arities)
            raise CelError("POLC206", f"`{name}` takes {shape} arguments, got {len(args)}", span,
                           hint=f"write it as `list.{name}(x, predicate)`" if name != "map"
                           else "write it as `list.map(x, expr)` or `list.map(x, filter, expr)`")
        var = args[0]
        if not isinstance(var, ast.Ident) or var.name.startswith("."):
            raise CelError("POLC206", f"the first argument of `{name}` must be a variable name",
                           var.span, hint=f"for example `list.{name}(x, ...)`")
        if name == "map" and len(args) == 3:
            return ast.Comprehension("map", var.name, target, args[2], args[1], span)
        return ast.Comprehension(name, var.name, target, args[1], None, span)

    def _check_reserved(self, tok: Token) -> None:
        if str(tok) in RESERVED:
            raise CelError("POLC204", f"`{tok}` is a reserved word and cannot be used as a name",
                           self.tok_span(tok), hint="choose another name")


def _is_signed_number(value: object) -> bool:
    from .values import CelUint
    return isinstance(value, (int, float)) and not isinstance(value, (bool, CelUint))


# --- the shared parser ---------------------------------------------------------------------

_local = threading.local()


def _lark():
    """One LALR parser per thread, built on first use (its transformer carries the offset)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        from lark import Lark
        transformer = CelTransformer()
        parser = Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr",
                      transformer=transformer, maybe_placeholders=True, start="expr")
        _local.parser, _local.transformer = parser, transformer
    return parser, _local.transformer


def parse(text: str | bytes, *, file: str = "<expr>", line: int = 1, column: int = 1) -> ast.Expr:
    """Parse one CEL expression; raise :class:`CelError` (never anything else) on bad input."""
    origin = Span(file, line, column)
    text = _checked_text(text, origin)
    parser, transformer = _lark()
    transformer.locate(file, line, column)
    try:
        tree = parser.parse(text)
    except UnexpectedInput as err:
        from .syntax_errors import describe
        raise describe(err, text, transformer) from None
    except RecursionError:  # defensive: lark itself is iterative, but never leak this
        raise CelError("POLC203", "expression nested too deeply", origin) from None
    return finish(tree)


def finish(root: ast.Expr) -> ast.Expr:
    """Checks that need the whole tree: depth and out-of-range integer literals."""
    deepest = ast.depth(root)
    if deepest > MAX_DEPTH:
        raise CelError("POLC203", f"expression nests {deepest} levels deep; the limit is "
                       f"{MAX_DEPTH}", root.span, hint="split it into smaller expressions")
    check_int_literals(root)
    return root


def _checked_text(text: str | bytes, origin: Span) -> str:
    if not isinstance(text, (str, bytes)):
        raise CelError("POLC200", f"an expression must be text, got {type(text).__name__}",
                       origin, hint="write the expression as a string")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CelError("POLC202", f"expression is not valid UTF-8 (byte {err.start})", origin,
                           hint="save the file as UTF-8") from None
    if len(text) > MAX_EXPR_CHARS:
        raise CelError("POLC203", f"expression is {len(text):,} characters; the limit is "
                       f"{MAX_EXPR_CHARS:,}", origin, hint="move large data out of the expression")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise CelError("POLC202", f"expression contains an invalid character at offset {err.start}"
                       " (a lone surrogate)", origin, hint="save the file as UTF-8") from None
    return text
