"""Parse a ``.rules`` file into :mod:`compiler.rules.ast`, with a span on every node.

>>> f = parse_rules('drift DR_X WARN {\\n  when new.a != old.a\\n}\\n', "x.rules")
>>> f.drifts[0].rule_id, f.drifts[0].severity, f.drifts[0].when.text
('DR_X', 'WARN', 'new.a != old.a')

How CEL is embedded: ``rules.lark`` ``%import``s the CEL grammar (``compiler/cel/cel.lark``),
and one LALR parser with an inline transformer builds both the declarations (here) and the
CEL AST (``compiler.cel.parser.CelTransformer``, merged under the ``cel`` namespace). So a
syntax error anywhere in the file is one lark error with one position, and every CEL node
carries its position in the ``.rules`` file. Parsing is bottom-up and iterative: a
10,000-deep expression is refused by the depth check, never by a ``RecursionError``.

Every failure is a :class:`compiler.errors.InputError` carrying diagnostics (POLC25x, or
the CEL engine's POLC20x for an expression), never a lark exception or a traceback.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from lark import Token, Transformer

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from . import ast
from .limits import MAX_EXPR_CHARS, check_limits

GRAMMAR_PATH = Path(__file__).with_name("rules.lark")
CEL_GRAMMAR = GRAMMAR_PATH.parent.parent / "cel" / "cel.lark"

_local = threading.local()


class RulesTransformer(Transformer):
    """Builds declaration nodes; CEL nodes arrive already built by the merged CelTransformer."""

    def reset(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.problems: list[Diagnostic] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    # --- spans and text --------------------------------------------------------------------
    def tok_span(self, tok: Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def span_of(self, item) -> Span:
        if isinstance(item, Token):
            return self.tok_span(item)
        return item.span

    def covering(self, first, last) -> Span:
        return Span.covering(self.span_of(first), self.span_of(last))

    def _offset(self, line: int, column: int) -> int:
        return self._line_starts[line - 1] + column - 1

    def expression(self, node) -> ast.Expression:
        """Wrap a CEL node with its source text, after the whole-tree checks of the CEL engine."""
        from ..cel import CelError
        from ..cel.parser import finish

        span = node.span
        start, end = _balanced(self.text, self._offset(span.line, span.column),
                               self._offset(span.end_line, span.end_column))
        text = self.text[start:end]
        span = Span(span.file, *self._position(start), *self._position(end))
        if len(text) > MAX_EXPR_CHARS:
            self.problems.append(Diagnostic.error(
                "POLC203", f"expression is {len(text):,} characters; the limit is {MAX_EXPR_CHARS:,}",
                Span(span.file, span.line, span.column), hint="move large data out of the rule"))
        else:
            try:
                finish(node)
            except CelError as err:
                self.problems.extend(err.diagnostics)
        return ast.Expression(node, text, span)

    def _position(self, offset: int) -> tuple[int, int]:
        from bisect import bisect_right
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    # --- declarations ----------------------------------------------------------------------
    def start(self, items):
        return ast.RulesFile(
            self.file,
            tuple(i for i in items if isinstance(i, ast.Import)),
            tuple(i for i in items if isinstance(i, ast.Const)),
            tuple(i for i in items if isinstance(i, ast.Gate)),
            tuple(i for i in items if isinstance(i, ast.Drift)))

    def import_decl(self, children):
        kw, path = children
        return ast.Import(str(path)[1:-1], self.covering(kw, path))

    def const_decl(self, children):
        kw, name, _eq, node = children
        return ast.Const(str(name), self.expression(node), self.covering(kw, node))

    def gate_decl(self, children):
        kw, name, _open, *body, close = children
        return ast.Gate(str(name), tuple(body), self.covering(kw, close), self.tok_span(name))

    def drift_decl(self, children):
        kw, rule_id, severity, _open, *rest = children
        close, message, when_node = rest[-1], rest[-2], rest[-3]
        lets = tuple(s for s in rest[:-4] if isinstance(s, ast.Let))
        return ast.Drift(str(rule_id), str(severity), lets, self.expression(when_node), message,
                         self.covering(kw, close), self.tok_span(rule_id), self.tok_span(severity))

    def input_stmt(self, children):
        kw, name, _colon, type_ref = children
        return ast.Input(str(name), type_ref, self.covering(kw, type_ref))

    def let_stmt(self, children):
        kw, name, _eq, node = children
        return ast.Let(str(name), self.expression(node), self.covering(kw, node))

    def require_stmt(self, children):
        kw, node, message = children
        expr = self.expression(node)
        return ast.Require(expr, message, self.covering(kw, message or node))

    def message(self, children):
        kw, tok = children
        from .messages import parse_message
        return parse_message(tok, self.file, self.problems, self.tok_span(tok))

    def type_expr(self, children):
        name = children[0]
        args = tuple(c for c in children[1:] if isinstance(c, ast.TypeRef))
        last = next((c for c in reversed(children) if c is not None), name)
        return ast.TypeRef(str(name), args, self.covering(name, last))

    def object_type(self, children):
        fields = tuple(c for c in children if isinstance(c, tuple))
        return ast.TypeRef("object", (), self.covering(children[0], children[-1]), fields)

    def type_field(self, children):
        name, _colon, type_ref = children
        return (str(name), type_ref)


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``text[start:end]`` over the parentheses the CEL AST drops (``(a) || (b)``)."""
    depth, lowest, i = 0, 0, start
    while i < end:
        ch = text[i]
        if ch in "\"'":
            close = text.find(ch, i + 1)
            while close > 0 and text[close - 1] == "\\":
                close = text.find(ch, close + 1)
            i = end if close < 0 else close + 1
            continue
        depth += (ch == "(") - (ch == ")")
        lowest = min(lowest, depth)
        i += 1
    for _ in range(-lowest):      # unmatched `)`: take in the `(` before the start
        j = start - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        if j < 0 or text[j] != "(":
            break
        start = j
    for _ in range(depth - lowest):  # unmatched `(`: take in the `)` after the end
        j = end
        while j < len(text) and text[j].isspace():
            j += 1
        if j >= len(text) or text[j] != ")":
            break
        end = j + 1
    return start, end


def _parser():
    """One LALR parser per thread (its transformers carry the current file)."""
    state = getattr(_local, "state", None)
    if state is None:
        from lark import Lark
        from lark.visitors import merge_transformers

        from ..cel.parser import CelTransformer

        rules, cel = RulesTransformer(), CelTransformer()
        merged = merge_transformers(rules, cel=cel)
        lark = Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr", transformer=merged,
                    import_paths=[CEL_GRAMMAR.parent], maybe_placeholders=True, start=["start", "expr"],
                    cache=_cache_file())
        state = _local.state = (lark, rules, cel)
    return state


def _cache_file() -> str:
    """Lark's parse-table cache, keyed by both grammars and lark's version (never in the source tree).

    Building the LALR tables costs ~0.8 s; loading them ~0.05 s. Lark's own key ignores
    imported grammars, so the key here covers cel.lark too.
    """
    import hashlib
    import tempfile

    import lark

    digest = hashlib.sha256(GRAMMAR_PATH.read_bytes() + CEL_GRAMMAR.read_bytes() + lark.__version__.encode())
    return str(Path(tempfile.gettempdir()) / f"polc-rules-{digest.hexdigest()[:16]}.lark-cache")


def parse_expression(text: str, *, file: str, line: int = 1, column: int = 1):
    """Parse one CEL expression with the rules parser (no second parser to build).

    On a syntax error the CEL engine's own parser reports it (its messages are the reference).
    """
    from lark.exceptions import UnexpectedInput

    from ..cel import parse
    from ..cel.parser import finish

    if len(text) > MAX_EXPR_CHARS:  # refused by the engine's parser before it reads the text
        return parse(text, file=file, line=line, column=column)
    lark, rules, cel = _parser()
    # May run inside a file parse (a message's interpolations): keep the outer state.
    saved = (rules.__dict__.copy(), (cel.file, cel.line_offset, cel.column_offset))
    rules.reset(file, text)
    cel.locate(file, line, column)
    try:
        return finish(lark.parse(text, start="expr"))
    except (UnexpectedInput, RecursionError):
        pass
    finally:
        rules.__dict__.update(saved[0])
        cel.file, cel.line_offset, cel.column_offset = saved[1]
    return parse(text, file=file, line=line, column=column)  # raises the engine's CelError


def parse_rules(text: str, file: str) -> ast.RulesFile:
    """Parse one ``.rules`` file; raise InputError with diagnostics on any syntax problem.

    Expressions over the size limits are refused before anything is parsed (:mod:`.limits`).
    """
    from lark.exceptions import UnexpectedInput

    from ..cel import CelError

    too_large = check_limits(text, file)
    if too_large:
        raise InputError(f"{file}: an expression is too large", too_large)
    lark, rules, cel = _parser()
    rules.reset(file, text)
    cel.locate(file, 1, 1)
    try:
        tree = lark.parse(text, start="start")
    except UnexpectedInput as err:
        from .syntax import describe
        raise InputError(f"{file}: syntax error", [describe(err, text, file)]) from None
    except CelError as err:  # raised by the CEL transformer: reserved word, macro arity, ...
        raise InputError(f"{file}: syntax error", err.diagnostics) from None
    except RecursionError:  # defensive: parsing is iterative, but never leak this
        raise InputError(f"{file}: too deep", [Diagnostic.error(
            "POLC203", "the file nests too deeply", Span.whole_file(file))]) from None
    if rules.problems:
        raise InputError(f"{file}: syntax error", rules.problems)
    return tree
