"""Evaluate one expression through every evaluator configuration and demand agreement."""

from __future__ import annotations

import compiler.cel as cel
from tests.cel.conformance import same_value

ERROR = object()


def outcome(expr, bindings=None, declarations=None, backend="interp", **options):
    """The value, or (ERROR, code) for a CelError."""
    try:
        return cel.compile(expr, declarations, backend=backend, **options).evaluate(bindings or {})
    except cel.CelError as err:
        return (ERROR, err.code)


def agree(expr, bindings=None, declarations=None, **options):
    """The common outcome of the interpreter and the compiled evaluator (with and without
    declarations); fails if any configuration disagrees."""
    results = []
    for decls in ([None, declarations] if declarations is not None else [None]):
        for backend in ("interp", "compiled"):
            results.append(((backend, decls is not None),
                            outcome(expr, bindings, decls, backend, **options)))
    results.append((("generic only", False), outcome(expr, bindings, None, "compiled",
                                                     optimize=False, **options)))
    first = results[0][1]
    for config, result in results[1:]:
        same = (isinstance(first, tuple) and first and first[0] is ERROR and
                isinstance(result, tuple) and result and result[0] is ERROR) or \
            (not _is_error(first) and not _is_error(result) and same_value(first, result))
        assert same, f"{expr!r}: {results[0][0]} gave {first!r} but {config} gave {result!r}"
    return first


def _is_error(result) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and result[0] is ERROR
