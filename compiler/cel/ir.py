"""The expression IR: a checked CEL tree as canonical-JSON data, and back (``polc-cel-ir@1``).

The snapshot carries every gate and drift rule expression in this form (docs/cel.md, "The
expression IR"; docs/rules-language.md, "In the snapshot"), so a router generates Python from it without
the parser or the checker: :func:`decode` rebuilds the tree (:mod:`compiler.cel.ast`) and the
checker's facts (:class:`compiler.cel.types.CheckResult`) that the code generators and the
interpreter read. Every ``compiler.cel.compile`` goes through it too, so the whole CEL
conformance suite checks that nothing is lost on the way.

An expression is one flat JSON array: each node in turn, its children right after it
(prefix order), so a snapshot holds one array per expression rather than one per node (it
parses faster, and the garbage collector has thousands fewer objects to walk). A node is a
tag, its span (line, column, end line, end column in the file of the expression it belongs
to), the index of its type in a type table of type texts (:func:`compiler.cel.types.parse_type`),
then what the tag needs, then its children::

    "lit", 3, 11, 3, 15, 0, "double", "2000.0"        literal: value kind, value
    "id", 3, 11, 3, 18, 4, "metrics"                   variable or type name
    "let", 3, 30, 3, 35, 0, "limit", 0                 a let of the declaration, by index
    "sel", l, c, el, ec, t, "p95", OPERAND             select
    "qsel", l, c, el, ec, t, "c", "a.b.c", OPERAND     a select naming a declared dotted variable
    "has", l, c, el, ec, t, "p95", OPERAND
    "idx", l, c, el, ec, t, OPERAND, INDEX
    "call", l, c, el, ec, t, "startsWith", 1, true, TARGET, ARG   function, argument count, has a target
    "list", l, c, el, ec, t, 2, ELEMENT, ELEMENT
    "map", l, c, el, ec, t, 1, KEY, VALUE
    "un", l, c, el, ec, t, "!", OPERAND
    "bin", l, c, el, ec, t, "<=", LEFT, RIGHT
    "cond", l, c, el, ec, t, COND, THEN, OTHERWISE
    "comp", l, c, el, ec, t, "exists", "m", false, RANGE, STEP    kind, variable, has a filter (map)

Literal values stay exact in canonical JSON (RFC 8785): ints and uints as JSON integers
within +/-(2^53-1) and as decimal strings beyond, doubles as their shortest ``repr`` text
(``"2000.0"``, ``"-0.0"``, ``"inf"``), bytes as hex text.

>>> from compiler.cel.checker import check
>>> from compiler.cel.parser import parse
>>> root = parse("m.p95 <= 2000.0")
>>> encoder = Encoder()
>>> node = encoder.node(root, check(root, {"m": "map(string, double)"}))
>>> types = encoder.finish()
>>> node, types
(['bin', 1, 1, 1, 16, 0, '<=', 'sel', 1, 1, 1, 6, 1, 'p95', 'id', 1, 1, 1, 2, 2, 'm', 'lit', 1, 10, 1, 16, 1, 'double', '2000.0'], ['bool', 'double', 'map(string, double)'])
>>> decoded, checked = decode(node, Decoder(types), file="<expr>")
>>> decoded == root, checked.type_of(decoded.left)
(True, double)
"""

from __future__ import annotations

from ..canonical_reference import MAX_SAFE_INTEGER  # the largest integer I-JSON carries exactly
from . import ast
from .types import DYN, CheckResult, Type, of_value, parse_type
from .values import INT64_MAX, INT64_MIN, UINT64_MAX, CelUint

VERSION = "polc-cel-ir@1"
#: What a quoted field name may hold besides letters and digits (the grammar's CEL_QUOTED_IDENT).
_FIELD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./ -")
_BINARY = frozenset({"||", "&&", "<", "<=", ">", ">=", "==", "!=", "in", "+", "-", "*", "/", "%"})
_UNARY = frozenset({"!", "-"})


class IRError(ValueError):
    """Encoded data that is not a valid expression IR (a damaged or foreign snapshot)."""


# --- encoding ------------------------------------------------------------------------------------

class Encoder:
    """Encodes checked trees sharing one type table; :meth:`finish` returns the table.

    Type indices follow the sorted table, so the encoding does not depend on the order in
    which expressions were encoded (the snapshot is the same for the same sources).
    """

    def __init__(self):
        self._types: dict[Type, int] = {}
        self._slots: list[tuple[list, int]] = []  # (encoded expression, index of a type slot)

    def node(self, root: ast.Expr, checked: CheckResult | None, *,
             lets: dict[int, int] | None = None) -> list:
        """``root`` as IR; ``lets`` renumbers the checker's let indices (default: as they are)."""
        out: list = []
        self._encode(root, checked, lets, out)
        return out

    def finish(self) -> list[str]:
        """The type table, sorted; every node encoded so far now refers into it."""
        final = {repr(t): i for i, t in enumerate(sorted(self._types, key=repr))}
        remap = {provisional: final[repr(t)] for t, provisional in self._types.items()}
        for encoded, slot in self._slots:
            encoded[slot] = remap[encoded[slot]]
        self._slots = []
        return sorted(final)

    def _type(self, found: Type) -> int:
        index = self._types.get(found)
        if index is None:
            index = self._types[found] = len(self._types)
        return index

    def _encode(self, node, checked, lets, out: list) -> None:
        span = node.span
        if isinstance(node, ast.Literal) or checked is None:
            found = of_value(node.value) if isinstance(node, ast.Literal) else DYN
        else:
            found = checked.type_of(node)
        tag, scalars, kids = self._parts(node, checked, lets)
        self._slots.append((out, len(out) + 5))
        out += [tag, span.line, span.column, span.end_line, span.end_column, self._type(found), *scalars]
        for child in kids:
            self._encode(child, checked, lets, out)

    def _parts(self, node, checked, lets) -> tuple[str, list, tuple]:
        """(tag, the node's own items, its children in order)."""
        if isinstance(node, ast.Literal):
            return "lit", encode_value(node.value), ()
        if isinstance(node, ast.Ident):
            index = None if checked is None else checked.let_refs.get(id(node))
            if index is not None:
                return "let", [node.name, index if lets is None else lets[index]], ()
            return "id", [node.name], ()
        if isinstance(node, ast.Select):
            qualified = None if checked is None else checked.qualified.get(id(node))
            if qualified is not None:
                return "qsel", [node.field, qualified], (node.operand,)
            return "sel", [node.field], (node.operand,)
        if isinstance(node, ast.Has):
            return "has", [node.field], (node.operand,)
        if isinstance(node, ast.Index):
            return "idx", [], (node.operand, node.index)
        if isinstance(node, ast.Call):
            target = () if node.target is None else (node.target,)
            return "call", [node.function, len(node.args), bool(target)], (*target, *node.args)
        if isinstance(node, ast.CreateList):
            return "list", [len(node.elements)], node.elements
        if isinstance(node, ast.CreateMap):
            return "map", [len(node.entries)], tuple(part for entry in node.entries for part in entry)
        if isinstance(node, ast.Unary):
            return "un", [node.op], (node.operand,)
        if isinstance(node, ast.Binary):
            return "bin", [node.op], (node.left, node.right)
        if isinstance(node, ast.Conditional):
            return "cond", [], (node.cond, node.then, node.otherwise)
        guard = () if node.guard is None else (node.guard,)
        return "comp", [node.kind, node.var, bool(guard)], (node.range, *guard, node.step)


def encode_value(value) -> list:
    """``[kind, value]`` for a literal, exact in canonical JSON."""
    if value is None:
        return ["null", None]
    if value is True or value is False:
        return ["bool", value]
    if isinstance(value, CelUint):
        return ["uint", _integer(int(value))]
    if type(value) is int:
        return ["int", _integer(value)]
    if type(value) is float:
        return ["double", repr(value)]
    if type(value) is str:
        return ["string", value]
    if type(value) is bytes:
        return ["bytes", value.hex()]
    raise IRError(f"a literal of Python type {type(value).__name__} has no IR form")


def _integer(value: int) -> int | str:
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)


# --- decoding ------------------------------------------------------------------------------------

class Decoder:
    """Reads nodes against one type table (types are parsed once, when first used)."""

    def __init__(self, types):
        if not isinstance(types, (list, tuple)) or not all(isinstance(t, str) for t in types):
            raise IRError("the IR type table must be a list of type texts")
        self.texts = types
        self._parsed: list[Type | None] = [None] * len(types)

    def type(self, index) -> Type:
        if type(index) is not int or not 0 <= index < len(self.texts):
            raise IRError(f"type index {index!r} is outside the type table")
        found = self._parsed[index]
        if found is None:
            try:
                found = self._parsed[index] = parse_type(self.texts[index], "IR type")
            except Exception as err:  # a CelError (POLC216); its module loads only when there is one
                from .errors import CelError

                if not isinstance(err, CelError):
                    raise
                raise IRError(f"IR type {self.texts[index]!r}: {err.message}") from None
        return found


def decode(encoded, decoder: Decoder, *, file: str, checked: CheckResult | None = None,
           lets: int = 0) -> tuple[ast.Expr, CheckResult]:
    """The tree of ``encoded`` (positions in ``file``) and its facts, added to ``checked``.

    ``lets`` is how many lets of ``checked`` the expression may refer to. Raises
    :class:`IRError` for anything that is not a valid expression.
    """
    if type(encoded) not in (list, tuple):
        raise IRError(f"not an IR expression: {_short(encoded)}")
    checked = checked if checked is not None else CheckResult(DYN, {})
    reader = _Reader(encoded, decoder, file, checked, lets)
    root = reader.node(1)
    if reader.pos != len(encoded):
        raise IRError(f"{len(encoded) - reader.pos} items after the end of the IR expression")
    checked.root_type = checked.types[id(root)]
    return root, checked


class _Reader:
    """Reads one flat expression from its start: each node, then its children."""

    def __init__(self, items, decoder: Decoder, file: str, checked: CheckResult, lets: int):
        self.items, self.pos = items, 0
        self.decoder, self.file, self.checked, self.lets = decoder, file, checked, lets
        self.scope: list[str] = []   # macro variables around the current node

    def take(self, count: int) -> list:
        start, self.pos = self.pos, self.pos + count
        if self.pos > len(self.items):
            raise IRError("the IR expression ends in the middle of a node")
        return self.items[start:self.pos]

    def node(self, depth: int) -> ast.Expr:
        if depth > ast.MAX_DEPTH:
            raise IRError(f"the expression nests deeper than {ast.MAX_DEPTH} levels")
        tag, line, column, end_line, end_column, type_index = self.take(6)
        method = _READERS.get(tag) if type(tag) is str else None
        if method is None:
            raise IRError(f"unknown IR node `{tag if type(tag) is str and len(tag) <= 20 else _short(tag)}`")
        if not (type(line) is int and type(column) is int and type(end_line) is int
                and type(end_column) is int and min(line, column, end_line, end_column) >= 0):
            raise IRError(f"bad position in IR node `{tag}`")
        found = self.decoder.type(type_index)
        node = method(self, depth + 1)._with_position((self.file, line, column, end_line, end_column))
        self.checked.types[id(node)] = found
        return node

    def _literal(self, depth):
        kind, value = self.take(2)
        return ast.Literal(decode_value(kind, value))

    def _ident(self, depth):
        (name,) = self.take(1)
        return ast.Ident(_name(name))

    def _let(self, depth):
        name, index = self.take(2)
        if type(index) is not int or not 0 <= index < self.lets:
            raise IRError(f"let index {index!r} is not a let defined before this expression")
        if _name(name) in self.scope:
            raise IRError(f"let `{name}` is shadowed by a macro variable here")
        node = ast.Ident(name)
        self.checked.let_refs[id(node)] = index
        return node

    def _select(self, depth):
        (field,) = self.take(1)
        return ast.Select(self.node(depth), _field(field))

    def _qualified_select(self, depth):
        field, qualified = self.take(2)
        if type(qualified) is not str or "." not in qualified or \
                not all(_is_name(part) for part in qualified.split(".")):
            raise IRError(f"bad qualified name {_short(qualified)}")
        node = ast.Select(self.node(depth), _field(field))
        self.checked.qualified[id(node)] = qualified
        return node

    def _has(self, depth):
        (field,) = self.take(1)
        return ast.Has(self.node(depth), _field(field))

    def _index(self, depth):
        return ast.Index(self.node(depth), self.node(depth))

    def _call(self, depth):
        function, count, has_target = self.take(3)
        target = self.node(depth) if _flag(has_target) else None
        return ast.Call(_name(function), tuple(self.node(depth) for _ in range(_count(count))), target)

    def _list(self, depth):
        (count,) = self.take(1)
        return ast.CreateList(tuple(self.node(depth) for _ in range(_count(count))))

    def _map(self, depth):
        (count,) = self.take(1)
        return ast.CreateMap(tuple((self.node(depth), self.node(depth)) for _ in range(_count(count))))

    def _unary(self, depth):
        (op,) = self.take(1)
        if op not in _UNARY:
            raise IRError(f"unknown unary operator {_short(op)}")
        return ast.Unary(op, self.node(depth))

    def _binary(self, depth):
        (op,) = self.take(1)
        if op not in _BINARY:
            raise IRError(f"unknown binary operator {_short(op)}")
        return ast.Binary(op, self.node(depth), self.node(depth))

    def _conditional(self, depth):
        return ast.Conditional(self.node(depth), self.node(depth), self.node(depth))

    def _comprehension(self, depth):
        kind, var, has_guard = self.take(3)
        guarded = _flag(has_guard)
        if kind not in ast.MACRO_KINDS or (guarded and kind != "map"):
            raise IRError(f"unknown macro {_short(kind)}")
        var = _name(var)
        if var.startswith("."):
            raise IRError(f"bad macro variable {var!r}")
        items = self.node(depth)
        self.scope.append(var)
        try:
            guard = self.node(depth) if guarded else None
            return ast.Comprehension(kind, var, items, self.node(depth), guard)
        finally:
            self.scope.pop()


_READERS = {"lit": _Reader._literal, "id": _Reader._ident, "let": _Reader._let,
            "sel": _Reader._select, "qsel": _Reader._qualified_select, "has": _Reader._has,
            "idx": _Reader._index, "call": _Reader._call, "list": _Reader._list, "map": _Reader._map,
            "un": _Reader._unary, "bin": _Reader._binary, "cond": _Reader._conditional,
            "comp": _Reader._comprehension}


def _count(value) -> int:
    if type(value) is not int or not 0 <= value <= 100_000:
        raise IRError(f"bad IR count {_short(value)}")
    return value


def _flag(value) -> bool:
    if type(value) is not bool:
        raise IRError(f"bad IR flag {_short(value)}")
    return value


def decode_value(kind, value):
    """The literal value of an IR ``[kind, value]`` pair (checked, never trusted)."""
    if kind == "null" and value is None:
        return None
    if kind == "bool" and type(value) is bool:
        return value
    if kind in ("int", "uint"):
        number = _whole(value)
        if kind == "int" and INT64_MIN <= number <= INT64_MAX:
            return number
        if kind == "uint" and 0 <= number <= UINT64_MAX:
            return CelUint(number)
    elif kind == "double" and type(value) is str:
        try:
            return float(value)
        except ValueError:
            pass
    elif kind == "string" and type(value) is str:
        return value
    elif kind == "bytes" and type(value) is str:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    raise IRError(f"bad IR literal {kind!r} {_short(value)}")


def _whole(value) -> int:
    if type(value) is int:
        return value
    if type(value) is str and value.lstrip("-").isdigit() and value.isascii():
        return int(value)
    raise IRError(f"bad IR integer {_short(value)}")


def _is_name(text: str) -> bool:
    return text.isidentifier() and text.isascii()


def _name(name) -> str:
    """A variable or function name: an ASCII identifier, maybe with a leading dot."""
    if type(name) is not str or not _is_name(name[1:] if name.startswith(".") else name):
        raise IRError(f"bad name {_short(name)} in the IR")
    return name


def _field(name) -> str:
    if type(name) is not str or not name or not _FIELD_CHARS.issuperset(name):
        raise IRError(f"bad field name {_short(name)} in the IR")
    return name


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
