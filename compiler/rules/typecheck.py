"""Typing of rule expressions against what they read: inputs, ``params``, ``old``/``new``, lets.

This is the declaration-level checker of the rules language: it knows the snapshot schema
(nullable and open objects included) and the gate parameter tables, and reports, with the
span of the offending sub-expression and a hint:

* an unknown variable or field (POLC210/POLC211, with "did you mean"),
* a string compared with a number, or int mixed with double in arithmetic (POLC213),
* a macro over a value that is not a list or map (POLC214),
* an unknown function or a wrong number of arguments (POLC212/POLC215),
* a condition that is not a bool (POLC217).

>>> from compiler.cel import parse
>>> from compiler.rules.types import T, DOUBLE, STRING
>>> env = {"metrics": T.map_of(STRING, DOUBLE), "params": T.obj({"limit": DOUBLE})}
>>> [d.message for d in check_condition(parse("metrics.p95 <= params.limt"), env)]
['`params` has no field `limt`']
"""

from __future__ import annotations

from ..cel import ast
from ..diagnostics import Diagnostic, did_you_mean
from .types import BOOL, BYTES, DOUBLE, DYN, INT, NULL, STRING, UINT, T

_NUMERIC = ("int", "uint", "double")
_RESULT = {"size": INT, "int": INT, "uint": UINT, "double": DOUBLE, "string": STRING, "bytes": BYTES,
           "bool": BOOL, "dyn": DYN, "type": DYN, "matches": BOOL, "contains": BOOL,
           "startsWith": BOOL, "endsWith": BOOL, "timestamp": DYN, "duration": DYN}
_GLOBAL_ARITY = {"size": 1, "int": 1, "uint": 1, "double": 1, "string": 1, "bytes": 1, "bool": 1,
                 "dyn": 1, "type": 1, "matches": 2, "timestamp": 1, "duration": 1}
_MEMBER_ARITY = {"size": 0, "contains": 1, "startsWith": 1, "endsWith": 1, "matches": 1}
#: Functions the rules language adds (lowered before evaluation): name -> arity.
RULES_FUNCTIONS = {"ratio": 2}


class Checker:
    """Infers the type of every node; collects diagnostics instead of stopping at the first."""

    def __init__(self, env: dict[str, T], *, extra_functions: dict[str, int] | None = None):
        self.env = dict(env)
        self.extra = extra_functions or {}
        self.found: list[Diagnostic] = []

    def error(self, code: str, message: str, node, hint: str | None = None) -> T:
        self.found.append(Diagnostic.error(code, message, node.span, hint=hint))
        return DYN

    def infer(self, node) -> T:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    # --- leaves --------------------------------------------------------------------------
    def _literal(self, node: ast.Literal) -> T:
        value = node.value
        if value is None:
            return NULL
        if isinstance(value, bool):
            return BOOL
        from ..cel.values import CelUint
        for py, t in ((CelUint, UINT), (int, INT), (float, DOUBLE), (str, STRING), (bytes, BYTES)):
            if isinstance(value, py):
                return t
        return DYN

    def _ident(self, node: ast.Ident) -> T:
        name = node.name.lstrip(".")
        if name in self.env:
            return self.env[name]
        if name in ("int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type", "dyn"):
            return DYN  # a type denotation, as in `type(x) == int`
        return self.error("POLC210", f"unknown name `{name}`", node,
                          hint=did_you_mean(name, self.env) or "declare it with `input` or `let`")

    # --- selection -----------------------------------------------------------------------
    def _select(self, node: ast.Select) -> T:
        return self._field(self.infer(node.operand), node.field, node, node.operand)

    def _has(self, node: ast.Has) -> T:
        self._field(self.infer(node.operand), node.field, node, node.operand, presence=True)
        return BOOL

    def _field(self, t: T, name: str, node, operand, presence: bool = False) -> T:
        if t.kind == "object":
            found = t.field(name)
            if found is not None:
                return found
            if t.open:
                return DYN
            return self.error("POLC211", f"`{_path(operand)}` has no field `{name}`", node,
                              hint=did_you_mean(name, [k for k, _ in t.fields]) or "it has no fields")
        if t.kind == "map":
            if t.args[0].kind not in ("string", "dyn"):
                return self.error("POLC213", f"`{_path(operand)}` is a {t}; select with `[key]`", node)
            return t.args[1]
        if t.kind == "dyn":
            return DYN
        return self.error("POLC213", f"`{_path(operand)}` is {_a(t)}, which has no fields", node,
                          hint="only maps and objects have fields")

    def _index(self, node: ast.Index) -> T:
        t, k = self.infer(node.operand), self.infer(node.index)
        if t.kind == "list":
            if k.kind not in ("int", "uint", "dyn"):
                self.error("POLC213", f"a list index must be an int, not {_a(k)}", node.index)
            return t.args[0]
        if t.kind == "map":
            return t.args[1]
        if t.kind == "object":
            if isinstance(node.index, ast.Literal) and isinstance(node.index.value, str):
                return self._field(t, node.index.value, node, node.operand)
            return DYN
        if t.kind in ("dyn", "string", "bytes"):
            return DYN if t.kind == "dyn" else self.error(
                "POLC213", f"{_a(t)} cannot be indexed", node, hint="use `substring` or `matches`")
        return self.error("POLC213", f"`{_path(node.operand)}` is {_a(t)}, which cannot be indexed", node)

    # --- calls ---------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> T:
        target = self.infer(node.target) if node.target is not None else None
        args = [self.infer(a) for a in node.args]
        name = node.function.lstrip(".")
        if target is None and name in self.extra:
            return self._rules_function(node, name, args)
        table = _GLOBAL_ARITY if target is None else _MEMBER_ARITY
        if name not in table:
            known = sorted(set(table) | (set(self.extra) if target is None else set()))
            return self.error("POLC212", f"unknown function `{name}`", node,
                              hint=did_you_mean(name, known))
        if len(args) != table[name]:
            return self.error("POLC215", f"`{name}` takes {table[name]} argument(s), got {len(args)}", node)
        if name in ("contains", "startsWith", "endsWith", "matches"):
            for part, t in zip([node.target, *node.args], [target, *args]):
                if part is not None and t is not None and t.kind not in ("string", "dyn"):
                    self.error("POLC213", f"`{name}` works on strings, and this is {_a(t)}", part,
                               hint="convert it with string(...)")
        if name == "size" and (target or args[0]).kind not in ("string", "bytes", "list", "map", "object", "dyn"):
            self.error("POLC213", f"`size` works on strings, bytes, lists and maps, not {_a(target or args[0])}", node)
        return _RESULT.get(name, DYN)

    def _rules_function(self, node: ast.Call, name: str, args: list[T]) -> T:
        if len(args) != self.extra[name]:
            return self.error("POLC215", f"`{name}` takes {self.extra[name]} arguments, got {len(args)}", node,
                              hint='write it as ratio("name", 2.0)')
        key, default = node.args
        if not (isinstance(key, ast.Literal) and isinstance(key.value, str)):
            self.error("POLC215", f"the first argument of `{name}` must be a quoted name", key)
        if not (isinstance(default, ast.Literal) and isinstance(default.value, (int, float))
                and not isinstance(default.value, bool)):
            self.error("POLC215", f"the second argument of `{name}` must be a number (the default)", default)
        return DOUBLE

    # --- constructors, operators ---------------------------------------------------------
    def _createlist(self, node: ast.CreateList) -> T:
        kinds = {self.infer(e) for e in node.elements}
        return T.list_of(kinds.pop() if len(kinds) == 1 else DYN)

    def _createmap(self, node: ast.CreateMap) -> T:
        keys = {self.infer(k) for k, _ in node.entries}
        values = {self.infer(v) for _, v in node.entries}
        return T.map_of(keys.pop() if len(keys) == 1 else DYN, values.pop() if len(values) == 1 else DYN)

    def _unary(self, node: ast.Unary) -> T:
        t = self.infer(node.operand)
        if node.op == "!":
            if t.kind not in ("bool", "dyn"):
                self.error("POLC213", f"`!` needs a bool, not {_a(t)}", node.operand)
            return BOOL
        if t.kind not in ("int", "double", "dyn"):
            self.error("POLC213", f"`-` needs a number, not {_a(t)}", node.operand)
        return t

    def _binary(self, node: ast.Binary) -> T:
        left, right = self.infer(node.left), self.infer(node.right)
        op = node.op
        if op in ("&&", "||"):
            for side, t in ((node.left, left), (node.right, right)):
                if t.kind not in ("bool", "dyn"):
                    self.error("POLC213", f"`{op}` needs bools, and this is {_a(t)}", side)
            return BOOL
        if op == "in":
            if right.kind not in ("list", "map", "object", "dyn"):
                self.error("POLC213", f"`in` needs a list or map on the right, not {_a(right)}", node.right)
            return BOOL
        if op in ("<", "<=", ">", ">=", "==", "!="):
            self._comparable(node, left, right)
            return BOOL
        return self._arithmetic(node, left, right)

    def _comparable(self, node: ast.Binary, left: T, right: T) -> None:
        a, b = left.kind, right.kind
        if "dyn" in (a, b) or a == b or (a in _NUMERIC and b in _NUMERIC):
            return
        if node.op in ("==", "!=") and "null_type" in (a, b) and (left.nullable or right.nullable):
            return
        hint = None
        if {a, b} & {"string"} and {a, b} & set(_NUMERIC):
            hint = "convert one side: `double(text)` or `string(number)`"
        self.error("POLC213", f"`{node.op}` compares {_a(left)} (`{_path(node.left)}`) with {_a(right)} "
                   f"(`{_path(node.right)}`)", node, hint=hint)

    def _arithmetic(self, node: ast.Binary, left: T, right: T) -> T:
        a, b = left.kind, right.kind
        if "dyn" in (a, b):
            return left if b == "dyn" and a != "dyn" else right if a == "dyn" else DYN
        if a == b and (a in _NUMERIC or (node.op == "+" and a in ("string", "bytes", "list"))):
            return left if a != "list" else T.list_of(DYN) if left != right else left
        hint = None
        if a in _NUMERIC and b in _NUMERIC:
            hint = f"CEL does not mix {a} and {b} in arithmetic; convert with {b}(...) or {a}(...)"
        return self.error("POLC213", f"`{node.op}` cannot combine {_a(left)} (`{_path(node.left)}`) and "
                          f"{_a(right)} (`{_path(node.right)}`)", node, hint=hint)

    def _conditional(self, node: ast.Conditional) -> T:
        cond = self.infer(node.cond)
        if cond.kind not in ("bool", "dyn"):
            self.error("POLC213", f"the condition of `?:` must be a bool, not {_a(cond)}", node.cond)
        then, other = self.infer(node.then), self.infer(node.otherwise)
        return then if then == other else DYN

    def _comprehension(self, node: ast.Comprehension) -> T:
        rng = self.infer(node.range)
        if rng.kind == "list":
            var = rng.args[0]
        elif rng.kind == "map":
            var = rng.args[0]
        elif rng.kind == "object" or rng.kind == "dyn":
            var = STRING if rng.kind == "object" else DYN
        else:
            var = self.error("POLC214", f"`{node.kind}` needs a list or map, and `{_path(node.range)}` is {_a(rng)}",
                             node.range, hint="macros iterate over lists (elements) and maps (keys)")
        saved = self.env.get(node.var)
        self.env[node.var] = var
        try:
            if node.guard is not None:
                self._predicate(node.guard, node.kind)
            if node.kind == "map":
                return T.list_of(self.infer(node.step))
            self._predicate(node.step, node.kind)
            return rng if node.kind == "filter" else BOOL
        finally:
            if saved is None:
                self.env.pop(node.var, None)
            else:
                self.env[node.var] = saved

    def _predicate(self, node, kind: str) -> None:
        t = self.infer(node)
        if t.kind not in ("bool", "dyn"):
            self.error("POLC217", f"the predicate of `{kind}` must be a bool, not {_a(t)}", node)


def infer(node, env: dict[str, T], *, extra_functions=None) -> tuple[T, list[Diagnostic]]:
    checker = Checker(env, extra_functions=extra_functions)
    return checker.infer(node), checker.found


def check_condition(node, env: dict[str, T], *, what: str = "a condition", extra_functions=None) -> list[Diagnostic]:
    """Diagnostics for an expression that must give a bool."""
    t, found = infer(node, env, extra_functions=extra_functions)
    if not found and t.kind not in ("bool", "dyn"):
        found.append(Diagnostic.error("POLC217", f"{what} must be a bool, and this is {_a(t)}", node.span,
                                      hint="compare it, for example `x > 0`"))
    return found


def _a(t: T) -> str:
    text = str(t)
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
