"""The type checker: infer a type for every node from the declarations, or report why not.

>>> from compiler.cel.parser import parse
>>> result = check(parse("limits.p95 > 1"), {"limits": {"p95": "double"}})
>>> result.root_type
bool
>>> check(parse("limits.p99 > 1"), {"limits": {"p95": "double"}})
Traceback (most recent call last):
...
compiler.cel.errors.CelError: <expr>:1:1: POLC211 unknown field `p99` ... (did you mean `p95`? ...)

``dyn`` passes everywhere; a value of unknown type checks against anything. The result's
``types`` (keyed by ``id(node)``) and ``qualified`` (Select nodes that name a declared
dotted variable such as ``a.b``) feed the code generator's fast paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast
from .errors import CelError
from .types import (BOOL, BYTES, DOUBLE, DURATION, DYN, INT, NULL, NUMERIC, STRING, TIMESTAMP,
                    TYPE, UINT, Type, join, list_of, map_of, of_value, parse_declarations)
from .values import TYPE_DENOTATIONS
from ..diagnostics import did_you_mean

#: Function signatures: name -> (allowed receiver/argument kinds per position, result).
#: ``None`` as a result means "the type of the first argument" (dyn); kinds are type kinds.
_ANY = frozenset({"*"})
GLOBAL_SIGNATURES = {
    "size": ((frozenset({"string", "bytes", "list", "map"}),), INT),
    "matches": ((frozenset({"string"}), frozenset({"string"})), BOOL),
    "int": ((frozenset({"int", "uint", "double", "string", "timestamp"}),), INT),
    "uint": ((frozenset({"int", "uint", "double", "string"}),), UINT),
    "double": ((frozenset({"int", "uint", "double", "string"}),), DOUBLE),
    "string": ((frozenset({"int", "uint", "double", "string", "bytes", "bool", "timestamp",
                           "duration"}),), STRING),
    "bytes": ((frozenset({"string", "bytes"}),), BYTES),
    "bool": ((frozenset({"string", "bool"}),), BOOL),
    "type": ((_ANY,), TYPE),
    "dyn": ((_ANY,), DYN),
    "timestamp": ((frozenset({"string", "int", "timestamp"}),), TIMESTAMP),
    "duration": ((frozenset({"string", "duration"}),), DURATION),
}
_STR = frozenset({"string"})
MEMBER_SIGNATURES = {
    "size": ((frozenset({"string", "bytes", "list", "map"}),), INT),
    "contains": ((_STR, _STR), BOOL), "startsWith": ((_STR, _STR), BOOL),
    "endsWith": ((_STR, _STR), BOOL), "matches": ((_STR, _STR), BOOL),
}
_ORDERED = frozenset({"int", "uint", "double", "string", "bytes", "bool", "timestamp",
                      "duration"})


@dataclass
class CheckResult:
    root_type: Type
    declarations: dict[str, Type]
    types: dict[int, Type] = field(default_factory=dict)
    qualified: dict[int, str] = field(default_factory=dict)

    def type_of(self, node: ast.Expr) -> Type:
        return self.types.get(id(node), DYN)


def check(root: ast.Expr, declarations: dict, *, expect: Type | None = None) -> CheckResult:
    """Type-check ``root``; raise CelError (POLC210-217) at the first problem."""
    checker = _Checker(parse_declarations(declarations))
    root_type = checker.infer(root, {})
    if expect is not None and not _assignable(root_type, expect):
        raise CelError("POLC217", f"expression has type {root_type!r}, expected {expect!r}",
                       root.span, hint="a condition must evaluate to a bool")
    checker.result.root_type = root_type
    return checker.result


def _assignable(actual: Type, wanted: Type) -> bool:
    return actual.is_dyn or wanted.is_dyn or actual.kind == wanted.kind


def _compatible(a: Type, b: Type) -> bool:
    """May values of these types be compared for equality?"""
    if a.is_dyn or b.is_dyn or NULL in (a, b):
        return True
    if a.kind in NUMERIC and b.kind in NUMERIC:
        return True
    if a.kind != b.kind:
        return a.kind in ("map", "object") and b.kind in ("map", "object")
    return all(_compatible(x, y) for x, y in zip(a.params, b.params))


class _Checker:
    def __init__(self, declarations: dict[str, Type]):
        self.declarations = declarations
        self.result = CheckResult(DYN, declarations)

    def infer(self, node: ast.Expr, scope: dict[str, Type]) -> Type:
        method = getattr(self, "_" + type(node).__name__.lower())
        inferred = method(node, scope)
        self.result.types[id(node)] = inferred
        return inferred

    def _literal(self, node, scope):
        return of_value(node.value)

    def _ident(self, node, scope):
        name = node.name.lstrip(".")
        if not node.name.startswith(".") and name in scope:
            return scope[name]
        if name in self.declarations:
            return self.declarations[name]
        if name in TYPE_DENOTATIONS:
            return TYPE
        raise CelError("POLC210", f"unknown identifier `{name}`", node.span,
                       hint=did_you_mean(name, [*self.declarations, *scope]) or
                       "declare it as an input of the gate or rule")

    def _qualified(self, node: ast.Expr, scope) -> Type | None:
        from .interp import qualified_parts
        parts = qualified_parts(node)
        if parts is None or parts[0] in scope:
            return None
        for cut in range(len(parts), 1, -1):
            name = ".".join(parts[:cut])
            if name in self.declarations and cut == len(parts):
                self.result.qualified[id(node)] = name
                return self.declarations[name]
            if name in self.declarations:
                return None  # a shorter prefix: select fields from it normally
        return None

    def _select(self, node, scope):
        found = self._qualified(node, scope)
        if found is not None:
            return found
        return self._field(self.infer(node.operand, scope), node.field, node)

    def _field(self, operand: Type, name: str, node) -> Type:
        if operand.is_dyn:
            return DYN
        if operand.kind == "map":
            key, value = operand.params
            if key.kind not in ("string", "dyn"):
                raise CelError("POLC211", f"cannot select `.{name}` from a map with {key!r} keys",
                               node.span, hint="use an index: `m[key]`")
            return value
        if operand.kind == "object":
            found = operand.field(name)
            if found is None:
                raise CelError("POLC211", f"unknown field `{name}` of {operand!r}", node.span,
                               hint=did_you_mean(name, [k for k, _ in operand.fields]))
            return found
        raise CelError("POLC211", f"a value of type {operand!r} has no fields (`.{name}`)",
                       node.span, hint="field selection works on maps and declared objects")

    def _has(self, node, scope):
        self._field(self.infer(node.operand, scope), node.field, node)
        return BOOL

    def _index(self, node, scope):
        operand = self.infer(node.operand, scope)
        index = self.infer(node.index, scope)
        if operand.is_dyn:
            return DYN
        if operand.kind == "list":
            self._expect(index, {"int", "uint", "double"}, node.index, "a list index")
            return operand.params[0]
        if operand.kind == "map":
            if not _compatible(index, operand.params[0]):
                raise CelError("POLC213", f"map key of type {operand.params[0]!r} indexed with "
                               f"{index!r}", node.index.span)
            return operand.params[1]
        if operand.kind == "object":
            return DYN
        raise CelError("POLC213", f"a value of type {operand!r} cannot be indexed", node.span,
                       hint="indexing works on lists and maps")

    def _expect(self, actual: Type, kinds, node, what: str) -> None:
        if not actual.is_dyn and actual.kind not in kinds:
            shown = " or ".join(sorted(kinds))
            raise CelError("POLC213", f"{what} must be {shown}, got {actual!r}", node.span)

    def _call(self, node, scope):
        table = GLOBAL_SIGNATURES if node.target is None else MEMBER_SIGNATURES
        name = node.function.lstrip(".")
        if name not in table:
            other = "member" if node.target is None else "global"
            known = sorted(table)
            raise CelError("POLC212", f"unknown function `{name}`", node.span,
                           hint=did_you_mean(name, known) if name not in (
                               MEMBER_SIGNATURES if node.target is None else GLOBAL_SIGNATURES)
                           else f"`{name}` is called as a {other} function")
        params, result = table[name]
        args = ([node.target] if node.target is not None else []) + list(node.args)
        if len(args) != len(params):
            raise CelError("POLC215", f"`{name}` takes {len(params) - (node.target is not None)}"
                           f" argument(s), got {len(node.args)}", node.span)
        for arg, allowed in zip(args, params):
            arg_type = self.infer(arg, scope)
            if allowed is not _ANY and not arg_type.is_dyn and arg_type.kind not in allowed:
                raise CelError("POLC212", f"no overload of `{name}` takes {arg_type!r}",
                               arg.span, hint=f"expected {' or '.join(sorted(allowed))}")
        return result

    def _createlist(self, node, scope):
        elem = None
        for element in node.elements:
            t = self.infer(element, scope)
            elem = t if elem is None else join(elem, t)
        return list_of(elem or DYN)

    def _createmap(self, node, scope):
        key = value = None
        for k, v in node.entries:
            kt, vt = self.infer(k, scope), self.infer(v, scope)
            if not kt.is_dyn and kt.kind not in ("int", "uint", "bool", "string"):
                raise CelError("POLC213", f"map keys must be int, uint, bool or string, got "
                               f"{kt!r}", k.span)
            key = kt if key is None else join(key, kt)
            value = vt if value is None else join(value, vt)
        return map_of(key or DYN, value or DYN)

    def _unary(self, node, scope):
        operand = self.infer(node.operand, scope)
        if node.op == "!":
            self._expect(operand, {"bool"}, node.operand, "the operand of `!`")
            return BOOL
        self._expect(operand, {"int", "double", "duration"}, node.operand, "the operand of `-`")
        return operand

    def _binary(self, node, scope):
        left, right = self.infer(node.left, scope), self.infer(node.right, scope)
        op = node.op
        if op in ("&&", "||"):
            self._expect(left, {"bool"}, node.left, f"an operand of `{op}`")
            self._expect(right, {"bool"}, node.right, f"an operand of `{op}`")
            return BOOL
        if op in ("==", "!="):
            self._comparable(left, right, node, op, _compatible(left, right))
            return BOOL
        if op in ("<", "<=", ">", ">="):
            ok = left.is_dyn or right.is_dyn or (left.kind in NUMERIC and right.kind in NUMERIC) \
                or (left.kind == right.kind and left.kind in _ORDERED)
            self._comparable(left, right, node, op, ok)
            return BOOL
        if op == "in":
            return self._in(left, right, node)
        return self._arithmetic(left, right, node)

    def _comparable(self, left: Type, right: Type, node, op: str, ok: bool) -> None:
        if not ok:
            raise CelError("POLC213", f"cannot compare {left!r} with {right!r} using `{op}`",
                           node.span, hint=_conversion_hint(left, right))

    def _in(self, left: Type, right: Type, node) -> Type:
        if right.is_dyn:
            return BOOL
        if right.kind not in ("list", "map"):
            raise CelError("POLC213", f"`in` needs a list or map on the right, got {right!r}",
                           node.right.span)
        if not _compatible(left, right.params[0]):
            raise CelError("POLC213", f"cannot look for {left!r} in {right!r}", node.span,
                           hint=_conversion_hint(left, right.params[0]))
        return BOOL

    def _arithmetic(self, left: Type, right: Type, node) -> Type:
        op = node.op
        if left.is_dyn or right.is_dyn:
            return DYN
        kinds = {left.kind, right.kind}
        if op == "+" and left.kind == right.kind and left.kind in ("string", "bytes", "list"):
            return left if left.kind != "list" else list_of(join(left.params[0], right.params[0]))
        if op in ("+", "-") and kinds <= {"timestamp", "duration"}:
            return _time_result(op, left, right, node)
        allowed = {"int", "uint", "double"} if op != "%" else {"int", "uint"}
        if left.kind == right.kind and left.kind in allowed:
            return left
        raise CelError("POLC213", f"no overload of `{op}` for {left!r} and {right!r}", node.span,
                       hint=_conversion_hint(left, right) or "CEL does not convert implicitly")

    def _conditional(self, node, scope):
        cond = self.infer(node.cond, scope)
        self._expect(cond, {"bool"}, node.cond, "the condition of `?:`")
        return join(self.infer(node.then, scope), self.infer(node.otherwise, scope))

    def _comprehension(self, node, scope):
        range_type = self.infer(node.range, scope)
        if range_type.kind == "list":
            var = range_type.params[0]
        elif range_type.kind == "map":
            var = range_type.params[0]
        elif range_type.is_dyn:
            var = DYN
        else:
            raise CelError("POLC214", f"`{node.kind}` needs a list or map, got {range_type!r}",
                           node.range.span, hint="macros iterate over lists (elements) or maps "
                                                 "(keys)")
        inner = {**scope, node.var: var}
        if node.guard is not None:
            self._expect(self.infer(node.guard, inner), {"bool"}, node.guard, "a map filter")
        step = self.infer(node.step, inner)
        if node.kind == "map":
            return list_of(step)
        self._expect(step, {"bool"}, node.step, f"the predicate of `{node.kind}`")
        return list_of(var) if node.kind == "filter" else BOOL


def _time_result(op: str, left: Type, right: Type, node) -> Type:
    if left == right == DURATION:
        return DURATION
    if op == "-" and left == right == TIMESTAMP:
        return DURATION
    if TIMESTAMP in (left, right) and DURATION in (left, right) and not (
            op == "-" and left == DURATION):
        return TIMESTAMP
    raise CelError("POLC213", f"no overload of `{op}` for {left!r} and {right!r}", node.span)


def _conversion_hint(left: Type, right: Type) -> str | None:
    kinds = {left.kind, right.kind}
    if "string" in kinds and kinds & NUMERIC:
        return "convert explicitly: `double(s)` / `int(s)` or `string(n)`"
    if kinds <= NUMERIC:
        return "convert one side explicitly: `double(x)`, `int(x)` or `uint(x)`"
    return None
