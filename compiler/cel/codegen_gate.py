"""A whole-gate program: one generated test that a gate of N conditions certainly passes.

A gate is several boolean conditions over one input (``metrics``), constant parameters
(``params``) and shared lets. Its PASS test is one module, ``<polc:FILE#GATE>``, with one
function ``passes(value)`` that returns True only when every condition evaluates to ``true``
for ``value`` bound as the gate's runtime binds it; anything else (a failing condition, a
value of a shape the test is not specialised for, any error) returns None, and the caller
takes the full path, which explains failures (compiler.rules.runtime). So a pass costs a
few type tests and comparisons, and every non-pass is computed by the one path that knows
how to explain it.

The conditions are the typed fast path of :mod:`codegen_fast`, sharing one prologue: lets
are computed once, ``params.X`` is a module constant, and when the input is an object of
scalar fields used only as ``metrics.FIELD``, the fields are read straight from the value
with the guards binding would apply (an int where a double is declared becomes a float)::

    def passes(m):
        try:
            if type(m) is not dict:  # another Mapping: bound as the full path binds it
                m = _bind(m, _T, True)
            if len(m) != 2:
                for k in m:
                    if type(k) is not str or k not in _FIELDS and type(m[k]) not in _PLAIN: return None
            f0 = m['p95_latency_ms']
            if type(f0) is not float:
                if type(f0) is not int: return None
                f0 = float(f0)
            ...
            if (f0 <= K0) is not True: return None
            return True
        except Exception:
            return None

Otherwise the value is bound first (``bindings = {..., 'metrics': _bind(m, _T, True)}``,
the runtime's binding function, given by the caller) and the conditions read it as any
program does.

>>> from compiler.cel.checker import Checker
>>> from compiler.cel.parser import parse
>>> from compiler.cel.types import parse_type
>>> checker = Checker({"metrics": parse_type("{p95: double}"), "params": parse_type("{p95: double}")})
>>> cond = parse("metrics.p95 <= params.p95")
>>> _ = checker.check(cond)
>>> passes, source = pass_test([cond], checker.result, input_name="metrics", params={"p95": 2000.0},
...                            bind=None, file="g.rules", name="g")
>>> passes({"p95": 1800}), passes({"p95": 2300}), passes({"p95": "fast"})
(True, None, None)
"""

from __future__ import annotations

from typing import Any, Callable

from . import ast
from .codegen_base import Consts, Function, Names, assemble, compile_module
from .codegen_fast import FastEmitter
from .types import BOOL, DOUBLE, INT, STRING, CheckResult, Type

_SCALARS = {"double": DOUBLE, "int": INT, "bool": BOOL, "string": STRING}
_CONSTANT_TYPES = {float: DOUBLE, bool: BOOL, str: STRING}


def pass_test(conditions: list[ast.Expr], checked: CheckResult, *, input_name: str, params: dict,
              bind: Callable | None, file: str, name: str, budget: int = 1_000_000
              ) -> tuple[Callable[[Any], bool | None], str]:
    """``(passes, source)`` for a gate whose one input is ``input_name`` (see the module docstring).

    ``checked`` holds the declarations (``params`` and the input), the lets and the types;
    ``params`` are the bound parameter values; ``bind(value, type, strict)`` binds the input
    as the gate's full path does (needed unless every use of the input is a scalar field).
    """
    names, consts = Names(), Consts()
    declared = checked.declarations[input_name]
    nodes = [node for root in reachable(conditions, checked) for node in ast.nodes(root)]
    fields = _direct_fields(nodes, checked, input_name, declared)
    known: dict[tuple, tuple[str, Type | None]] = {}
    for key, value in params.items():
        if type(value) in _CONSTANT_TYPES:  # a module constant, never source text (NaN is fine)
            known[("params", key)] = (consts.hoist(value), _CONSTANT_TYPES[type(value)])
    locals_ = {}
    if fields is not None:
        for i, (field, kind) in enumerate(fields.items()):
            locals_[field] = f"f{i}"
            known[(input_name, field)] = (f"f{i}", _SCALARS[kind])
    fast = FastEmitter(consts, names, checked, known=known)
    codes = [fast.expression(root) for root in conditions]
    fn = Function("passes", ["m"])
    fn.add("try:", None)
    fn.depth = 1
    if fields is not None:
        _read_fields(fn, fields, locals_)
        if fast.loads:  # `params` read whole (not as a constant): bind it like the full path
            fn.add("bindings = {'params': _PARAMS}", None)
    else:
        fn.add(f"bindings = {{'params': _PARAMS, {input_name!r}: _bind(m, _T, True)}}", None)
    if any(isinstance(node, ast.Comprehension) for node in nodes):
        fn.add("_b = [_BUDGET]", None)
    for line in fast.prologue():
        fn.add(line, None)
    for code in codes:
        fn.add(f"if ({code}) is not True: return None", None)
    fn.add("return True", None)
    fn.depth = 0
    fn.add("except Exception:  # not certainly a pass: the full path decides and explains", None)
    fn.add("    return None", None)
    source, _ = assemble([fn, *fast.functions])
    namespace = {"_PARAMS": params, "_T": declared, "_bind": bind, "_BUDGET": budget,
                 "_FIELDS": frozenset(fields or ()), "_PLAIN": frozenset({float, int, str, bool, type(None)}),
                 **consts.values}
    return compile_module(source, f"<polc:{file}#{name}>", namespace)["passes"], source


def _direct_fields(nodes: list, checked: CheckResult, input_name: str, declared: Type) -> dict | None:
    """field -> kind when the input is an object of scalar fields only read as ``input.FIELD``
    (``nodes``: every node of the conditions and of the lets they reach)."""
    if declared.kind != "object" or declared.nullable or declared.open or not declared.fields:
        return None
    if any(t.kind not in _SCALARS or t.nullable or not key.isidentifier() for key, t in declared.fields):
        return None
    fields = {key: t.kind for key, t in declared.fields}
    if any(isinstance(n, ast.Comprehension) and n.var == input_name for n in nodes):
        return None  # shadowed somewhere: keep it simple, bind the input
    direct = {id(n.operand) for n in nodes if isinstance(n, ast.Select) and n.field in fields}
    for node in nodes:
        if isinstance(node, ast.Ident) and node.name == input_name and id(node) not in direct \
                and id(node) not in checked.let_refs:
            return None
    return fields


def reachable(roots, checked: CheckResult) -> list[ast.Expr]:
    """``roots`` and the bodies of the lets they reach, each once."""
    out, seen, stack = [], set(), list(roots)
    while stack:
        root = stack.pop()
        out.append(root)
        for node in ast.nodes(root):
            index = checked.let_refs.get(id(node))
            if index is not None and index not in seen:
                seen.add(index)
                stack.append(checked.lets[index][1])
    return out


def _read_fields(fn: Function, fields: dict[str, str], locals_: dict[str, str]) -> None:
    """Exactly the values strict binding accepts without conversion trouble; else None."""
    # Strict binding keeps other keys (copied); a plain scalar cannot make that fail.
    fn.add("if type(m) is not dict:  # another Mapping (a frozen scorecard): bound as the full path does", None)
    fn.add("    m = _bind(m, _T, True)", None)
    fn.add(f"if len(m) != {len(fields)}:", None)
    fn.add("    for k in m:", None)
    fn.add("        if type(k) is not str or k not in _FIELDS and type(m[k]) not in _PLAIN: return None", None)
    for field, kind in fields.items():
        local = locals_[field]
        fn.add(f"{local} = m[{field!r}]", None)
        if kind == "double":
            fn.add(f"if type({local}) is not float:", None)
            fn.add(f"    if type({local}) is not int: return None", None)
            fn.add(f"    {local} = float({local})", None)
        elif kind == "int":  # out of CEL's int64 range: the full path says so
            fn.add(f"if type({local}) is not int or not _MIN <= {local} <= _MAX: return None", None)
        else:
            fn.add(f"if type({local}) is not {'bool' if kind == 'bool' else 'str'}: return None", None)
