"""The compiled evaluator: lower a (checked) CEL tree to Python source, compile, run.

One module per expression, compiled under ``<polc:FILE#NAME>`` and registered with
``linecache`` so tracebacks show the generated line. It defines ``evaluate(bindings)``:

* With declarations, ``evaluate`` first runs the typed fast path (:mod:`codegen_fast`):
  direct Python operations guarded by exact type tests. Anything unexpected there (a
  failed guard, a missing key, an error) falls through to the generic path.
* The generic path (:mod:`codegen_generic`) has full CEL semantics through the same
  helpers the interpreter uses, and maps each line back to a CEL span for errors.

The tree comes from the parser and checker, or from the snapshot's expression IR
(:mod:`compiler.cel.ir`); lets of the checked result (``checked.lets``) are computed once
per evaluation. A whole gate (several conditions sharing inputs and lets) has a PASS test of
its own: :mod:`codegen_gate`.

Generated code never contains user text except ``repr()`` of validated literal values
and field names; variables are renamed (``v1``, ``c_x2``, ``t3``); everything else is
taken from the fixed helper namespace of :mod:`codegen_base`.

>>> from compiler.cel.parser import parse
>>> evaluate, source = generate(parse("[1, 2].exists(x, x > 1)"), None)
>>> evaluate({})
True
"""

from __future__ import annotations

from . import ast
from .codegen_base import Consts, Function, Names, assemble, compile_module, uses_budget
from .codegen_fast import FastEmitter
from .codegen_generic import GenericEmitter


def generate(root: ast.Expr, checked, *, file: str = "<expr>", name: str = "expr",
             budget: int = 1_000_000, optimize: bool = True, check_ranges: bool = True):
    """(evaluate function, Python source) for ``root``; ``checked`` is a CheckResult or None.

    ``optimize=False`` generates the generic path only (for tests and debugging);
    ``check_ranges`` refuses integers outside their declared range first (both paths), as the
    interpreter does (:func:`compiler.cel.rt.ranges_of`).
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
    ranges = None
    if check_ranges and checked is not None:
        from .rt import ranges_of  # what every runner calls (`_check_bindings`) lives there too
        ranges = ranges_of(root, checked)
    runner = _runner(fast_code, uses_budget(root, checked), ranges is not None)
    eager = [runner, *fast.functions]
    filename = f"<polc:{file}#{name}>"
    source, line_spans = assemble(eager + generic.functions)
    spans = {(filename, line): span for line, span in line_spans.items()}
    namespace = {"_SPANS": spans, "_BUDGET": budget, "_ROOT_SPAN": root.span, "_in_ranges": ranges,
                 **consts.values}
    if fast_code is None:
        namespace = compile_module(source, filename, namespace)
    else:
        # The generic path runs only when the fast path bails out: compile it on first use.
        # It is compiled from the same full source, so line numbers (and spans) agree.
        namespace["_polc_generic"] = _lazy(source, filename, namespace)
        eager_source, _ = assemble(eager)
        namespace = compile_module(eager_source, filename, namespace, shown=source)
        namespace["_polc_generic"].namespace = namespace
    return namespace["evaluate"], source


class _lazy:
    """The generic path, compiled from the module's full source the first time it runs."""

    def __init__(self, source: str, filename: str, namespace: dict):
        self.source, self.filename, self.namespace = source, filename, namespace

    def __call__(self, bindings, budget):
        scratch = compile_module(self.source, self.filename, self.namespace)
        self.namespace["_polc_generic"] = scratch["_polc_generic"]
        return scratch["_polc_generic"](bindings, budget)


def _untyped():
    from .types import DYN, CheckResult
    return CheckResult(DYN, {})


def _runner(fast_code, uses_budget: bool, ranges: bool) -> Function:
    fn = Function("evaluate", ["bindings=None"])
    if fast_code is not None:
        prologue, expr = fast_code
        fn.add("try:", None)
        fn.depth = 1
        if ranges:  # an integer out of its declared range: the generic path below says so
            fn.add("_in_ranges(bindings)", None)
        if uses_budget:
            fn.add("_b = [_BUDGET]", None)
        for line in prologue:
            fn.add(line, None)
        fn.add(f"return {expr}", None)
        fn.depth = 0
        fn.add("except Exception:  # not the case the fast path is specialised for", None)
        fn.add("    pass", None)
    fn.add("try:", None)
    if ranges:
        fn.add("    bindings = _check_bindings(bindings)", None)
        fn.add("    _in_ranges(bindings)", None)
        fn.add("    return _polc_generic(bindings, [_BUDGET])", None)
    else:
        fn.add("    return _polc_generic(_check_bindings(bindings), [_BUDGET])", None)
    fn.add("except _CelErrorValue as _e:", None)
    fn.add("    _raise_cel_error(_e, _SPANS, _ROOT_SPAN)", None)
    fn.add("except RecursionError:  # a cyclic binding compared or printed", None)
    fn.add("    _raise_cel_error(_CelErrorValue('value nested too deeply'), _SPANS, _ROOT_SPAN)",
           None)
    return fn

