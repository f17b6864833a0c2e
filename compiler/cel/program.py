"""The embedding API: ``compile(expr, declarations) -> Program``; ``program.evaluate(bindings)``.

>>> from compiler.cel import compile
>>> program = compile("metrics.p95 <= limit", {"metrics": "map(string, double)", "limit": "int"})
>>> program.evaluate({"metrics": {"p95": 120.0}, "limit": 200})
True
>>> program.evaluate({"metrics": {}, "limit": 200})
Traceback (most recent call last):
...
compiler.cel.errors.CelError: <expr>:1:1: POLC230 no such key: 'p95'

Errors: ``compile`` raises :class:`CelError` for syntax (POLC200-206), type (POLC210-217)
and cost (POLC220) errors; ``evaluate`` raises it for runtime errors (POLC230) and an
exhausted runtime budget (POLC231), always with the span of the failing sub-expression.

Every program is built from the expression IR (:mod:`compiler.cel.ir`): ``compile`` parses
and checks, encodes the checked tree and decodes it again before building either backend,
exactly as a router builds a gate from its snapshot (:func:`from_checked`), so the one path
is exercised by every expression compiled.
"""

from __future__ import annotations

from . import ast
from .errors import CelError
from .interp import DEFAULT_RUNTIME_BUDGET, Interpreter
from .semantics import CelErrorValue, CostExceeded

BACKENDS = ("compiled", "interp")


class Program:
    """A compiled expression. ``evaluate`` is thread-safe (no state is kept between calls)."""

    def __init__(self, root: ast.Expr, evaluator, *, backend: str, types=None,
                 cost: int | None = None, source: str | None = None):
        self.ast = root
        self.backend = backend
        self.types = types          # the checker's result, or None when unchecked
        self.estimated_cost = cost  # static cost estimate (see compiler.cel.cost)
        self.source = source        # the generated Python, for the compiled backend
        self._evaluate = evaluator
        if backend == "compiled":
            # The generated `evaluate` converts errors to CelError itself; binding it
            # directly saves a Python call per evaluation.
            self.evaluate = evaluator  # type: ignore[method-assign]

    def evaluate(self, bindings: dict | None = None):
        """The CEL value for ``bindings``: int, CelUint, float, str, bytes, bool, None, list,
        dict (or CelType, Timestamp, Duration); raises CelError on a runtime error."""
        from .rt import check_bindings
        try:
            return self._evaluate(check_bindings(bindings))
        except CostExceeded as err:
            raise CelError("POLC231", err.message, err.span or self.ast.span,
                           hint="the expression iterates over too much data; raise the runtime "
                                "budget or bound the input") from None
        except CelErrorValue as err:
            raise CelError("POLC230", err.message, err.span or self.ast.span) from None
        except RecursionError:
            raise CelError("POLC230", "evaluation nested too deeply", self.ast.span) from None


def compile(expr: str | ast.Expr, declarations: dict | None = None, *, backend: str = "compiled",
            cost_limit: int | None = None, size_hints: dict | None = None,
            runtime_budget: int = DEFAULT_RUNTIME_BUDGET, expect: str | None = None,
            file: str = "<expr>", line: int = 1, column: int = 1,
            name: str = "expr", optimize: bool = True) -> Program:
    """Parse, check (when ``declarations`` is given), cost-bound and build one expression.

    ``declarations`` maps variable names to types in the declaration language of
    :mod:`compiler.cel.types` (``"double"``, ``"list(string)"``, ``{"p95": "double"}``, ...);
    None skips type checking (everything is ``dyn``). ``cost_limit`` refuses expressions whose
    static estimate is higher (``size_hints`` gives maximum sizes of variables, see
    :mod:`compiler.cel.cost`); ``runtime_budget`` bounds macro iterations per evaluation;
    ``expect`` (e.g. ``"bool"``) is the required result type (POLC217 otherwise).
    ``file``/``line``/``column`` place the text in a larger file for spans; ``name`` names
    the generated code (``<polc:FILE#NAME>``). ``optimize=False`` makes the compiled backend
    use only its generic path (no fast path; for tests and debugging).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    try:
        return _compile(expr, declarations, backend=backend, cost_limit=cost_limit,
                        size_hints=size_hints, runtime_budget=runtime_budget, expect=expect,
                        file=file, line=line, column=column, name=name, optimize=optimize)
    except RecursionError:  # only when called from an already deep Python stack
        from ..diagnostics import Span
        raise CelError("POLC203", "expression nested too deeply for the current call stack",
                       getattr(expr, "span", None) or Span(file, line, column)) from None


def _compile(expr, declarations, *, backend, cost_limit, size_hints, runtime_budget, expect,
             file, line, column, name, optimize) -> Program:
    from .parser import parse
    root = expr if isinstance(expr, ast.Node) else parse(expr, file=file, line=line, column=column)
    types = None
    if declarations is not None:
        from .checker import check
        from .types import parse_type
        types = check(root, declarations,
                      expect=None if expect is None else parse_type(expect, "expect"))
    cost = None
    if cost_limit is not None or declarations is not None:
        from .cost import enforce_cost
        cost = enforce_cost(root, types, cost_limit, size_hints)
    root, checked = through_ir(root, types)
    program = from_checked(root, checked, backend=backend, file=file, name=name,
                           budget=runtime_budget, optimize=optimize)
    program.estimated_cost = cost
    return program


def through_ir(root: ast.Expr, checked):
    """``root`` and its checked facts, encoded to the expression IR and decoded again."""
    from .ir import Decoder, Encoder, decode

    encoder = Encoder()
    encoded = encoder.node(root, checked)
    decoded, facts = decode(encoded, Decoder(encoder.finish()), file=root.span.file)
    if checked is None:
        return decoded, None
    facts.declarations = checked.declarations
    return decoded, facts


def from_checked(root: ast.Expr, checked, *, backend: str = "compiled", file: str = "<expr>",
                 name: str = "expr", budget: int = DEFAULT_RUNTIME_BUDGET,
                 optimize: bool = True, check_ranges: bool = True) -> Program:
    """A Program of a checked tree (from the checker or the IR); ``checked`` may be None.

    ``check_ranges=False`` skips refusing integers outside their declared range, for a caller
    whose bindings are already checked (the rules runtime binds every input by its type).
    """
    if backend == "interp":
        interpreter = Interpreter(root, budget=budget, checked=checked, check_ranges=check_ranges)
        return Program(root, interpreter.evaluate, backend=backend, types=checked)
    from .codegen import generate
    function, source = generate(root, checked, file=file, name=name, budget=budget, optimize=optimize,
                                check_ranges=check_ranges)
    return Program(root, function, backend=backend, types=checked, source=source)
