"""CEL types for the checker, the declaration language that names them, and checked results.

Declarations map variable names to types, written as strings or, for object-like values
with known fields, as dicts::

    {"metrics": "map(string, double)", "models": "list(string)",
     "limits": {"p95": "double", "tags": "list(string)"}, "extra": "dyn"}

Type names: ``int uint double bool string bytes null_type timestamp duration type dyn``,
``list(T)``, ``map(K, V)`` and objects ``{name: T, ...}``; ``any`` is a synonym of ``dyn``
and ``null`` of ``null_type``. Two marks come from data described by JSON Schema (the
snapshot that drift rules read): ``T?`` is nullable (the value may also be null), and an
object whose field list ends in ``...`` is open (other fields may exist; they are ``dyn``).
The ``repr`` of a type is this same text, so every type round-trips through it (the
expression IR stores types that way, :mod:`compiler.cel.ir`).

>>> parse_type("map(string, list(int))")
map(string, list(int))
>>> parse_type({"p95": "double"}).fields
(('p95', double),)
>>> parse_type("{cost: {hard_limit: double}?, ...}")
{cost: {hard_limit: double}?, ...}
"""

from __future__ import annotations

import json
from functools import lru_cache

PRIMITIVES = ("int", "uint", "double", "bool", "string", "bytes", "null_type", "timestamp",
              "duration", "type", "dyn")
NUMERIC = frozenset({"int", "uint", "double"})
#: Key types a map may have (CEL's map keys).
MAP_KEYS = frozenset({"int", "uint", "bool", "string", "dyn"})


class Type:
    """``kind`` is a primitive name, ``list``, ``map`` or ``object``; immutable, compared by value.

    ``params`` are a list's element or a map's key and value types; ``fields`` are an object's
    known fields, sorted by name; ``nullable`` says null is a value too; ``open`` that an object
    may have fields beyond ``fields``.
    """

    __slots__ = ("kind", "params", "fields", "nullable", "open", "_hash")

    def __init__(self, kind: str, params: tuple["Type", ...] = (),
                 fields: tuple[tuple[str, "Type"], ...] = (), nullable: bool = False,
                 open: bool = False):
        put = object.__setattr__
        put(self, "kind", kind)
        put(self, "params", tuple(params))
        put(self, "fields", tuple(fields))
        put(self, "nullable", bool(nullable))
        put(self, "open", bool(open))
        put(self, "_hash", hash((kind, self.params, self.fields, self.nullable, self.open)))

    def __setattr__(self, name, value):
        raise AttributeError("types are immutable")

    def __eq__(self, other) -> bool:
        return isinstance(other, Type) and other._hash == self._hash and (
            other.kind, other.params, other.fields, other.nullable, other.open) == (
            self.kind, self.params, self.fields, self.nullable, self.open)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        if self.kind in ("list", "map"):
            text = f"{self.kind}({', '.join(map(repr, self.params))})"
        elif self.kind == "object":
            names = [f"{_field_name(k)}: {v!r}" for k, v in self.fields] + (["..."] if self.open else [])
            text = "{" + ", ".join(names) + "}"
        else:
            text = self.kind
        return text + ("?" if self.nullable and self.kind not in ("null_type", "dyn") else "")

    __str__ = __repr__

    @property
    def is_dyn(self) -> bool:
        return self.kind == "dyn"

    def field(self, name: str) -> "Type | None":
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def non_null(self) -> "Type":
        """This type without its null (what a value is once it is known not to be null)."""
        return self if not self.nullable else Type(self.kind, self.params, self.fields, False, self.open)

    def or_null(self) -> "Type":
        return self if self.nullable else Type(self.kind, self.params, self.fields, True, self.open)


def _field_name(name: str) -> str:
    return name if _is_name(name) else json.dumps(name)


def _is_name(text: str) -> bool:
    """An ASCII identifier (what a field may be called without quotes in a type text)."""
    return text.isidentifier() and text.isascii()


INT, UINT, DOUBLE, BOOL, STRING, BYTES, NULL, TIMESTAMP, DURATION, TYPE, DYN = (
    Type(name) for name in PRIMITIVES)
_BY_NAME = {t.kind: t for t in (INT, UINT, DOUBLE, BOOL, STRING, BYTES, NULL, TIMESTAMP,
                                DURATION, TYPE, DYN)} | {"any": DYN, "null": NULL}


def list_of(elem: Type) -> Type:
    return Type("list", (elem,))


def map_of(key: Type, value: Type) -> Type:
    return Type("map", (key, value))


def object_of(fields: dict[str, Type], *, open: bool = False, nullable: bool = False) -> Type:
    return Type("object", (), tuple(sorted(fields.items())), nullable, open)


def of_value(value) -> Type:
    """The static type of a literal value."""
    if value is None:
        return NULL
    kind = type(value)
    if kind is bool:
        return BOOL
    if kind is int:
        return INT
    if kind is float:
        return DOUBLE
    if kind is str:
        return STRING
    if kind is bytes:
        return BYTES
    from .values import CelUint
    return UINT if isinstance(value, CelUint) else DYN


def join(a: Type, b: Type) -> Type:
    """The type of a value that is either ``a`` or ``b`` (dyn when they differ)."""
    return a if a == b else DYN


class CheckResult:
    """What the checker proved about a tree, and what the code generators read.

    ``types`` maps ``id(node)`` to its type; ``qualified`` marks Select chains that name a
    declared dotted variable (``a.b``); ``lets`` are the named, shared sub-expressions the
    tree may refer to (``(name, node)`` in declaration order) and ``let_refs`` maps the
    ``id`` of an Ident that names one to its index. A result built by
    :mod:`compiler.cel.ir` from the snapshot is the same object as one the checker builds.
    """

    __slots__ = ("root_type", "declarations", "types", "qualified", "lets", "let_refs")

    def __init__(self, root_type: Type, declarations: dict, types: dict | None = None,
                 qualified: dict | None = None, lets: list | None = None, let_refs: dict | None = None):
        self.root_type = root_type
        self.declarations = declarations
        self.types: dict[int, Type] = {} if types is None else types
        self.qualified: dict[int, str] = {} if qualified is None else qualified
        self.lets: list[tuple[str, object]] = [] if lets is None else lets
        self.let_refs: dict[int, int] = {} if let_refs is None else let_refs

    def type_of(self, node) -> Type:
        return self.types.get(id(node), DYN)


# --- the declaration language ----------------------------------------------------------------

def parse_type(spec, where: str = "declaration") -> Type:
    """A Type from a declaration: a type string, a dict of fields, or a Type."""
    if isinstance(spec, Type):
        return spec
    if isinstance(spec, dict):
        return object_of({str(k): parse_type(v, f"{where}.{k}") for k, v in spec.items()})
    if not isinstance(spec, str):
        raise _bad(where, f"expected a type string or a dict of fields, got {type(spec).__name__}")
    return _parse_text(spec, where)


@lru_cache(maxsize=4096)
def _parse_text(spec: str, where: str) -> Type:
    tokens = _tokens(spec, where)
    result, pos = _parse(tokens, 0, spec, where)
    if pos != len(tokens):
        raise _bad(where, f"unexpected `{tokens[pos]}` in type `{spec}`")
    return result


_PUNCTUATION = frozenset("(),{}:?")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def _tokens(spec: str, where: str) -> list[str]:
    """Names (``double``, ``google.protobuf.Timestamp``), quoted field names, ``...`` and punctuation.

    A hand-written scanner rather than a regular expression: a router parses the types of its
    gates' inputs on its first evaluation, and compiling a pattern costs more than the scan.
    """
    tokens, pos, end = [], 0, len(spec)
    while pos < end:
        ch = spec[pos]
        if ch.isspace():
            pos += 1
        elif ch in _PUNCTUATION:
            tokens.append(ch)
            pos += 1
        elif spec.startswith("...", pos):
            tokens.append("...")
            pos += 3
        elif ch == '"':
            close = pos + 1
            while close < end and spec[close] != '"':
                close += 2 if spec[close] == "\\" else 1
            if close >= end:
                raise _bad(where, f"a quoted field name is not closed in type `{spec}`")
            tokens.append(spec[pos:close + 1])
            pos = close + 1
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            start = pos
            while pos < end and spec[pos] in _NAME_CHARS:
                pos += 1
            tokens.append(spec[start:pos])
        else:
            raise _bad(where, f"unexpected character in type `{spec}`")
    return tokens


def _parse(tokens: list[str], pos: int, spec: str, where: str) -> tuple[Type, int]:
    if pos >= len(tokens):
        raise _bad(where, f"type `{spec}` ends too early")
    name = tokens[pos]
    if name == "{":
        result, pos = _object(tokens, pos + 1, spec, where)
    elif name in ("list", "map"):
        args, pos = _args(tokens, pos + 1, spec, where)
        if len(args) != (1 if name == "list" else 2):
            raise _bad(where, f"`{name}` takes {1 if name == 'list' else 2} type arguments")
        if name == "map" and args[0].kind not in MAP_KEYS:
            raise _bad(where, f"a map key must be string, int, uint or bool, not `{args[0]!r}`")
        result = Type(name, tuple(args))
    elif name in _BY_NAME:
        result, pos = _BY_NAME[name], pos + 1
    else:
        from ..diagnostics import did_you_mean
        raise _bad(where, f"unknown type `{name}`", did_you_mean(name, [*PRIMITIVES, "list", "map"]))
    if pos < len(tokens) and tokens[pos] == "?":
        return result.or_null(), pos + 1
    return result, pos


def _object(tokens: list[str], pos: int, spec: str, where: str) -> tuple[Type, int]:
    fields: dict[str, Type] = {}
    is_open = False
    while pos < len(tokens) and tokens[pos] != "}":
        if tokens[pos] == "...":
            is_open, pos = True, pos + 1
        else:
            name = tokens[pos]
            if name.startswith('"'):
                name = json.loads(name)
            elif not _is_name(name):
                raise _bad(where, f"expected a field name in `{spec}`, got `{name}`")
            if pos + 1 >= len(tokens) or tokens[pos + 1] != ":":
                raise _bad(where, "an object type is `{name: type, ...}`")
            fields[name], pos = _parse(tokens, pos + 2, spec, where)
        if pos < len(tokens) and tokens[pos] == ",":
            pos += 1
        elif pos >= len(tokens) or tokens[pos] != "}":
            raise _bad(where, f"expected `,` or `}}` in type `{spec}`")
    if pos >= len(tokens):
        raise _bad(where, f"`{{` is not closed in type `{spec}`")
    return object_of(fields, open=is_open), pos + 1


def _args(tokens, pos, spec, where) -> tuple[list[Type], int]:
    if pos >= len(tokens) or tokens[pos] != "(":
        raise _bad(where, f"expected `(` in type `{spec}`, like `list(string)`")
    args, pos = [], pos + 1
    while True:
        arg, pos = _parse(tokens, pos, spec, where)
        args.append(arg)
        if pos < len(tokens) and tokens[pos] == ",":
            pos += 1
            continue
        if pos < len(tokens) and tokens[pos] == ")":
            return args, pos + 1
        raise _bad(where, f"expected `,` or `)` in type `{spec}`")


def _bad(where: str, message: str, hint: str | None = None):
    from .errors import CelError

    return CelError("POLC216", f"{where}: {message}", None,
                    hint=hint or "types: int uint double bool string bytes dyn list(T) map(K, V) "
                                 "or a dict of fields")


def parse_declarations(declarations: dict) -> dict[str, Type]:
    if not isinstance(declarations, dict):
        raise _bad("declarations", "expected a dict of name -> type")
    return {str(name): parse_type(spec, str(name)) for name, spec in declarations.items()}
