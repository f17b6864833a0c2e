"""The compiled evaluator: lower a (checked) CEL AST to Python source, compile, run.

One module per expression, compiled under ``<polc:FILE#NAME>`` and registered with
``linecache`` so tracebacks show the generated line. It defines ``evaluate(bindings)``:

* With declarations, ``evaluate`` first runs the typed fast path (:mod:`codegen_fast`):
  direct Python operations guarded by exact type tests. Anything unexpected there (a
  failed guard, a missing key, an error) falls through to the generic path.
* The generic path (:mod:`codegen_generic`) has full CEL semantics through the same
  helpers the interpreter uses, and maps each line back to a CEL span for errors.

Generated code never contains user text except ``repr()`` of validated literal values
and field names; variables are renamed (``v1``, ``c_x2``, ``t3``); everything else is
taken from the fixed helper namespace built here.

>>> from compiler.cel.parser import parse
>>> evaluate, source = generate(parse("[1, 2].exists(x, x > 1)"), None)
>>> evaluate({})
True
"""

from __future__ import annotations

import linecache
import math

from . import ast
from . import functions, rt
from . import containers
from . import semantics as sem
from .codegen_fast import FastEmitter
from .codegen_generic import Function, GenericEmitter
from .errors import CelError
from .values import INT64_MAX, INT64_MIN, CelUint


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


def generate(root: ast.Expr, checked, *, file: str = "<expr>", name: str = "expr",
             budget: int = 1_000_000, optimize: bool = True):
    """(evaluate function, Python source) for ``root``; ``checked`` is a CheckResult or None.

    ``optimize=False`` generates the generic path only (for tests and debugging).
    """
    names, consts = Names(), Consts()
    generic = GenericEmitter(consts, names, checked)
    generic.build(root, "_polc_generic")
    # Without declarations the fast path still pays off: every operation goes through the
    # semantic helpers, but without the generic path's error bookkeeping.
    fast = FastEmitter(consts, names, checked if checked is not None else _untyped(),
                       untyped=checked is None)
    fast_code = fast.build(root) if optimize else None
    if not optimize:
        fast.functions = []
    uses_budget = any(isinstance(n, ast.Comprehension) for n in ast.walk(root))
    runner = _runner(fast_code, uses_budget)
    eager = [runner, *fast.functions]
    filename = f"<polc:{file}#{name}>"
    source, line_spans = _assemble(eager + generic.functions)
    spans = {(filename, line): span for line, span in line_spans.items()}
    namespace = _namespace(consts, spans, root, budget)
    eager_source, _ = _assemble(eager)
    if fast_code is None:
        _exec(source, filename, namespace)
    else:
        # The generic path runs only when the fast path bails out: compile it on first use.
        # It is compiled from the same full source, so line numbers (and spans) agree.
        namespace["_polc_generic"] = _lazy(source, filename, namespace)
        _exec(eager_source, filename, namespace)
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return namespace["evaluate"], source


def _exec(source: str, filename: str, namespace: dict) -> None:
    code = compile(source, filename, "exec")
    exec(code, namespace)  # noqa: S102 - source generated from the validated AST only


def _lazy(source: str, filename: str, namespace: dict):
    def _polc_generic(bindings, _b):
        scratch = dict(namespace)
        _exec(source, filename, scratch)
        namespace["_polc_generic"] = scratch["_polc_generic"]
        return scratch["_polc_generic"](bindings, _b)
    return _polc_generic


def _untyped():
    from .checker import CheckResult
    from .types import DYN
    return CheckResult(DYN, {})


def _runner(fast_code, uses_budget: bool) -> Function:
    fn = Function("evaluate", ["bindings=None"])
    if fast_code is not None:
        prologue, expr = fast_code
        fn.add("try:", None)
        fn.depth = 1
        if uses_budget:
            fn.add("_b = [_BUDGET]", None)
        for line in prologue:
            fn.add(line, None)
        fn.add(f"return {expr}", None)
        fn.depth = 0
        fn.add("except Exception:  # not the case the fast path is specialised for", None)
        fn.add("    pass", None)
    fn.add("try:", None)
    fn.add("    return _polc_generic(_check_bindings(bindings), [_BUDGET])", None)
    fn.add("except _CelErrorValue as _e:", None)
    fn.add("    _raise_cel_error(_e, _SPANS, _ROOT_SPAN)", None)
    fn.add("except RecursionError:  # a cyclic binding compared or printed", None)
    fn.add("    _raise_cel_error(_CelErrorValue('value nested too deeply'), _SPANS, _ROOT_SPAN)",
           None)
    return fn


def _assemble(fns: list[Function]) -> tuple[str, dict[int, object]]:
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


def raise_cel_error(err: sem.CelErrorValue, spans, root_span):
    span = err.span or rt.span_from_traceback(err.__traceback__, spans) or root_span
    if isinstance(err, sem.CostExceeded):
        raise CelError("POLC231", err.message, span,
                       hint="the expression iterates over too much data; raise the runtime "
                            "budget or bound the input") from None
    raise CelError("POLC230", err.message, span) from None


def _namespace(consts: Consts, spans, root: ast.Expr, budget: int) -> dict:
    namespace = {
        "_ident": rt.ident, "_select_path": rt.select_path, "_has_path": rt.has_path,
        "_select": containers.select, "_has": containers.has, "_index": containers.index,
        "_call": functions.call,
        "_make_map": containers.make_map, "_not": sem.not_, "_neg": sem.neg, "_eq": sem.eq,
        "_ne": sem.ne, "_lt": sem.lt, "_le": sem.le, "_gt": sem.gt, "_ge": sem.ge,
        "_add": sem.add, "_sub": sem.sub, "_mul": sem.mul, "_div": sem.div, "_mod": sem.mod,
        "_in": containers.contains_in, "_truth": rt.truth, "_absorb": rt.absorb,
        "_and_result": rt.and_result, "_or_result": rt.or_result, "_iterable": containers.iterable,
        "_cost_exceeded": rt.cost_exceeded, "_deopt": rt.deopt, "_as_double": rt.as_double,
        "_CelErrorValue": sem.CelErrorValue, "_CelUint": CelUint, "_SPANS": spans,
        "_MIN": INT64_MIN, "_MAX": INT64_MAX, "_BUDGET": budget, "_ROOT_SPAN": root.span,
        "_raise_cel_error": raise_cel_error, "_check_bindings": rt.check_bindings, "__name__": "polc_generated",
    }
    namespace.update(consts.values)
    return namespace
