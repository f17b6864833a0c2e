"""The expression IR: a checked CEL tree as canonical-JSON data, and back (``polc-cel-ir@1``).

The snapshot carries every gate and drift rule expression in this form
(docs/rules-language.md, "The expression IR"), so a router generates Python from it without
the parser or the checker: :func:`decode` rebuilds the tree (:mod:`compiler.cel.ast`) and the
checker's facts (:class:`compiler.cel.types.CheckResult`) that the code generators and the
interpreter read. Every ``compiler.cel.compile`` goes through it too, so the whole CEL
conformance suite checks that nothing is lost on the way.

A node is one JSON array: a tag, its span (line, column, end line, end column in the file
of the expression it belongs to), the index of its type in a type table of type texts
(:func:`compiler.cel.types.parse_type`), then what the tag needs::

    ["lit", 3, 11, 3, 15, 0, "double", "2000.0"]      literal: value kind, value
    ["id", 3, 11, 3, 18, 4, "metrics"]                 variable or type name
    ["let", 3, 30, 3, 35, 0, "limit", 0]               a let of the declaration, by index
    ["sel", l, c, el, ec, t, OPERAND, "p95"]           select (+ a qualified name, see below)
    ["has", l, c, el, ec, t, OPERAND, "p95"]
    ["idx", l, c, el, ec, t, OPERAND, INDEX]
    ["call", l, c, el, ec, t, "startsWith", TARGET | null, [ARG, ...]]
    ["list", l, c, el, ec, t, [ELEMENT, ...]]
    ["map", l, c, el, ec, t, [[KEY, VALUE], ...]]
    ["un", l, c, el, ec, t, "!", OPERAND]
    ["bin", l, c, el, ec, t, "<=", LEFT, RIGHT]
    ["cond", l, c, el, ec, t, COND, THEN, OTHERWISE]
    ["comp", l, c, el, ec, t, "exists", "m", RANGE, STEP, GUARD | null]

A select that names a declared dotted variable (``a.b``) carries that name as a last item.
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
(['bin', 1, 1, 1, 16, 0, '<=', ['sel', 1, 1, 1, 6, 1, ['id', 1, 1, 1, 2, 2, 'm'], 'p95'], ['lit', 1, 10, 1, 16, 1, 'double', '2000.0']], ['bool', 'double', 'map(string, double)'])
>>> decoded, checked = decode(node, Decoder(types), file="<expr>")
>>> decoded == root, checked.type_of(decoded.left)
(True, double)
"""

from __future__ import annotations

from . import ast
from .types import DYN, CheckResult, Type, of_value, parse_type
from .values import INT64_MAX, INT64_MIN, UINT64_MAX, CelUint

VERSION = "polc-cel-ir@1"
#: Largest integer canonical JSON (I-JSON, RFC 7493) carries exactly.
MAX_SAFE_INTEGER = 2 ** 53 - 1
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
        self._nodes: list[list] = []

    def node(self, root: ast.Expr, checked: CheckResult | None, *,
             lets: dict[int, int] | None = None) -> list:
        """``root`` as IR; ``lets`` renumbers the checker's let indices (default: as they are)."""
        return self._encode(root, checked, lets)

    def finish(self) -> list[str]:
        """The type table, sorted; every node encoded so far now refers into it."""
        texts = sorted({repr(t): t for t in self._types})
        final = {repr(t): i for i, t in enumerate(sorted(self._types, key=repr))}
        remap = {provisional: final[repr(t)] for t, provisional in self._types.items()}
        for encoded in self._nodes:
            encoded[5] = remap[encoded[5]]
        self._nodes = []
        return texts

    def _type(self, found: Type) -> int:
        index = self._types.get(found)
        if index is None:
            index = self._types[found] = len(self._types)
        return index

    def _encode(self, node, checked, lets) -> list:
        span = node.span
        if isinstance(node, ast.Literal) or checked is None:
            found = of_value(node.value) if isinstance(node, ast.Literal) else DYN
        else:
            found = checked.type_of(node)
        head = [span.line, span.column, span.end_line, span.end_column, self._type(found)]
        out = self._payload(node, head, checked, lets)
        self._nodes.append(out)
        return out

    def _payload(self, node, head: list, checked, lets) -> list:
        sub = lambda child: self._encode(child, checked, lets)  # noqa: E731
        if isinstance(node, ast.Literal):
            return ["lit", *head, *encode_value(node.value)]
        if isinstance(node, ast.Ident):
            index = None if checked is None else checked.let_refs.get(id(node))
            if index is not None:
                return ["let", *head, node.name, index if lets is None else lets[index]]
            return ["id", *head, node.name]
        if isinstance(node, ast.Select):
            out = ["sel", *head, sub(node.operand), node.field]
            qualified = None if checked is None else checked.qualified.get(id(node))
            return out + [qualified] if qualified is not None else out
        if isinstance(node, ast.Has):
            return ["has", *head, sub(node.operand), node.field]
        if isinstance(node, ast.Index):
            return ["idx", *head, sub(node.operand), sub(node.index)]
        if isinstance(node, ast.Call):
            target = None if node.target is None else sub(node.target)
            return ["call", *head, node.function, target, [sub(a) for a in node.args]]
        if isinstance(node, ast.CreateList):
            return ["list", *head, [sub(e) for e in node.elements]]
        if isinstance(node, ast.CreateMap):
            return ["map", *head, [[sub(k), sub(v)] for k, v in node.entries]]
        if isinstance(node, ast.Unary):
            return ["un", *head, node.op, sub(node.operand)]
        if isinstance(node, ast.Binary):
            return ["bin", *head, node.op, sub(node.left), sub(node.right)]
        if isinstance(node, ast.Conditional):
            return ["cond", *head, sub(node.cond), sub(node.then), sub(node.otherwise)]
        guard = None if node.guard is None else sub(node.guard)
        return ["comp", *head, node.kind, node.var, sub(node.range), sub(node.step), guard]


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
    :class:`IRError` for anything that is not a valid node.
    """
    checked = checked if checked is not None else CheckResult(DYN, {})
    reader = _Reader(decoder, file, checked, lets)
    root = reader.node(encoded, 1)
    checked.root_type = checked.types[id(root)]
    return root, checked


class _Reader:
    def __init__(self, decoder: Decoder, file: str, checked: CheckResult, lets: int):
        self.decoder, self.file, self.checked, self.lets = decoder, file, checked, lets
        self.scope: list[str] = []   # macro variables around the current node

    def node(self, encoded, depth: int) -> ast.Expr:
        if depth > ast.MAX_DEPTH:
            raise IRError(f"the expression nests deeper than {ast.MAX_DEPTH} levels")
        if type(encoded) not in (list, tuple) or len(encoded) < 7 or type(encoded[0]) is not str:
            raise IRError(f"not an IR node: {_short(encoded)}")
        method = _READERS.get(encoded[0])
        if method is None:
            raise IRError(f"unknown IR node `{encoded[0]}`")
        line, column, end_line, end_column, type_index = encoded[1:6]
        if not (type(line) is int and type(column) is int and type(end_line) is int
                and type(end_column) is int and min(line, column, end_line, end_column) >= 0):
            raise IRError(f"bad position in IR node {_short(encoded)}")
        found = self.decoder.type(type_index)
        node = method(self, encoded, depth + 1)._with_position((self.file, line, column, end_line, end_column))
        self.checked.types[id(node)] = found
        return node

    def _sub(self, encoded, depth):
        return self.node(encoded, depth)

    def _arity(self, encoded, count: int) -> list:
        if len(encoded) != 6 + count:
            raise IRError(f"IR node `{encoded[0]}` has {len(encoded) - 6} items, expected {count}")
        return encoded[6:]

    def _literal(self, encoded, depth):
        kind, value = self._arity(encoded, 2)
        return ast.Literal(decode_value(kind, value))

    def _ident(self, encoded, depth):
        (name,) = self._arity(encoded, 1)
        return ast.Ident(_name(name))

    def _let(self, encoded, depth):
        name, index = self._arity(encoded, 2)
        if type(index) is not int or not 0 <= index < self.lets:
            raise IRError(f"let index {index!r} is not a let defined before this expression")
        if _name(name) in self.scope:
            raise IRError(f"let `{name}` is shadowed by a macro variable here")
        node = ast.Ident(name)
        self.checked.let_refs[id(node)] = index
        return node

    def _select(self, encoded, depth):
        if len(encoded) == 9:
            operand, field, qualified = encoded[6:]
            if type(qualified) is not str or "." not in qualified or \
                    not all(_is_name(part) for part in qualified.split(".")):
                raise IRError(f"bad qualified name {qualified!r}")
        else:
            (operand, field), qualified = self._arity(encoded, 2), None
        node = ast.Select(self._sub(operand, depth), _field(field))
        if qualified is not None:
            self.checked.qualified[id(node)] = qualified
        return node

    def _has(self, encoded, depth):
        operand, field = self._arity(encoded, 2)
        return ast.Has(self._sub(operand, depth), _field(field))

    def _index(self, encoded, depth):
        operand, index = self._arity(encoded, 2)
        return ast.Index(self._sub(operand, depth), self._sub(index, depth))

    def _call(self, encoded, depth):
        function, target, args = self._arity(encoded, 3)
        if type(args) not in (list, tuple):
            raise IRError("the arguments of an IR call must be a list")
        return ast.Call(_name(function), tuple(self._sub(a, depth) for a in args),
                        None if target is None else self._sub(target, depth))

    def _list(self, encoded, depth):
        (elements,) = self._arity(encoded, 1)
        if type(elements) not in (list, tuple):
            raise IRError("the elements of an IR list must be a list")
        return ast.CreateList(tuple(self._sub(e, depth) for e in elements))

    def _map(self, encoded, depth):
        (entries,) = self._arity(encoded, 1)
        if type(entries) not in (list, tuple) or not all(type(e) in (list, tuple) and len(e) == 2 for e in entries):
            raise IRError("the entries of an IR map must be [key, value] pairs")
        return ast.CreateMap(tuple((self._sub(k, depth), self._sub(v, depth)) for k, v in entries))

    def _unary(self, encoded, depth):
        op, operand = self._arity(encoded, 2)
        if op not in _UNARY:
            raise IRError(f"unknown unary operator {op!r}")
        return ast.Unary(op, self._sub(operand, depth))

    def _binary(self, encoded, depth):
        op, left, right = self._arity(encoded, 3)
        if op not in _BINARY:
            raise IRError(f"unknown binary operator {op!r}")
        return ast.Binary(op, self._sub(left, depth), self._sub(right, depth))

    def _conditional(self, encoded, depth):
        cond, then, otherwise = self._arity(encoded, 3)
        return ast.Conditional(self._sub(cond, depth), self._sub(then, depth), self._sub(otherwise, depth))

    def _comprehension(self, encoded, depth):
        kind, var, range_, step, guard = self._arity(encoded, 5)
        if kind not in ast.MACRO_KINDS or (guard is not None and kind != "map"):
            raise IRError(f"unknown macro {kind!r}")
        var = _name(var)
        if var.startswith("."):
            raise IRError(f"bad macro variable {var!r}")
        items = self._sub(range_, depth)
        self.scope.append(var)
        try:
            return ast.Comprehension(kind, var, items, self._sub(step, depth),
                                     None if guard is None else self._sub(guard, depth))
        finally:
            self.scope.pop()


_READERS = {"lit": _Reader._literal, "id": _Reader._ident, "let": _Reader._let,
            "sel": _Reader._select, "has": _Reader._has, "idx": _Reader._index,
            "call": _Reader._call, "list": _Reader._list, "map": _Reader._map,
            "un": _Reader._unary, "bin": _Reader._binary, "cond": _Reader._conditional,
            "comp": _Reader._comprehension}


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
