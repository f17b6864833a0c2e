"""The type checker: a type for every node from the declarations, or the reasons why not.

It is the one checker of polc's expressions: plain CEL (``compiler.cel.compile``) and the
gate and rule language alike; the rules language only supplies the environment (the
declarations, its ``let`` names and its extra functions, see :mod:`compiler.rules.check`).

>>> from compiler.cel.parser import parse
>>> result = check(parse("limits.p95 > 1"), {"limits": {"p95": "double"}})
>>> result.root_type
bool
>>> check(parse("limits.p99 > 1"), {"limits": {"p95": "double"}})
Traceback (most recent call last):
...
compiler.cel.errors.CelError: <expr>:1:1: POLC211 `limits` has no field `p99` (did you mean `p95`? ...)

``dyn`` passes everywhere. Nullable types (``T?``) behave as ``T``, and only they (and
``dyn``) may be compared with ``null``; an open object's unknown fields are ``dyn``. The
checker collects every problem it finds (a node with an error becomes ``dyn``, so one
mistake is reported once); :func:`check` raises the first, for the embedding API.

Names resolve innermost first: macro variables, then lets (named sub-expressions defined
with :meth:`Checker.define_let`, each seeing only what was defined before it), then the
declarations, then type names (``int``). The result's ``types`` (keyed by ``id(node)``),
``qualified`` (Select nodes that name a declared dotted variable such as ``a.b``) and
``let_refs`` feed the code generators, the interpreter and the expression IR.
"""

from __future__ import annotations

from . import ast
from .errors import CelError
from .types import (BOOL, BYTES, DOUBLE, DURATION, DYN, INT, NULL, NUMERIC, STRING, TIMESTAMP,
                    TYPE, UINT, CheckResult, Type, join, list_of, map_of, of_value,
                    parse_declarations)
from .values import TYPE_DENOTATIONS
from ..diagnostics import Diagnostic, did_you_mean

#: Function signatures: name -> (allowed kinds of the receiver/arguments by position, result).
_ANY = frozenset({"*"})
_STR = frozenset({"string"})
_SIZED = frozenset({"string", "bytes", "list", "map", "object"})
GLOBAL_SIGNATURES = {
    "size": ((_SIZED,), INT),
    "matches": ((_STR, _STR), BOOL),
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
MEMBER_SIGNATURES = {
    "size": ((_SIZED,), INT),
    "contains": ((_STR, _STR), BOOL), "startsWith": ((_STR, _STR), BOOL),
    "endsWith": ((_STR, _STR), BOOL), "matches": ((_STR, _STR), BOOL),
}
_ORDERED = frozenset({"int", "uint", "double", "string", "bytes", "bool", "timestamp",
                      "duration"})
_MAP_KEY_KINDS = frozenset({"int", "uint", "bool", "string"})


class Checker:
    """Checks expressions against one environment, collecting diagnostics.

    ``functions`` adds global functions (name -> signature, as in :data:`GLOBAL_SIGNATURES`);
    ``unknown_hint`` is the hint of an unknown name nothing similar is declared for;
    ``fold_constants`` also reports the constant parts that can only fail (:mod:`compiler.cel.fold`).
    """

    def __init__(self, declarations: dict[str, Type], *, functions: dict | None = None,
                 unknown_hint: str = "declare it", fold_constants: bool = False):
        self.declarations = dict(declarations)
        self.functions = {**GLOBAL_SIGNATURES, **(functions or {})}
        self.unknown_hint = unknown_hint
        self.result = CheckResult(DYN, self.declarations)
        self.diagnostics: list[Diagnostic] = []
        self._lets: dict[str, int] = {}        # name -> index of the latest let of that name
        self._let_types: list[Type] = []
        self._folder = None
        if fold_constants:
            from .fold import Folder
            self._folder = Folder(self.result)

    # --- the environment ---------------------------------------------------------------------
    def declare(self, name: str, declared: Type) -> None:
        """Declare a variable for the expressions checked from now on."""
        self.declarations[name] = declared
        self._lets.pop(name, None)  # a later declaration shadows an earlier let of that name

    def define_let(self, name: str, node: ast.Expr) -> Type:
        """Check ``node`` and make it the let ``name`` of the expressions checked from now on."""
        before = len(self.diagnostics)
        found = self.infer(node, {})
        index = self._lets[name] = len(self.result.lets)
        self.result.lets.append((name, node))
        self._let_types.append(found)
        self._fold(node, before, let=index)
        return found

    # --- checking ----------------------------------------------------------------------------
    def check(self, node: ast.Expr, *, expect: Type | None = None, what: str = "the expression") -> Type:
        """The type of ``node``; with ``expect``, a problem when the result is not of that kind."""
        before = len(self.diagnostics)
        found = self.infer(node, {})
        if expect is not None and len(self.diagnostics) == before and not _assignable(found, expect):
            self._error("POLC217", f"{what} must be {_a(expect)}, and this is {_a(found)}", node,
                        "compare it, for example `x > 0`" if expect.kind == "bool" else None)
        self._fold(node, before)
        return found

    def _fold(self, node: ast.Expr, before: int, *, let: int | None = None) -> None:
        """Constant failures of a well-typed expression (only when folding is on)."""
        if self._folder is None or len(self.diagnostics) != before:
            return
        self._folder.fold(node, let=let)
        self.diagnostics.extend(self._folder.diagnostics)
        self._folder.diagnostics.clear()

    def infer(self, node: ast.Expr, scope: dict[str, Type]) -> Type:
        inferred = getattr(self, "_" + type(node).__name__.lower())(node, scope)
        self.result.types[id(node)] = inferred
        return inferred

    def _error(self, code: str, message: str, node, hint: str | None = None) -> Type:
        self.diagnostics.append(Diagnostic.error(code, message, node.span, hint=hint))
        return DYN

    # --- leaves and selection ----------------------------------------------------------------
    def _literal(self, node, scope):
        return of_value(node.value)

    def _ident(self, node, scope):
        name = node.name.lstrip(".")
        if not node.name.startswith(".") and name in scope:
            return scope[name]
        if name in self._lets:
            index = self._lets[name]
            self.result.let_refs[id(node)] = index
            return self._let_types[index]
        if name in self.declarations:
            return self.declarations[name]
        if name in TYPE_DENOTATIONS:
            return TYPE
        known = [*self.declarations, *self._lets, *scope]
        return self._error("POLC210", f"unknown name `{name}`", node,
                           did_you_mean(name, known) or self.unknown_hint)

    def _qualified(self, node: ast.Expr, scope) -> Type | None:
        parts = ast.qualified_parts(node)
        if parts is None or parts[0] in scope or parts[0] in self._lets:
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
        return self._field(self.infer(node.operand, scope), node.field, node, node.operand)

    def _field(self, operand: Type, name: str, node, operand_node) -> Type:
        if operand.is_dyn:
            return DYN
        if operand.kind == "object":
            found = operand.field(name)
            if found is not None:
                return found
            if operand.open:
                return DYN
            fields = [k for k, _ in operand.fields]
            return self._error("POLC211", f"`{_path(operand_node)}` has no field `{name}`", node,
                               did_you_mean(name, fields) or
                               (f"its fields: {', '.join(fields)}" if fields else "it has no fields"))
        if operand.kind == "map":
            key, value = operand.params
            if key.kind not in ("string", "dyn"):
                return self._error("POLC211", f"`{_path(operand_node)}` is {_a(operand)}; select "
                                   f"`.{name}` needs string keys", node, "use an index: `m[key]`")
            return value
        return self._error("POLC211", f"`{_path(operand_node)}` is {_a(operand)}, which has no "
                           "fields", node, "only maps and objects have fields")

    def _has(self, node, scope):
        self._field(self.infer(node.operand, scope), node.field, node, node.operand)
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
                return self._error("POLC213", f"`{_path(node.operand)}` has {operand.params[0]!r} "
                                   f"keys; it cannot be indexed with {_a(index)}", node.index)
            return operand.params[1]
        if operand.kind == "object":
            if isinstance(node.index, ast.Literal) and type(node.index.value) is str:
                return self._field(operand, node.index.value, node, node.operand)
            return DYN
        return self._error("POLC213", f"`{_path(node.operand)}` is {_a(operand)}, which cannot be "
                           "indexed", node, "indexing works on lists and maps")

    def _expect(self, actual: Type, kinds, node, what: str) -> bool:
        if actual.is_dyn or actual.kind in kinds:
            return True
        shown = " or ".join(sorted(kinds))
        self._error("POLC213", f"{what} must be {shown}, not {_a(actual)}", node)
        return False

    # --- calls -------------------------------------------------------------------------------
    def _call(self, node, scope):
        table = self.functions if node.target is None else MEMBER_SIGNATURES
        name = node.function.lstrip(".")
        args = ([node.target] if node.target is not None else []) + list(node.args)
        arg_types = [self.infer(arg, scope) for arg in args]
        if name not in table:
            other = MEMBER_SIGNATURES if node.target is None else self.functions
            hint = f"`{name}` is called as a {'member' if node.target is None else 'global'} " \
                   "function" if name in other else did_you_mean(name, sorted(table))
            return self._error("POLC212", f"unknown function `{name}`", node, hint)
        params, result = table[name]
        if len(args) != len(params):
            receiver = node.target is not None
            return self._error("POLC215", f"`{name}` takes {len(params) - receiver} argument(s), "
                               f"got {len(node.args)}", node)
        for arg, arg_type, allowed in zip(args, arg_types, params):
            if allowed is not _ANY and not arg_type.is_dyn and arg_type.kind not in allowed:
                return self._error("POLC212", f"no overload of `{name}` takes {_a(arg_type)}", arg,
                                   f"expected {' or '.join(sorted(allowed))}")
        return result

    # --- constructors ------------------------------------------------------------------------
    def _createlist(self, node, scope):
        elem = None
        for element in node.elements:
            found = self.infer(element, scope)
            elem = found if elem is None else join(elem, found)
        return list_of(elem or DYN)

    def _createmap(self, node, scope):
        key = value = None
        for k, v in node.entries:
            kt, vt = self.infer(k, scope), self.infer(v, scope)
            if not kt.is_dyn and kt.kind not in _MAP_KEY_KINDS:
                self._error("POLC213", f"map keys must be int, uint, bool or string, not {_a(kt)}", k)
                kt = DYN
            key = kt if key is None else join(key, kt)
            value = vt if value is None else join(value, vt)
        return map_of(key or DYN, value or DYN)

    # --- operators ---------------------------------------------------------------------------
    def _unary(self, node, scope):
        operand = self.infer(node.operand, scope)
        if node.op == "!":
            self._expect(operand, {"bool"}, node.operand, "the operand of `!`")
            return BOOL
        if not self._expect(operand, {"int", "double", "duration"}, node.operand, "the operand of `-`"):
            return DYN
        return operand.non_null()

    def _binary(self, node, scope):
        left, right = self.infer(node.left, scope), self.infer(node.right, scope)
        op = node.op
        if op in ("&&", "||"):
            self._expect(left, {"bool"}, node.left, f"an operand of `{op}`")
            self._expect(right, {"bool"}, node.right, f"an operand of `{op}`")
            return BOOL
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if not _comparable(op, left, right):
                self._error("POLC213", f"`{op}` compares {_a(left)} (`{_path(node.left)}`) with "
                            f"{_a(right)} (`{_path(node.right)}`)", node, _conversion_hint(left, right))
            return BOOL
        if op == "in":
            return self._in(left, right, node)
        return self._arithmetic(left, right, node)

    def _in(self, left: Type, right: Type, node) -> Type:
        if right.is_dyn:
            return BOOL
        if right.kind == "object":
            self._expect(left, {"string"}, node.left, "a field name looked up with `in`")
            return BOOL
        if right.kind not in ("list", "map"):
            return self._error("POLC213", f"`in` needs a list or map on the right, not {_a(right)}",
                               node.right)
        if not _compatible(left, right.params[0]):
            self._error("POLC213", f"cannot look for {_a(left)} in {_a(right)}", node,
                        _conversion_hint(left, right.params[0]))
        return BOOL

    def _arithmetic(self, left: Type, right: Type, node) -> Type:
        op = node.op
        if left.is_dyn or right.is_dyn:
            return DYN
        lk, rk = left.kind, right.kind
        if op == "+" and lk == rk and lk in ("string", "bytes", "list"):
            return left.non_null() if lk != "list" else list_of(join(left.params[0], right.params[0]))
        if op in ("+", "-") and {lk, rk} <= {"timestamp", "duration"}:
            found = _time_result(op, lk, rk)
            if found is not None:
                return found
        allowed = {"int", "uint", "double"} if op != "%" else {"int", "uint"}
        if lk == rk and lk in allowed:
            return left.non_null()
        hint = None
        if lk in NUMERIC and rk in NUMERIC:
            hint = f"CEL does not mix {lk} and {rk} in arithmetic; convert with {rk}(...) or {lk}(...)"
        return self._error("POLC213", f"`{op}` cannot combine {_a(left)} (`{_path(node.left)}`) and "
                           f"{_a(right)} (`{_path(node.right)}`)", node, hint)

    def _conditional(self, node, scope):
        cond = self.infer(node.cond, scope)
        self._expect(cond, {"bool"}, node.cond, "the condition of `?:`")
        return join(self.infer(node.then, scope), self.infer(node.otherwise, scope))

    # --- macros ------------------------------------------------------------------------------
    def _comprehension(self, node, scope):
        range_type = self.infer(node.range, scope)
        if range_type.kind in ("list", "map"):
            var = range_type.params[0]
        elif range_type.kind == "object":
            var = STRING
        elif range_type.is_dyn:
            var = DYN
        else:
            var = self._error("POLC214", f"`{node.kind}` needs a list or map, and "
                              f"`{_path(node.range)}` is {_a(range_type)}", node.range,
                              "macros iterate over lists (elements) and maps (keys)")
        inner = {**scope, node.var: var}
        if node.guard is not None:
            self._predicate(self.infer(node.guard, inner), node.guard, "the filter of `map`")
        step = self.infer(node.step, inner)
        if node.kind == "map":
            return list_of(step)
        self._predicate(step, node.step, f"the predicate of `{node.kind}`")
        return list_of(var) if node.kind == "filter" else BOOL

    def _predicate(self, found: Type, node, what: str) -> None:
        if not found.is_dyn and found.kind != "bool":
            self._error("POLC217", f"{what} must be a bool, not {_a(found)}", node)


def check(root: ast.Expr, declarations: dict, *, expect: Type | None = None) -> CheckResult:
    """Type-check ``root``; raise CelError (POLC210-217) for the first problem."""
    checker = Checker(parse_declarations(declarations))
    root_type = checker.check(root, expect=expect, what="the expression")
    if checker.diagnostics:
        first = checker.diagnostics[0]
        raise CelError(first.code, first.message, first.span, hint=first.hint)
    checker.result.root_type = root_type
    return checker.result


def _assignable(actual: Type, wanted: Type) -> bool:
    return actual.is_dyn or wanted.is_dyn or actual.kind == wanted.kind


def _compatible(a: Type, b: Type) -> bool:
    """May values of these types be equal (``==``, ``in``, map keys)?"""
    if a.is_dyn or b.is_dyn or NULL in (a.non_null(), b.non_null()):
        return True
    if a.kind in NUMERIC and b.kind in NUMERIC:
        return True
    if a.kind != b.kind:
        return a.kind in ("map", "object") and b.kind in ("map", "object")
    return all(_compatible(x, y) for x, y in zip(a.params, b.params))


def _comparable(op: str, left: Type, right: Type) -> bool:
    if left.is_dyn or right.is_dyn:
        return True
    if op in ("==", "!="):
        if NULL in (left, right):  # only a nullable value can be null
            other = right if left == NULL else left
            return other.nullable or other.kind == "null_type"
        return _compatible(left, right)
    return (left.kind in NUMERIC and right.kind in NUMERIC) or (
        left.kind == right.kind and left.kind in _ORDERED)


def _time_result(op: str, left: str, right: str) -> Type | None:
    if left == right == "duration":
        return DURATION
    if op == "-" and left == right == "timestamp":
        return DURATION
    if {left, right} == {"timestamp", "duration"} and not (op == "-" and left == "duration"):
        return TIMESTAMP
    return None


def _conversion_hint(left: Type, right: Type) -> str | None:
    kinds = {left.kind, right.kind}
    if "string" in kinds and kinds & NUMERIC:
        return "convert one side: `double(text)` or `string(number)`"
    if kinds <= NUMERIC:
        return "convert one side explicitly: `double(x)`, `int(x)` or `uint(x)`"
    if "null_type" in kinds:
        return "only nullable values (`T?`, such as `budgets.cost`) can be null"
    return None


def _a(t: Type) -> str:
    """``an int``, ``a list(string)``, ``an object {p95: double}``, ``null``."""
    if t.kind == "null_type":
        return "null"
    text = repr(t)
    if t.kind == "object":
        return "an object " + text
    return ("an " if text[0] in "aeiou" else "a ") + text


def _path(node) -> str:
    """Source-like text for a simple path (``new.budgets.cost``), else a short description."""
    if isinstance(node, ast.Ident):
        return node.name
    if isinstance(node, ast.Select):
        return f"{_path(node.operand)}.{node.field}"
    if isinstance(node, ast.Literal):
        return repr(node.value)
    if isinstance(node, ast.Index):
        return f"{_path(node.operand)}[...]"
    if isinstance(node, ast.Call):
        return f"{node.function}(...)"
    return "the expression"
