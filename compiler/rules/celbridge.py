"""The adapter between the rules language and the CEL engine (``compiler.cel``).

The rules package uses only the engine's public API: ``compiler.cel.parse`` and
``compiler.cel.compile(node, declarations, backend=..., cost_limit=..., runtime_budget=...,
file=..., name=...)``. This module turns rules-level types (:mod:`compiler.rules.types`)
into the engine's declaration language and picks the fastest backend the engine offers
(``compiled`` when its code generator is present, else the reference interpreter), so the
rest of the package does not depend on how far the engine has got.

>>> from compiler.rules.types import T, DOUBLE, STRING
>>> to_declaration(T.obj({"p95": DOUBLE, "tags": T.list_of(STRING)}))
{'p95': 'double', 'tags': 'list(string)'}
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache

from ..diagnostics import Diagnostic
from .types import T

#: Runtime budget of one gate evaluation (comprehension iterations): no gate can hang a router.
RUNTIME_BUDGET = 1_000_000
#: Drift rules run in CI over whole snapshots (tens of thousands of roles), so they get more.
DRIFT_RUNTIME_BUDGET = 50_000_000
#: Codes of the engine's type checker: a runtime compile that trips one retries unchecked.
_TYPE_CODES = {"POLC210", "POLC211", "POLC212", "POLC213", "POLC214", "POLC215", "POLC216", "POLC217"}


def to_declaration(t: T):
    """The CEL engine's declaration for a rules type (nullable and open objects become dyn)."""
    if t.nullable or (t.kind == "object" and t.open):
        return "dyn"
    if t.kind == "object":
        return {name: to_declaration(ft) for name, ft in t.fields}
    if t.kind == "list":
        return f"list({_flat(t.args[0])})"
    if t.kind == "map":
        return f"map({_flat(t.args[0])}, {_flat(t.args[1])})"
    return t.kind if t.kind != "null_type" else "dyn"


def _flat(t: T) -> str:
    declared = to_declaration(t)
    return declared if isinstance(declared, str) else "dyn"


def declarations(env: dict[str, T]) -> dict:
    return {name: to_declaration(t) for name, t in env.items()}


@lru_cache(maxsize=None)
def available(module: str) -> bool:
    """Whether the CEL engine has ``compiler.cel.<module>`` (it is still being built)."""
    try:
        return importlib.util.find_spec(f"compiler.cel.{module}") is not None
    except (ImportError, ValueError):
        return False


def best_backend() -> str:
    return "compiled" if available("codegen") else "interp"


def static_check(node, env: dict[str, T], cost_limit: int) -> list[Diagnostic]:
    """The engine's type and cost checks of a lowered expression, as diagnostics."""
    from ..cel import CelError, compile
    from .rewrite import lower_ratios

    if not (available("checker") and available("cost")):
        return []
    try:
        compile(lower_ratios(node, {}), declarations(env), backend="interp", cost_limit=cost_limit)
    except CelError as err:
        return list(err.diagnostics)
    except Exception as exc:  # a bug in the engine must not end `polc check` in a traceback
        return [Diagnostic.warning("POLC270", f"the CEL engine could not check this expression: "
                                   f"{type(exc).__name__}: {exc}", getattr(node, "span", None))]
    return []


def compile_program(node, env: dict[str, T], *, file: str, name: str, budget: int = RUNTIME_BUDGET):
    """A ``compiler.cel`` Program for a lowered expression (checked, then unchecked on a type hiccup)."""
    from ..cel import CelError, compile

    options = dict(backend=best_backend(), runtime_budget=budget, file=file, name=name)
    try:
        return compile(node, declarations(env) if available("checker") else None, **options)
    except CelError as err:
        if err.code not in _TYPE_CODES:
            raise
        return compile(node, None, **options)  # the build checked it; run with dynamic types
