"""``snap.gate(name)``: the evaluable gate, delegated to the gate/rule language's runtime.

The conditions of a gate live in the snapshot's ``rules`` block (lowered from ``.rules``
files, see docs/rules-language.md); its parameters are the ``[gates.NAME]`` table of
model_policy.toml (``snap.gates[name]``). ``compiler.rules.runtime.gate_from_snapshot`` builds
the gate from those two; this module only checks the name and explains what is missing.

``gate.evaluate(metrics)`` returns a ``GateResult``: ``passed``, and for each failing condition
its source span, the message rendered with the observed values, and those values. Missing or
mistyped metrics fail closed with a message naming the metric. Record a result for routing
with ``snap.with_gate_results([result])`` (the reflex model leads once its gate passed).
"""

from __future__ import annotations

from typing import Mapping

from .errors import input_error, unknown_name


def rule_gates(data: Mapping) -> Mapping:
    block = data.get("rules")
    gates = block.get("gates") if isinstance(block, Mapping) else None
    return gates if isinstance(gates, Mapping) else {}


def gate_for(snap, name: str):
    """The compiled gate ``name`` of ``snap`` (built once per Snapshot via ``snap.derived``).

    The gate reads the snapshot's data as loaded (never mutated), not the frozen view: the
    rules block holds every expression as IR, and freezing all of it would cost more than
    building the one gate asked for.
    """
    raw = snap.data._raw if hasattr(snap.data, "_raw") else snap.data
    defined = rule_gates(raw)
    if name not in defined:
        if name in snap.gates:
            raise input_error("POLC722", f"gate `{name}` has parameters in model_policy.toml but no rule "
                                         "defines its conditions",
                              f"declare `gate {name} {{ ... }}` in a .rules file named by [sources].rules "
                              "(or keep the stdlib enabled) and rebuild")
        raise unknown_name("gate", name, set(defined) | set(snap.gates), "POLC721")
    from ..rules.runtime import gate_from_snapshot  # light; code is generated on first evaluation

    return gate_from_snapshot(raw, name)
