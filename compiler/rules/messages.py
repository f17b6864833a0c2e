"""Messages: templates split into text and ``{expr}`` interpolations, rendered for people.

The split happens once, when a ``.rules`` file is parsed (:func:`parse_message`); the
snapshot stores the parts (text, and each interpolation as expression IR) and the runtime
renders them (:func:`render_message`).

>>> format_value(2000.0), format_value(0.25), format_value(["a", 1]), format_value(None)
('2000', '0.25', '["a", 1]', 'null')

Numbers print as written in a policy (``2000``, not ``2000.0``); strings print bare at the
top level and quoted inside lists and maps; an interpolation that cannot be evaluated
prints ``<error: ...>`` so the message still says what it could.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, Span

if TYPE_CHECKING:  # lark and the syntax tree load only when a file is parsed
    from lark import Token

    from . import ast


def parse_message(tok: Token, file: str, problems: list, span: Span) -> ast.Message:
    """Split a message template into text and ``{expr}`` interpolations (each parsed as CEL).

    ``{{`` and ``}}`` are literal braces; ``\\"``, ``\\\\``, ``\\n``, ``\\t`` are escapes.
    """
    from ..cel import CelError
    from . import ast
    from .parser import parse_expression as parse

    raw = str(tok)[1:-1]
    parts: list = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        column = tok.column + 1 + i  # the template starts after the opening quote
        if ch == "\\" and i + 1 < len(raw):
            buf.append({"n": "\n", "t": "\t"}.get(raw[i + 1], raw[i + 1]))
            i += 2
        elif raw.startswith("{{", i) or raw.startswith("}}", i):
            buf.append(ch)
            i += 2
        elif ch == "{":
            end = _closing_brace(raw, i)
            if end < 0:
                problems.append(Diagnostic.error(
                    "POLC253", "a `{` in the message is never closed", Span(file, tok.line, column),
                    hint="close the interpolation with `}`, or write `{{` for a literal brace"))
                return ast.Message(tuple(parts), raw, span)
            text = raw[i + 1:end]
            if buf:
                parts.append("".join(buf))
                buf = []
            try:
                node = parse(text, file=file, line=tok.line, column=column + 1)
                where = Span(file, tok.line, column + 1, tok.line, column + 1 + len(text))
                parts.append(ast.Interpolation(ast.Expression(node, text, where)))
            except CelError as err:
                problems.extend(err.diagnostics)
            i = end + 1
        elif ch == "}":
            problems.append(Diagnostic.error(
                "POLC253", "a `}` in the message has no matching `{`", Span(file, tok.line, column),
                hint="write `}}` for a literal brace"))
            i += 1
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append("".join(buf))
    return ast.Message(tuple(parts), raw, span)


def _closing_brace(raw: str, start: int) -> int:
    """The index of the ``}`` closing the interpolation at ``start`` (nested maps, quotes), or -1."""
    level, quote, i = 0, "", start
    while i < len(raw):
        ch = raw[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "'":
            quote = ch
        elif ch == "{":
            level += 1
        elif ch == "}":
            level -= 1
            if level == 0:
                return i
        i += 1
    return -1


def render_message(parts, bindings: dict, program_for: Callable) -> str:
    """The message of ``parts`` (text, and expressions ``program_for`` evaluates) for ``bindings``."""
    from ..cel.errors import CelError

    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            out.append(format_value(program_for(part).evaluate(bindings), top=True))
        except CelError as err:
            out.append(f"<error: {err.message}>")
    return "".join(out)


def format_value(value: Any, top: bool = True) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return value if top else '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v, False) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_value(k, False)}: {format_value(v, False)}" for k, v in value.items()) + "}"
    return str(value)
