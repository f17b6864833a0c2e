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


def ranges_of(root, checked):
    """The range check of the declarations of ``checked`` for ``root`` (None when none is an integer)."""
    if checked is None or not checked.declarations:
        return None
    roots = [root, *(node for _, node in checked.lets)]
    return range_check(checked.declarations, first_uses(roots, set(checked.declarations)))


def range_check(declarations: dict, spans: dict):
    """A function refusing bindings whose integers leave their declared type's range, or None.

    CEL's int is 64-bit and uint unsigned 64-bit; Python's int has no bound, so a value of a
    declared ``int`` (``uint``) — at the top or inside a declared list, map or object — must be
    in range when it arrives, or the evaluation is an error (``spans``: variable -> the span of
    its first use). Only declarations that hold an integer type are walked; ``dyn`` is not.

    >>> from compiler.cel.types import parse_type
    >>> check = range_check({"n": parse_type("int"), "xs": parse_type("list(uint)"), "s": parse_type("string")}, {})
    >>> check({"n": 2 ** 63 - 1, "xs": [0, 2 ** 64 - 1], "s": "x"})
    >>> check({"n": 2 ** 80})
    Traceback (most recent call last):
    ...
    compiler.cel.semantics.CelErrorValue: `n` is 1208925819614629174706176, outside the int range (-2^63 to 2^63-1)
    """
    checks = tuple((name, t, spans.get(name)) for name, t in declarations.items() if _holds_integers(t))
    if not checks:
        return None

    def check(bindings: dict) -> None:
        for name, declared, span in checks:
            if name in bindings:
                problem = _out_of_range(bindings[name], declared, name)
                if problem is not None:
                    raise CelErrorValue(problem, span)

    return check


def _holds_integers(t) -> bool:
    if t.kind in ("int", "uint"):
        return True
    if t.kind in ("list", "map"):
        return any(_holds_integers(p) for p in t.params)
    return t.kind == "object" and any(_holds_integers(f) for _, f in t.fields)


_RANGES = {"int": (-(2 ** 63), 2 ** 63 - 1, "-2^63 to 2^63-1"), "uint": (0, 2 ** 64 - 1, "0 to 2^64-1")}


def _out_of_range(value, t, path: str) -> str | None:
    """What is out of range in ``value`` (a value of another shape is the evaluation's to judge)."""
    found = _find_out_of_range(value, t)
    if found is None:
        return None
    where, number, kind = found
    low_high = "-2^63 to 2^63-1" if kind == "int" else "0 to 2^64-1"
    return f"`{path}{where}` is {_number(number)}, outside the {kind} range ({low_high})"


def _find_out_of_range(value, t):
    """(where inside ``value``, the number, its kind) of the first integer out of range, or None."""
    kind = t.kind
    if kind in _RANGES:
        low, high, _ = _RANGES[kind]
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return "", value, kind
        return None
    if kind == "list" and type(value) in (list, tuple):
        for i, item in enumerate(value):
            found = _find_out_of_range(item, t.params[0])
            if found is not None:
                return f"[{i}]{found[0]}", found[1], found[2]
    elif kind == "map" and isinstance(value, dict):
        key_type, value_type = t.params
        for key, item in value.items():
            found = _find_out_of_range(key, key_type)
            if found is not None:
                return " (a key)", found[1], found[2]
            found = _find_out_of_range(item, value_type)
            if found is not None:
                return (f"[{key!r}]" if isinstance(key, str) else "[...]") + found[0], found[1], found[2]
    elif kind == "object" and isinstance(value, dict):
        for field, field_type in t.fields:
            found = _find_out_of_range(value.get(field), field_type) if field in value else None
            if found is not None:
                return f".{field}{found[0]}", found[1], found[2]
    return None


def _number(value: int) -> str:
    """A huge integer shortened (Python refuses to print one of more than 4,300 digits)."""
    if value.bit_length() < 200:
        return str(int(value))  # a CelUint prints as `5u`
    return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"


def first_uses(roots, names) -> dict:
    """name -> the span of the first identifier naming it in ``roots`` (for range errors)."""
    from . import ast

    spans: dict = {}
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.Ident) and node.name in names and node.name not in spans:
                spans[node.name] = node.span
    return spans


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
