"""The CEL abstract syntax tree: frozen dataclasses, every node with a ``span``.

Macros are already expanded by the parser: ``xs.all(x, p)`` is a :class:`Comprehension`
and ``has(a.b)`` is a :class:`Has`, so evaluators and the checker never see macro calls.

>>> from compiler.cel import parse
>>> parse("a.b + 1")
Binary(op='+', left=Select(operand=Ident(name='a', ...), field='b', ...), right=Literal(value=1, ...), ...)

Equality is structural (spans included); passes that attach facts to nodes (the checker's
types) key them by ``id(node)``, because hashing a deep tree structurally is quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

from ..diagnostics import Span

_NO_SPAN = Span("<expr>", 1, 1)


def _short_repr(cls):
    """Hide spans from ``repr`` so doctests and failure messages stay readable."""
    names = [f for f in cls.__dataclass_fields__ if f != "span"]

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{cls.__name__}({inner}, ...)"

    cls.__repr__ = __repr__
    return cls


@_short_repr
@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: int, CelUint, float, str, bytes, bool or None."""

    value: object
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Ident:
    """A variable or type name (``x``, ``int``); a leading dot (``.x``) is kept in ``name``."""

    name: str
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Select:
    """Field selection ``operand.field`` (maps: key lookup)."""

    operand: "Expr"
    field: str
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Has:
    """``has(operand.field)``: does the map or object have the field?"""

    operand: "Expr"
    field: str
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Index:
    """``operand[index]`` on a list or map."""

    operand: "Expr"
    index: "Expr"
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Call:
    """A function call ``f(args)`` or a member call ``target.f(args)``."""

    function: str
    args: tuple["Expr", ...]
    target: "Expr | None" = None
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class CreateList:
    elements: tuple["Expr", ...]
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class CreateMap:
    entries: tuple[tuple["Expr", "Expr"], ...]
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Unary:
    """``!x`` or ``-x``."""

    op: str
    operand: "Expr"
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right``; ``op`` is one of ``|| && < <= >= > == != in + - * / %``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = field(default=_NO_SPAN, compare=False)


@_short_repr
@dataclass(frozen=True, slots=True)
class Conditional:
    """``cond ? then : otherwise``."""

    cond: "Expr"
    then: "Expr"
    otherwise: "Expr"
    span: Span = field(default=_NO_SPAN, compare=False)


#: The comprehension kinds the parser produces, one per macro.
MACRO_KINDS = ("all", "exists", "exists_one", "map", "filter")


@_short_repr
@dataclass(frozen=True, slots=True)
class Comprehension:
    """A macro over a list (elements) or map (keys).

    ``kind`` is one of :data:`MACRO_KINDS`. ``step`` is the predicate (all, exists,
    exists_one, filter) or the transform (map); ``guard`` is the filter of three-argument
    ``map(x, guard, transform)``, else None.
    """

    kind: str
    var: str
    range: "Expr"
    step: "Expr"
    guard: "Expr | None" = None
    span: Span = field(default=_NO_SPAN, compare=False)


Expr = Union[Literal, Ident, Select, Has, Index, Call, CreateList, CreateMap, Unary, Binary,
             Conditional, Comprehension]


def children(node: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, (Select, Has)):
        yield node.operand
    elif isinstance(node, Index):
        yield node.operand
        yield node.index
    elif isinstance(node, Call):
        if node.target is not None:
            yield node.target
        yield from node.args
    elif isinstance(node, CreateList):
        yield from node.elements
    elif isinstance(node, CreateMap):
        for key, value in node.entries:
            yield key
            yield value
    elif isinstance(node, Unary):
        yield node.operand
    elif isinstance(node, Binary):
        yield node.left
        yield node.right
    elif isinstance(node, Conditional):
        yield node.cond
        yield node.then
        yield node.otherwise
    elif isinstance(node, Comprehension):
        yield node.range
        if node.guard is not None:
            yield node.guard
        yield node.step


def depth(node: Expr) -> int:
    """The nesting depth of ``node``, computed without recursion (trees may be deep).

    >>> depth(Unary("!", Unary("!", Literal(True))))
    3
    """
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children (iterative)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))
