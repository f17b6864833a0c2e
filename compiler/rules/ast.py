"""The syntax tree of a ``.rules`` file: frozen dataclasses, every node with a ``span``.

Expressions inside are :mod:`compiler.cel.ast` nodes (with file positions); each statement
also keeps the expression's source text, which is what the snapshot stores and the runtime
re-parses (never generated Python).

>>> from compiler.rules.parser import parse_rules
>>> f = parse_rules('gate g {\\n  require 1 < 2 message "ok"\\n}\\n', "g.rules")
>>> f.gates[0].requires[0].text, str(f.gates[0].requires[0].span)
('1 < 2', 'g.rules:2:3')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..diagnostics import Span

#: Drift severities, weakest first (spec 000 §8: the linter's status is the highest one).
SEVERITIES = ("INFO", "WARN", "BLOCK")


@dataclass(frozen=True, slots=True)
class Expression:
    """A CEL expression as written: its AST (``node``), its text and where it is."""

    node: object          # compiler.cel.ast.Expr
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A declared type: ``double``, ``list(string)``, ``map(string, double)``, ``{p95: double}``."""

    name: str                                  # "object" for `{field: type, ...}`
    args: tuple["TypeRef", ...]
    span: Span
    fields: tuple[tuple[str, "TypeRef"], ...] = ()

    def __str__(self) -> str:
        if self.name == "object":
            return "{" + ", ".join(f"{k}: {v}" for k, v in self.fields) + "}"
        return self.name + (f"({', '.join(map(str, self.args))})" if self.args else "")


@dataclass(frozen=True, slots=True)
class Interpolation:
    """``{expr}`` inside a message."""

    expr: Expression


@dataclass(frozen=True, slots=True)
class Message:
    """A message template: literal text and interpolations, in order."""

    parts: tuple[Union[str, Interpolation], ...]
    text: str             # the template as written, without the quotes
    span: Span            # of the quoted string

    @property
    def interpolations(self) -> tuple[Interpolation, ...]:
        return tuple(p for p in self.parts if isinstance(p, Interpolation))


@dataclass(frozen=True, slots=True)
class Import:
    path: str
    span: Span


@dataclass(frozen=True, slots=True)
class Const:
    name: str
    expr: Expression
    span: Span


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    type: TypeRef
    span: Span


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    expr: Expression
    span: Span


@dataclass(frozen=True, slots=True)
class Require:
    expr: Expression
    message: Message | None
    span: Span

    @property
    def text(self) -> str:
        return self.expr.text


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    body: tuple[Union[Input, Let, Require], ...]   # in source order: lets see what is above
    span: Span
    name_span: Span

    @property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(s for s in self.body if isinstance(s, Input))

    @property
    def lets(self) -> tuple[Let, ...]:
        return tuple(s for s in self.body if isinstance(s, Let))

    @property
    def requires(self) -> tuple[Require, ...]:
        return tuple(s for s in self.body if isinstance(s, Require))


@dataclass(frozen=True, slots=True)
class Drift:
    rule_id: str
    severity: str
    lets: tuple[Let, ...]
    when: Expression
    message: Message | None
    span: Span
    name_span: Span
    severity_span: Span


@dataclass(frozen=True, slots=True)
class RulesFile:
    path: str             # project-relative (or ``stdlib/...``) name
    imports: tuple[Import, ...]
    consts: tuple[Const, ...]
    gates: tuple[Gate, ...]
    drifts: tuple[Drift, ...]
