"""What every generated module shares: functions with line maps, names, constants, helpers.

The code generators (:mod:`codegen_fast`, :mod:`codegen_generic`, :mod:`codegen`,
:mod:`codegen_gate`) write :class:`Function` objects whose lines each carry the span of the
CEL node they compute; :func:`compile_module` assembles them into one module, compiles it
under its ``<polc:FILE#NAME>`` filename (registered with ``linecache``, so a traceback shows
the generated line); :func:`assemble` gives the source and its line map (line -> span).

Generated code calls the semantic helpers of both evaluators under fixed names (``_eq``,
``_call``, ...). A module's namespace gets only the helpers its source names, imported on
first use: the PASS test of a gate needs a handful of type tests, and a router's first gate
evaluation should not pay for the modules of CEL's full semantics (time, regular expressions,
decimal formatting) it never calls.

>>> fn = Function("evaluate", ["bindings"])
>>> fn.add("return _deopt() if bindings else 1", None)
>>> source, spans = assemble([fn])
>>> compile_module(source, "<polc:doc#x>")["evaluate"]({})
1
"""

from __future__ import annotations

import importlib
import linecache
import math
from types import CodeType

from . import ast
from .values import INT64_MAX, INT64_MIN, CelUint


class Deopt(Exception):
    """The typed fast path met a value it was not specialised for: rerun the generic path."""


def deopt():
    raise Deopt()


def as_double(value) -> float:
    """A double-declared comparison operand: an int compares as CEL does (as a double)."""
    if type(value) is int:
        return float(value)
    return deopt()


class Function:
    """One generated function: its parameters and (depth, code, span) lines."""

    def __init__(self, name: str, params: list[str]):
        self.name, self.params = name, params
        self.lines: list[tuple[int, str, object]] = []
        self.depth = 0

    def add(self, code: str, span) -> None:
        self.lines.append((self.depth, code, span))


class Names:
    """Fresh Python identifiers: a prefix from a fixed set plus a counter."""

    def __init__(self):
        self.count = 0

    def next(self, prefix: str) -> str:
        self.count += 1
        safe = "".join(ch for ch in prefix if ch.isalnum() or ch == "_")[:24]
        return f"{safe}{self.count}"


class Consts:
    """Literal values: small ones as ``repr()``, the rest hoisted to module constants."""

    def __init__(self):
        self.values: dict[str, object] = {}

    def literal(self, value) -> str:
        if value is None or type(value) in (bool, int, str, bytes):
            return repr(value)
        if type(value) is float and math.isfinite(value):
            return repr(value)
        return self.hoist(value)

    def hoist(self, value) -> str:
        name = f"K{len(self.values)}"
        self.values[name] = value
        return name


def uses_budget(root, checked) -> bool:
    """Whether evaluating ``root`` (the lets it reaches included) can run a macro."""
    lets = checked.lets if checked is not None else []
    seen, stack = set(), [root]
    while stack:
        for node in ast.walk(stack.pop()):
            if isinstance(node, ast.Comprehension):
                return True
            index = checked.let_refs.get(id(node)) if checked is not None else None
            if index is not None and index not in seen:
                seen.add(index)
                stack.append(lets[index][1])
    return False


def assemble(fns: list[Function]) -> tuple[str, dict[int, object]]:
    """The module source of ``fns`` and its line map (line number -> span)."""
    out: list[str] = []
    spans: dict[int, object] = {}
    for fn in fns:
        out.append(f"def {fn.name}({', '.join(fn.params)}):")
        for depth, code, span in fn.lines:
            out.append("    " * (depth + 1) + code)
            if span is not None:
                spans[len(out)] = span
        out.append("")
    return "\n".join(out) + "\n", spans


def compile_module(source: str, filename: str, namespace: dict | None = None, *,
                   shown: str | None = None) -> dict:
    """Compile ``source`` under ``filename``; the namespace gets ``namespace`` and the helpers.

    ``shown`` is the text registered with ``linecache`` when ``source`` is the first part of a
    larger module compiled later (line numbers then agree between the two).
    """
    code, helpers = _compiled(source)
    scope = dict(namespace or {})
    scope.update(helpers)
    exec(_renamed(code, filename), scope)  # noqa: S102 - from a validated tree only
    text = source if shown is None else shown
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    return scope


#: Generated sources already compiled: many gates of a policy have the same shape (their
#: constants are module names such as ``K0``, not literals), so their modules share the code;
#: each gets its own filename (and so its own line map) by :func:`_renamed`.
_CODE_CACHE: dict[str, tuple[CodeType, dict]] = {}
_CODE_CACHE_SIZE = 512


def _compiled(source: str) -> tuple[CodeType, dict]:
    found = _CODE_CACHE.get(source)
    if found is None:
        if len(_CODE_CACHE) >= _CODE_CACHE_SIZE:
            _CODE_CACHE.clear()
        found = _CODE_CACHE[source] = (compile(source, "<polc>", "exec"), helpers_for(source))
    return found


def _renamed(code: CodeType, filename: str) -> CodeType:
    """``code`` and the functions it defines, compiled as if from ``filename``."""
    consts = tuple(_renamed(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


# --- helpers ---------------------------------------------------------------------------------

#: Helper name in generated code -> (module of compiler.cel, attribute), imported on first use.
HELPERS = {
    "_ident": ("rt", "ident"), "_select_path": ("rt", "select_path"), "_has_path": ("rt", "has_path"),
    "_truth": ("rt", "truth"), "_absorb": ("rt", "absorb"), "_and_result": ("rt", "and_result"),
    "_or_result": ("rt", "or_result"), "_cost_exceeded": ("rt", "cost_exceeded"),
    "_check_bindings": ("rt", "check_bindings"), "_let_value": ("rt", "let_value"),
    "_raise_cel_error": ("rt", "raise_cel_error"),
    "_select": ("containers", "select"), "_has": ("containers", "has"),
    "_index": ("containers", "index"), "_make_map": ("containers", "make_map"),
    "_in": ("containers", "contains_in"), "_iterable": ("containers", "iterable"),
    "_call": ("functions", "call"),
    "_not": ("semantics", "not_"), "_neg": ("semantics", "neg"), "_eq": ("semantics", "eq"),
    "_ne": ("semantics", "ne"), "_lt": ("semantics", "lt"), "_le": ("semantics", "le"),
    "_gt": ("semantics", "gt"), "_ge": ("semantics", "ge"), "_add": ("semantics", "add"),
    "_sub": ("semantics", "sub"), "_mul": ("semantics", "mul"), "_div": ("semantics", "div"),
    "_mod": ("semantics", "mod"), "_CelErrorValue": ("semantics", "CelErrorValue"),
}
#: Helpers defined here or in compiler.cel.values (no import needed).
_LOCAL = {"_deopt": deopt, "_as_double": as_double, "_CelUint": CelUint, "_MIN": INT64_MIN,
          "_MAX": INT64_MAX, "__name__": "polc_generated"}
_resolved: dict[str, object] = {}


def helpers_for(source: str) -> dict:
    """The helpers ``source`` names (and the always-present light ones).

    Generated code calls a helper (``_eq(``) or catches it (``except _CelErrorValue as``); no
    helper's call is a substring of another's, so a text search finds exactly the ones used.
    """
    found = dict(_LOCAL)
    for name in HELPERS:
        if name + "(" in source or name + " as " in source:
            found[name] = helper(name)
    return found


def helper(name: str):
    value = _resolved.get(name)
    if value is None:
        module, attribute = HELPERS[name]
        value = _resolved[name] = getattr(importlib.import_module(f"compiler.cel.{module}"), attribute)
    return value
