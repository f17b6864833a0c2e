"""Runtime helpers that generated code calls (``compiler.cel.codegen`` output).

Everything here is CEL semantics shared with the interpreter (``semantics``, ``functions``,
``interp.resolve_ident``) plus the plumbing of the compiled evaluator: the deoptimisation
signal of the typed fast path, error absorption for ``&&``/``||``/macros, and spans for
errors recovered from the generated code's line map.
"""

from __future__ import annotations

from . import containers
from . import semantics as sem
from .codegen_base import Deopt, as_double, deopt  # noqa: F401 (the fast path's signals)
from .values import TYPE_DENOTATIONS, CelType
from .semantics import CelErrorValue, CostExceeded


def check_bindings(bindings) -> dict:
    """The bindings as a dict: None is empty, any Mapping is copied, anything else refused."""
    if type(bindings) is dict:
        return bindings
    if bindings is None:
        return {}
    from collections.abc import Mapping
    if isinstance(bindings, Mapping):
        return dict(bindings)
    raise CelErrorValue(f"bindings must be a dict of name -> value, got "
                        f"{type(bindings).__name__}")


def cost_exceeded():
    raise CostExceeded("runtime cost budget exceeded (too many macro iterations)")


def ident(bindings: dict, name: str):
    """A variable from the bindings, else a type name (`int`, `list`, ...), as the interpreter."""
    if name in bindings:
        return bindings[name]
    if name in TYPE_DENOTATIONS:
        return CelType(name)
    raise CelErrorValue(f"undeclared reference to '{name}'")


def select_path(bindings: dict, parts: tuple[str, ...]):
    """``a.b.c`` rooted at a variable: the longest dotted binding name wins, as in cel-go."""
    for cut in range(len(parts), 1, -1):
        name = ".".join(parts[:cut])
        if name in bindings:
            value = bindings[name]
            for field in parts[cut:]:
                value = containers.select(value, field)
            return value
    value = ident(bindings, parts[0])
    for field in parts[1:]:
        value = containers.select(value, field)
    return value


def has_path(bindings: dict, parts: tuple[str, ...], field: str) -> bool:
    return containers.has(select_path(bindings, parts), field)


def let_value(compute, index: int, bindings: dict, budget: list, memo: dict):
    """The value of let ``index``: computed by ``compute`` once per evaluation, then shared.

    An error is kept too, so a let that fails fails the same way wherever it is used (and a
    chain of lets each using the one before twice stays linear even when they fail).
    """
    try:
        value = memo[index]
    except KeyError:
        try:
            value = compute(bindings, budget, memo)
        except CostExceeded:
            raise
        except CelErrorValue as err:
            value = err
        memo[index] = value
    if isinstance(value, CelErrorValue):
        raise value
    return value


def raise_cel_error(err: CelErrorValue, spans, root_span):
    """The CelError (POLC230, or POLC231 for the budget) an evaluation ends with."""
    from .errors import CelError

    span = err.span or span_from_traceback(err.__traceback__, spans) or root_span
    if isinstance(err, CostExceeded):
        raise CelError("POLC231", err.message, span,
                       hint="the expression iterates over too much data; raise the runtime "
                            "budget or bound the input") from None
    raise CelError("POLC230", err.message, span) from None


def absorb(err: CelErrorValue, spans) -> CelErrorValue:
    """Keep an error as a value for ``&&``/``||``/macros; a cost overrun is never absorbed."""
    if isinstance(err, CostExceeded):
        raise err
    if err.span is None:
        err.span = span_from_traceback(err.__traceback__, spans)
    return err


def and_result(left, right):
    """Combine the two sides of ``&&`` once neither was false (values or absorbed errors)."""
    if right is False:
        return False
    if left is True and right is True:
        return True
    raise left if isinstance(left, CelErrorValue) else right


def or_result(left, right):
    if right is True:
        return True
    if left is False and right is False:
        return False
    raise left if isinstance(left, CelErrorValue) else right


def truth(value, op: str):
    if value is True or value is False:
        return value
    raise CelErrorValue(f"no such overload: `{op}` needs a bool, got {sem.type_name(value)}")


def span_from_traceback(tb, spans):
    """The CEL span of the innermost generated line in a traceback (``spans`` maps
    (filename, line) to spans)."""
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        key = (code.co_filename, tb.tb_lineno)
        if key in spans:
            found = spans[key]
        tb = tb.tb_next
    return found
