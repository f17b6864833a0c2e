"""The CEL abstract syntax tree: small immutable nodes, every one with a ``span``.

Macros are already expanded by the parser: ``xs.all(x, p)`` is a :class:`Comprehension`
and ``has(a.b)`` is a :class:`Has`, so evaluators and the checker never see macro calls.

>>> from compiler.cel import parse
>>> parse("a.b + 1")
Binary(op='+', left=Select(operand=Ident(name='a', ...), field='b', ...), right=Literal(value=1, ...), ...)

Equality is structural (spans excluded); passes that attach facts to nodes (the checker's
types) key them by ``id(node)``, because hashing a deep tree structurally is quadratic.

The nodes are plain classes with ``__slots__`` rather than dataclasses: a router that
evaluates a gate imports this module on its first evaluation, and building a dozen
dataclasses costs several milliseconds there. A node built from the snapshot's expression
IR (:mod:`compiler.cel.ir`) makes its ``Span`` only when something asks for it.
"""

from __future__ import annotations

from typing import Iterator, Union

from ..diagnostics import Span

_NO_SPAN = Span("<expr>", 1, 1)
_set = object.__setattr__

#: Deepest expression tree accepted (by the parser, and by the IR decoder). The checker, code
#: generators and interpreter recurse over the tree (up to five Python frames per level), so
#: 100 levels stay well inside Python's default recursion limit of 1000 even when called from
#: a deep stack. polc never raises the interpreter-wide limit: doing so while another thread
#: runs ``compile()`` can crash that thread (CPython's AST recursion bookkeeping). The CEL
#: spec asks for at least 32 levels; policy conditions use a handful.
MAX_DEPTH = 100


class Node:
    """The base of every node: immutable, structural equality, a lazily built span."""

    __slots__ = ("_span", "_where")
    _fields: tuple[str, ...] = ()

    def _init_span(self, span) -> None:
        _set(self, "_span", _NO_SPAN if span is None else span)
        _set(self, "_where", None)

    @property
    def span(self) -> Span:
        span = self._span
        if span is None:  # decoded from the IR: (file, line, column, end_line, end_column)
            span = Span(*self._where)
            _set(self, "_span", span)
        return span

    def _with_position(self, where: tuple) -> "Node":
        """This node placed at ``where`` (file, line, column, end_line, end_column), lazily."""
        _set(self, "_span", None)
        _set(self, "_where", where)
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} nodes are immutable")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner}, ...)"

    def _replace(self, **changes) -> "Node":
        """A copy with some fields changed, at the same position."""
        values = {name: changes.get(name, getattr(self, name)) for name in self._fields}
        copy = type(self)(**values, span=self._span)
        if self._span is None:
            copy._with_position(self._where)
        return copy


class Literal(Node):
    """A constant: int, CelUint, float, str, bytes, bool or None."""

    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value: object, span: Span | None = None):
        _set(self, "value", value)
        self._init_span(span)

    def _kids(self) -> tuple:
        return ()


class Ident(Node):
    """A variable or type name (``x``, ``int``); a leading dot (``.x``) is kept in ``name``."""

    __slots__ = ("name",)
    _fields = ("name",)

    def __init__(self, name: str, span: Span | None = None):
        _set(self, "name", name)
        self._init_span(span)

    def _kids(self) -> tuple:
        return ()


class Select(Node):
    """Field selection ``operand.field`` (maps: key lookup)."""

    __slots__ = ("operand", "field")
    _fields = ("operand", "field")

    def __init__(self, operand: "Expr", field: str, span: Span | None = None):
        _set(self, "operand", operand)
        _set(self, "field", field)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.operand,)


class Has(Node):
    """``has(operand.field)``: does the map or object have the field?"""

    __slots__ = ("operand", "field")
    _fields = ("operand", "field")

    def __init__(self, operand: "Expr", field: str, span: Span | None = None):
        _set(self, "operand", operand)
        _set(self, "field", field)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.operand,)


class Index(Node):
    """``operand[index]`` on a list or map."""

    __slots__ = ("operand", "index")
    _fields = ("operand", "index")

    def __init__(self, operand: "Expr", index: "Expr", span: Span | None = None):
        _set(self, "operand", operand)
        _set(self, "index", index)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.operand, self.index)


class Call(Node):
    """A function call ``f(args)`` or a member call ``target.f(args)``."""

    __slots__ = ("function", "args", "target")
    _fields = ("function", "args", "target")

    def __init__(self, function: str, args: tuple["Expr", ...], target: "Expr | None" = None,
                 span: Span | None = None):
        _set(self, "function", function)
        _set(self, "args", tuple(args))
        _set(self, "target", target)
        self._init_span(span)

    def _kids(self) -> tuple:
        return self.args if self.target is None else (self.target, *self.args)


class CreateList(Node):
    __slots__ = ("elements",)
    _fields = ("elements",)

    def __init__(self, elements: tuple["Expr", ...], span: Span | None = None):
        _set(self, "elements", tuple(elements))
        self._init_span(span)

    def _kids(self) -> tuple:
        return self.elements


class CreateMap(Node):
    __slots__ = ("entries",)
    _fields = ("entries",)

    def __init__(self, entries: tuple[tuple["Expr", "Expr"], ...], span: Span | None = None):
        _set(self, "entries", tuple(tuple(entry) for entry in entries))
        self._init_span(span)

    def _kids(self) -> tuple:
        return tuple(part for entry in self.entries for part in entry)


class Unary(Node):
    """``!x`` or ``-x``."""

    __slots__ = ("op", "operand")
    _fields = ("op", "operand")

    def __init__(self, op: str, operand: "Expr", span: Span | None = None):
        _set(self, "op", op)
        _set(self, "operand", operand)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.operand,)


class Binary(Node):
    """``left op right``; ``op`` is one of ``|| && < <= >= > == != in + - * / %``."""

    __slots__ = ("op", "left", "right")
    _fields = ("op", "left", "right")

    def __init__(self, op: str, left: "Expr", right: "Expr", span: Span | None = None):
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.left, self.right)


class Conditional(Node):
    """``cond ? then : otherwise``."""

    __slots__ = ("cond", "then", "otherwise")
    _fields = ("cond", "then", "otherwise")

    def __init__(self, cond: "Expr", then: "Expr", otherwise: "Expr", span: Span | None = None):
        _set(self, "cond", cond)
        _set(self, "then", then)
        _set(self, "otherwise", otherwise)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.cond, self.then, self.otherwise)


#: The comprehension kinds the parser produces, one per macro.
MACRO_KINDS = ("all", "exists", "exists_one", "map", "filter")


class Comprehension(Node):
    """A macro over a list (elements) or map (keys).

    ``kind`` is one of :data:`MACRO_KINDS`. ``step`` is the predicate (all, exists,
    exists_one, filter) or the transform (map); ``guard`` is the filter of three-argument
    ``map(x, guard, transform)``, else None.
    """

    __slots__ = ("kind", "var", "range", "step", "guard")
    _fields = ("kind", "var", "range", "step", "guard")

    def __init__(self, kind: str, var: str, range: "Expr", step: "Expr", guard: "Expr | None" = None,
                 span: Span | None = None):
        _set(self, "kind", kind)
        _set(self, "var", var)
        _set(self, "range", range)
        _set(self, "step", step)
        _set(self, "guard", guard)
        self._init_span(span)

    def _kids(self) -> tuple:
        return (self.range, self.step) if self.guard is None else (self.range, self.guard, self.step)


Expr = Union[Literal, Ident, Select, Has, Index, Call, CreateList, CreateMap, Unary, Binary,
             Conditional, Comprehension]


def children(node: Expr) -> tuple:
    """The direct sub-expressions of ``node``, in source order."""
    return node._kids()


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
        stack.extend((child, level + 1) for child in current._kids())
    return deepest


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children (iterative)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current._kids()))


def nodes(node: Expr) -> list[Expr]:
    """Every node of the tree, in no particular order (faster than :func:`walk` when order does
    not matter)."""
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current._kids())
    return out


def qualified_parts(node: Expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None if the chain does not start at a plain name.

    >>> from compiler.cel import parse
    >>> qualified_parts(parse("a.b.c")), qualified_parts(parse("f(x).b"))
    (['a', 'b', 'c'], None)
    """
    fields: list[str] = []
    while isinstance(node, Select):
        fields.append(node.field)
        node = node.operand
    if not isinstance(node, Ident) or node.name.startswith("."):
        return None
    return [node.name, *reversed(fields)]
