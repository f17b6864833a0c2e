"""CEL types for the checker, and the declaration language that names them.

Declarations map variable names to types, written as strings or, for object-like values
with known fields, as dicts::

    {"metrics": "map(string, double)", "models": "list(string)",
     "limits": {"p95": "double", "tags": "list(string)"}, "extra": "dyn"}

Type names: ``int uint double bool string bytes null_type timestamp duration type dyn``,
``list(T)``, ``map(K, V)``; ``any`` is accepted as a synonym of ``dyn``.

>>> parse_type("map(string, list(int))")
map(string, list(int))
>>> parse_type({"p95": "double"}).fields
(('p95', double),)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import CelError

PRIMITIVES = ("int", "uint", "double", "bool", "string", "bytes", "null_type", "timestamp",
              "duration", "type", "dyn")
NUMERIC = frozenset({"int", "uint", "double"})


@dataclass(frozen=True, slots=True)
class Type:
    """``kind`` is a primitive name, ``list``, ``map`` or ``object``."""

    kind: str
    params: tuple["Type", ...] = ()
    fields: tuple[tuple[str, "Type"], ...] = ()

    def __repr__(self) -> str:
        if self.kind in ("list", "map"):
            return f"{self.kind}({', '.join(map(repr, self.params))})"
        if self.kind == "object":
            return "{" + ", ".join(f"{k}: {v!r}" for k, v in self.fields) + "}"
        return self.kind

    @property
    def is_dyn(self) -> bool:
        return self.kind == "dyn"

    def field(self, name: str) -> "Type | None":
        return dict(self.fields).get(name)


INT, UINT, DOUBLE, BOOL, STRING, BYTES, NULL, TIMESTAMP, DURATION, TYPE, DYN = (
    Type(name) for name in PRIMITIVES)
_BY_NAME = {t.kind: t for t in (INT, UINT, DOUBLE, BOOL, STRING, BYTES, NULL, TIMESTAMP,
                                DURATION, TYPE, DYN)} | {"any": DYN, "null": NULL}


def list_of(elem: Type) -> Type:
    return Type("list", (elem,))


def map_of(key: Type, value: Type) -> Type:
    return Type("map", (key, value))


def object_of(fields: dict[str, Type]) -> Type:
    return Type("object", fields=tuple(sorted(fields.items())))


def of_value(value) -> Type:
    """The static type of a literal value."""
    from .semantics import type_name
    name = type_name(value)
    return _BY_NAME.get(name, DYN)


def join(a: Type, b: Type) -> Type:
    """The type of a value that is either ``a`` or ``b`` (dyn when they differ)."""
    return a if a == b else DYN


_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_.]*)|([(),]))")


def parse_type(spec, where: str = "declaration") -> Type:
    """A Type from a declaration: a type string, a dict of fields, or a Type."""
    if isinstance(spec, Type):
        return spec
    if isinstance(spec, dict):
        return object_of({str(k): parse_type(v, f"{where}.{k}") for k, v in spec.items()})
    if not isinstance(spec, str):
        raise _bad(where, f"expected a type string or a dict of fields, got {type(spec).__name__}")
    tokens = _tokens(spec, where)
    result, pos = _parse(tokens, 0, spec, where)
    if pos != len(tokens):
        raise _bad(where, f"unexpected `{tokens[pos]}` in type `{spec}`")
    return result


def _tokens(spec: str, where: str) -> list[str]:
    tokens, pos = [], 0
    spec = spec.rstrip()
    while pos < len(spec):
        match = _TOKEN.match(spec, pos)
        if not match:
            raise _bad(where, f"unexpected character in type `{spec}`")
        tokens.append(match.group(1) or match.group(2))
        pos = match.end()
    return tokens


def _parse(tokens: list[str], pos: int, spec: str, where: str) -> tuple[Type, int]:
    if pos >= len(tokens):
        raise _bad(where, f"type `{spec}` ends too early")
    name = tokens[pos]
    if name in ("list", "map"):
        args, pos = _args(tokens, pos + 1, spec, where)
        if len(args) != (1 if name == "list" else 2):
            raise _bad(where, f"`{name}` takes {1 if name == 'list' else 2} type arguments")
        return Type(name, tuple(args)), pos
    if name not in _BY_NAME:
        from ..diagnostics import did_you_mean
        raise _bad(where, f"unknown type `{name}`",
                   did_you_mean(name, [*PRIMITIVES, "list", "map"]))
    return _BY_NAME[name], pos + 1


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


def _bad(where: str, message: str, hint: str | None = None) -> CelError:
    return CelError("POLC216", f"{where}: {message}", None,
                    hint=hint or "types: int uint double bool string bytes dyn list(T) map(K, V) "
                                 "or a dict of fields")


def parse_declarations(declarations: dict) -> dict[str, Type]:
    if not isinstance(declarations, dict):
        raise _bad("declarations", "expected a dict of name -> type")
    return {str(name): parse_type(spec, str(name)) for name, spec in declarations.items()}
