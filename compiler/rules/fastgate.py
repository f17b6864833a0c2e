"""The PASS fast path of a gate: one small generated function per gate, built on first use.

``CompiledGate.evaluate(metrics)`` first asks ``fast(metrics)``. It returns True only when the
slow path (strict binding, then every compiled condition) would certainly pass; anything else
(None or False) means "take the slow path", which then produces exactly the result it always
did (failures, messages, observed values, spans, errors). So a pass costs a few type tests and
comparisons, and every non-pass is computed by the one path that knows how to explain it.

For ``input metrics: {p95: double}`` and ``require metrics.p95 <= params.p95`` the function is::

    def gate_fast(m):
        if type(m) is not dict: return None
        if len(m) != 1:
            for k in m:
                if type(k) is not str or k not in _FIELDS and type(m[k]) not in _PLAIN: return None
        try:
            f0 = m['p95']
        except KeyError: return None
        if type(f0) is not float:
            if type(f0) is not int: return None
            try: f0 = float(f0)
            except OverflowError: return None
        if not ((f0 <= P0)): return None
        return True

It is generated from the validated gate IR only: field names are identifiers accepted by the
type parser (written with ``repr()``), literals are ``repr()`` of finite numbers, bools and
strings from the parsed AST, parameters are namespace constants (never source text). A
condition outside the small inlined subset (comparisons, ``!``, ``&&``, ``||`` over scalar
fields, parameters and literals) calls the condition's compiled program on bindings built by
the same binding function the slow path uses.

>>> from compiler.rules.runtime import build_gate
>>> block = {"gates": {"g": {"file": "g.rules", "span": [1, 1, 4, 2], "params": "g",
...     "inputs": [{"name": "metrics", "type": "{p95: double}", "span": [2, 3, 2, 30]}],
...     "lets": [], "conditions": [{"expr": "metrics.p95 <= params.p95", "span": [3, 11, 3, 36]}]}}}
>>> fast = build_fast(build_gate(block, "g", {"p95": 2000}))
>>> fast({"p95": 1800}), fast({"p95": 2300}), fast({"p95": "fast"})
(True, None, None)
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..cel.values import INT64_MAX, INT64_MIN
from .binding import _fast as bind_fast

_SIMPLE = {"double", "int", "bool", "string"}
_ORDER = {"<", "<=", ">", ">="}
_EQUALITY = {"==", "!="}


class _Unsupported(Exception):
    """This condition is not in the inlined subset: call its compiled program instead."""


def build_fast(gate) -> Callable[[Any], bool | None] | None:
    """The fast PASS test of ``gate`` (a CompiledGate), or None when it has no fast path.

    Never raises: a gate whose conditions do not compile keeps its slow path, which reports
    that error exactly as before.
    """
    try:
        if len(gate.inputs) != 1 or gate.inputs[0][0] == "params":
            return None
        programs = gate._programs or gate._compile_all()
        source, namespace = _generate(gate, programs)
        code = compile(source, f"<polc-fastgate:{gate.name}>", "exec")
        exec(code, namespace)  # noqa: S102 - generated from the validated gate IR only
        return namespace["gate_fast"]
    except Exception:  # noqa: BLE001 - no fast path; the slow path explains the problem
        return None


def _generate(gate, programs: list) -> tuple[str, dict]:
    name, t, _ = gate.inputs[0]
    namespace: dict = {"_bind": bind_fast, "_T": t, "_PARAMS": gate.params, "_NAME": name,
                       "_MIN": INT64_MIN, "_MAX": INT64_MAX}
    lines = ["def gate_fast(m):", "    if type(m) is not dict: return None"]
    fields = _simple_fields(t)
    emitter = _Inline(name, fields or {}, gate.params, namespace)
    if fields is not None:
        namespace.update(_FIELDS=frozenset(fields), _PLAIN=frozenset({float, int, str, bool, type(None)}))
        lines += _guard_fields(fields)
    called = []
    for i, ((expr, _), program) in enumerate(zip(gate.conditions, programs)):
        try:
            code = emitter.condition(gate.lowered(expr)) if fields is not None else None
        except _Unsupported:
            code = None
        if code is None:
            namespace[f"_P{i}"] = program.evaluate
            called.append(i)
        else:
            lines.append(f"    if not ({code}): return None")
    if called or fields is None:
        # Bindings exactly as the slow path builds them (same function, same order).
        lines += ["    try:", "        b = {'params': _PARAMS, _NAME: _bind(m, _T, True)}"]
        lines += [f"        if _P{i}(b) is not True: return None" for i in called]
        lines += ["    except Exception:", "        return None"]
    lines.append("    return True")
    return "\n".join(lines) + "\n", namespace


def _simple_fields(t) -> dict[str, tuple[str, str]] | None:
    """field -> (local name, kind) for an object of scalar, non-null fields; else None."""
    if t.kind != "object" or t.nullable or not t.fields:
        return None
    if any(ft.kind not in _SIMPLE or ft.nullable or not key.isidentifier() for key, ft in t.fields):
        return None
    return {key: (f"f{i}", ft.kind) for i, (key, ft) in enumerate(t.fields)}


def _guard_fields(fields: dict[str, tuple[str, str]]) -> list[str]:
    """Exactly the values strict binding accepts without conversion trouble; else None."""
    # Strict binding keeps other keys (thawed); a plain scalar cannot make that fail.
    lines = [f"    if len(m) != {len(fields)}:", "        for k in m:",
             "            if type(k) is not str or k not in _FIELDS and type(m[k]) not in _PLAIN: return None",
             "    try:"]
    lines += [f"        {local} = m[{key!r}]" for key, (local, _) in fields.items()]
    lines += ["    except KeyError: return None"]
    for local, kind in fields.values():
        if kind == "double":
            lines += [f"    if type({local}) is not float:",
                      f"        if type({local}) is not int: return None",
                      f"        try: {local} = float({local})",
                      "        except OverflowError: return None"]
        elif kind == "int":  # out of CEL's int64 range: let the program say so
            lines.append(f"    if type({local}) is not int or not _MIN <= {local} <= _MAX: return None")
        else:
            lines.append(f"    if type({local}) is not {'bool' if kind == 'bool' else 'str'}: return None")
    return lines


class _Inline:
    """Python for the inlined subset; each method returns (code, kind)."""

    def __init__(self, input_name: str, fields: dict, params: dict, namespace: dict):
        self.input_name, self.fields, self.params, self.namespace = input_name, fields, params, namespace
        self.constants = 0

    def condition(self, node) -> str:
        code, kind = self.emit(node)
        if kind != "bool":
            raise _Unsupported
        return code

    def emit(self, node) -> tuple[str, str]:
        from ..cel import ast

        if isinstance(node, ast.Literal):
            return _literal(node.value)
        if isinstance(node, ast.Select) and isinstance(node.operand, ast.Ident):
            return self.select(node.operand.name, node.field)
        if isinstance(node, ast.Unary) and node.op == "!":
            code, kind = self.emit(node.operand)
            if kind == "bool":
                return f"(not {code})", "bool"
        if isinstance(node, ast.Binary):
            return self.binary(node)
        raise _Unsupported

    def select(self, root: str, field: str) -> tuple[str, str]:
        if root == self.input_name and field in self.fields:
            return self.fields[field]
        if root == "params" and field in self.params:
            value = self.params[field]
            kind = {float: "double", bool: "bool", str: "string"}.get(type(value))
            if kind is None:
                raise _Unsupported
            name = f"P{self.constants}"  # a constant, not source text: NaN and inf are fine
            self.constants += 1
            self.namespace[name] = value
            return name, kind
        raise _Unsupported

    def binary(self, node) -> tuple[str, str]:
        left, lk = self.emit(node.left)
        right, rk = self.emit(node.right)
        if node.op in ("&&", "||") and lk == rk == "bool":
            return f"({left} {'and' if node.op == '&&' else 'or'} {right})", "bool"
        if lk != rk:
            raise _Unsupported  # mixed int/double: the program's rules, not Python's
        if node.op in _ORDER and lk in ("double", "int"):
            return f"({left} {node.op} {right})", "bool"
        if node.op in _EQUALITY and lk in ("int", "bool", "string"):
            return f"({left} {node.op} {right})", "bool"
        raise _Unsupported


def _literal(value) -> tuple[str, str]:
    kind = type(value)
    if kind is bool:
        return repr(value), "bool"
    if kind is int and INT64_MIN <= value <= INT64_MAX:
        return repr(value), "int"
    if kind is float and math.isfinite(value):
        return repr(value), "double"
    if kind is str:
        return repr(value), "string"
    raise _Unsupported
