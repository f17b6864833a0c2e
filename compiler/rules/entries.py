"""Reading a snapshot's ``rules`` block: its formats, and each entry decoded from the IR.

A gate's or drift rule's entry holds each expression twice over: source text and span (for
people) and checked tree as expression IR (``node``, :mod:`compiler.cel.ir`). :class:`Entry`
decodes the lets and expressions of one entry into trees sharing one
:class:`compiler.cel.types.CheckResult` (types, lets), ready for the code generator;
:class:`Message` decodes a message's parts when it is first rendered. A block of the format
before the IR (``polc_rules@v1``) is compiled to the current one first, one entry at a time
(:func:`current_entry`, :mod:`compiler.rules.legacy`). Anything unreadable is a
:class:`RulesRuntimeError` with POLC271, naming the gate or rule.
"""

from __future__ import annotations

from typing import Mapping

from ..cel.ir import VERSION, Decoder, IRError, decode
from ..cel.types import DYN, CheckResult
from ..diagnostics import Diagnostic, Span
from ..errors import PolcError, UsageError

#: The format of the rules block this runtime reads directly (compiler.rules.lower).
RULES_FORMAT = "polc_rules@v2"
#: The format before the expression IR: source text only, compiled on first use.
LEGACY_FORMAT = "polc_rules@v1"


class RulesRuntimeError(PolcError):
    """A gate or rule that does not exist or whose block is malformed."""


class UnknownRule(UsageError, RulesRuntimeError, LookupError):
    """No gate or drift rule by that name: asking for it is a usage error (exit 2)."""


def block_span(file: str, span) -> Span:
    line, column, end_line, end_column = span
    return Span(file, line, column, end_line, end_column)


class Expr:
    """One stored expression: its source text and span (for people) and its checked tree."""

    __slots__ = ("text", "span", "name", "node", "program")

    def __init__(self, text: str, span: Span, name: str, node):
        self.text, self.span, self.name, self.node = text, span, name, node
        self.program = None

    def sub_text(self, span: Span) -> str:
        """The source text of a sub-expression of this one, by its span."""
        lines = self.text.split("\n")

        def offset(line: int, column: int) -> int:
            index = line - self.span.line
            base = sum(len(x) + 1 for x in lines[:index])
            return base + column - (self.span.column if index == 0 else 1)
        return self.text[offset(span.line, span.column):offset(span.end_line, span.end_column)]


class Entry:
    """A gate's or drift rule's entry of the rules block, decoded: lets, expressions, facts."""

    def __init__(self, entry: Mapping, decoder, name: str, file: str, declarations: dict):
        self.raw, self.name, self.file = entry, name, file
        self.facts = CheckResult(DYN, declarations)
        self._decoder, self._lets = decoder, 0
        try:
            for let in entry.get("lets", ()):
                node = self.node(let, let.get("file", file))
                self.facts.lets.append((let["name"], node))
                self._lets += 1
        except (IRError, KeyError, TypeError) as err:
            raise _malformed(name, err) from None

    def node(self, stored: Mapping, file: str | None = None):
        """The tree of one stored expression (``{"expr", "span", "node"}``)."""
        return self.tree(stored["node"], file)

    def tree(self, encoded, file: str | None = None):
        """The tree of one IR node (positions in ``file``, default the entry's)."""
        node, _ = decode(encoded, self._decoder, file=file or self.file, checked=self.facts, lets=self._lets)
        return node

    def expression(self, stored: Mapping, name: str) -> Expr:
        try:
            node = self.node(stored)
            span = block_span(self.file, stored["span"]) if "span" in stored else node.span
            return Expr(stored["expr"], span, name, node)
        except (IRError, KeyError, TypeError, ValueError) as err:
            raise _malformed(self.name, err) from None

    def message(self, stored: Mapping | None, name: str, rewrite=None) -> "Message | None":
        return None if stored is None else Message(stored, self, name, rewrite)


class Message:
    """A stored message: text and interpolations, decoded the first time it is rendered.

    A gate renders messages only when a condition fails, so a router whose gates pass never
    decodes them. ``rewrite`` is applied to each interpolation's tree (drift rules: ``ratio()``).
    """

    def __init__(self, stored: Mapping, entry: Entry, name: str, rewrite=None):
        self.stored, self.entry, self.name, self.rewrite = stored, entry, name, rewrite
        self._parts: list | None = None

    def parts(self) -> list:
        """Text parts and an :class:`Expr` for each interpolation; raises RulesRuntimeError if unreadable."""
        if self._parts is None:
            parts = self.stored.get("parts")
            if not isinstance(parts, (list, tuple)):
                raise _malformed(self.entry.name, "a message without its parts")
            decoded = []
            for i, part in enumerate(parts):
                if not isinstance(part, str):
                    part = self._interpolation(part, f"{self.name}.message{i}")
                decoded.append(part)
            self._parts = decoded
        return self._parts

    def _interpolation(self, encoded, name: str) -> Expr:
        try:
            node = self.entry.tree(encoded)
        except (IRError, TypeError, ValueError) as err:
            raise _malformed(self.entry.name, err) from None
        if self.rewrite is not None:
            node = self.rewrite(node)
        return Expr(self._text(node.span), node.span, name, node)

    def _text(self, span: Span) -> str:
        """The interpolation as written: cut from the template (which starts after the quote)."""
        template, (line, column) = self.stored.get("template", ""), self.stored["span"][:2]
        if span.line != line or span.end_line != line:
            return template
        return template[span.column - column - 1:span.end_column - column - 1] or template


def _malformed(name: str, err) -> RulesRuntimeError:
    message = f"the rules block entry of `{name}` is malformed: {err}"
    return RulesRuntimeError(message, [Diagnostic.error(
        "POLC271", message, hint="the snapshot was damaged or written by another tool; rebuild it with `polc build`")])


def current_entry(block: Mapping, kind: str, name: str, params: Mapping | None = None):
    """``(entry, decoder)`` of gate or drift rule ``name`` (``kind`` is ``gates`` or ``drift``).

    A ``polc_rules@v1`` entry (source text only) is compiled to the current format first.
    """
    form = block.get("format", LEGACY_FORMAT)
    if form == LEGACY_FORMAT:
        from .legacy import upgrade_entry  # the compiler front end, lark included: old snapshots only

        upgraded = upgrade_entry(block, kind, name, params)
        block, form = upgraded, upgraded["format"]
    if form != RULES_FORMAT:
        raise _unknown_format(form)
    ir = block.get("ir")
    try:
        if not isinstance(ir, Mapping) or ir.get("version") != VERSION:
            raise IRError(f"expected expression IR {VERSION}, found {ir.get('version') if isinstance(ir, Mapping) else ir!r}")
        return block[kind][name], Decoder(ir.get("types"))
    except IRError as err:
        raise _malformed(name, err) from None


def _unknown_format(form) -> RulesRuntimeError:
    message = f"the snapshot's rules block has format {form!r}; this runtime reads {RULES_FORMAT} and {LEGACY_FORMAT}"
    return RulesRuntimeError(message, [Diagnostic.error(
        "POLC271", message, hint="upgrade polc on this machine, or rebuild the policy with this polc version")])
