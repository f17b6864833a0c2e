"""Friendly syntax errors: what was found, what was expected, and a hint for common mistakes.

Lark's ``match_examples`` classifies an error by the parser state it failed in, using the
small catalogue of broken examples below; the message then names the mistake.
"""

from __future__ import annotations

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import CelError
from ..diagnostics import Span

#: Broken examples per mistake: lark matches an error's parser state against these.
EXAMPLES = {
    "a `(` is never closed; add `)`": ["(1 + 2", "f(1, 2", "((a)", "a.f(1"],
    "a `[` is never closed; add `]`": ["[1, 2", "a[1", "[a"],
    "a `{` is never closed; add `}`": ["{1: 2", "{'a': 1, 'b': 2"],
    "an operator needs an operand on both sides": ["1 +", "a &&", "a ||", "1 * ", "a <", "!"],
    "two operands need an operator between them (`&&`, `||`, `==`, `+`, ...)":
        ["a b", "1 2", "a 'x'", "f() g"],
    "a conditional needs both branches: `cond ? a : b`": ["a ? b", "a ? b :"],
    "a map entry is `key: value`": ["{1}", "{1, 2}"],
    "a function or macro argument list is malformed": ["f(,)", "f(1,,2)", "a.f(,)"],
}

_TOKEN_NAMES = {
    "CEL_RPAR": "`)`", "CEL_RBRACKET": "`]`", "CEL_RBRACE": "`}`", "CEL_LPAR": "`(`",
    "CEL_LBRACKET": "`[`", "CEL_LBRACE": "`{`", "COMMA": "`,`", "COLON": "`:`",
    "CEL_IDENT": "a name", "CEL_QUOTED_IDENT": "a `quoted` field name", "CEL_INT": "a number",
    "CEL_UINT": "a number", "CEL_DOUBLE": "a number", "CEL_STRING": "a string",
    "CEL_DOT": "`.`", "CEL_QUESTION": "`?`", "CEL_OR": "`||`", "CEL_AND": "`&&`",
    "CEL_REL_OP": "a comparison", "CEL_IN": "`in`", "CEL_PLUS": "`+`", "CEL_MINUS": "`-`",
    "CEL_STAR": "`*`", "CEL_SLASH": "`/`", "CEL_PERCENT": "`%`", "CEL_NOT": "`!`",
    "CEL_TRUE": "`true`", "CEL_FALSE": "`false`", "CEL_NULL": "`null`", "$END": "the end",
    "LSQB": "`[`", "RSQB": "`]`", "LPAR": "`(`", "RPAR": "`)`",
}
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!", "AND": "&&", "OR": "||", "NOT": "!"}


def describe(err: UnexpectedInput, text: str, transformer) -> CelError:
    """Turn a lark error into a CelError with a span, an expectation and a hint."""
    span = _span(err, text, transformer)
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, span)
    found = "the end of the expression" if isinstance(err, UnexpectedEOF) or \
        getattr(err, "token", None) is None or err.token.type == "$END" else f"`{err.token}`"
    word = str(getattr(err, "token", ""))
    if word in _WORD_OPERATORS:
        return CelError("POLC200", f"unexpected `{word}`", span,
                        hint=f"CEL writes `{word}` as `{_WORD_OPERATORS[word]}`")
    expected = _expected(err)
    hint = _classify(err, transformer)
    if found.startswith("the end"):
        return CelError("POLC200", f"the expression ends too early; expected {expected}", span,
                        hint=hint)
    return CelError("POLC200", f"unexpected {found}; expected {expected}", span, hint=hint)


def _bad_character(err: UnexpectedCharacters, text: str, span: Span) -> CelError:
    char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
    if char in "\"'":
        return CelError("POLC201", "unterminated string literal", span,
                        hint=f"close it with {char}; a single-quoted string cannot span lines "
                             f"(use {char * 3}...{char * 3})")
    if char == "=":
        return CelError("POLC200", "unexpected `=`", span, hint="compare with `==`")
    if char in "&|":
        return CelError("POLC200", f"unexpected `{char}`", span, hint=f"use `{char * 2}`")
    shown = repr(char)[1:-1] if char.isprintable() else f"U+{ord(char):04X}" if char else "?"
    return CelError("POLC200", f"unexpected character `{shown}`", span,
                    hint="CEL operators are `&& || ! == != < <= > >= + - * / % in ?:`")


def _expected(err: UnexpectedInput) -> str:
    names = getattr(err, "accepts", None) or getattr(err, "expected", None) or ()
    shown = sorted({_TOKEN_NAMES.get(n, n.lower()) for n in names if not n.startswith("__")})
    if not shown:
        return "more input"
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


def _classify(err: UnexpectedInput, transformer) -> str | None:
    """The hint of the example whose failing parser state matches ``err``."""
    if not isinstance(err, (UnexpectedToken, UnexpectedEOF)):
        return None
    from .parser import _lark
    parser, _ = _lark()
    saved = (transformer.file, transformer.line_offset, transformer.column_offset)
    try:
        return err.match_examples(parser.parse, EXAMPLES, use_accepts=True)
    except Exception:  # classification is a nicety; the error itself must still be reported
        return None
    finally:
        transformer.file, transformer.line_offset, transformer.column_offset = saved


def _span(err: UnexpectedInput, text: str, transformer) -> Span:
    line = getattr(err, "line", None)
    column = getattr(err, "column", None)
    at_end = isinstance(err, UnexpectedEOF) or getattr(getattr(err, "token", None), "type",
                                                       None) == "$END"
    if at_end or not isinstance(line, int) or line < 1:  # lark gives -1 or the last token
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    line_out, col_out = transformer._pos(line, column)
    return Span(transformer.file, line_out, col_out)
