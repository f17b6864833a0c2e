"""Lowering checked rules to the snapshot's ``rules`` block (canonical-JSON-able, deterministic).

The block keeps what the runtime needs to rebuild every gate and drift rule without the
``.rules`` files: the expression texts with their spans, input declarations, the params
binding, messages. It never holds generated Python: the runtime regenerates code from the
validated expressions (:mod:`compiler.rules.runtime`).

Shape (``format`` is ``polc_rules@v1``; spans are ``[line, column, end_line, end_column]``)::

    {"format": "polc_rules@v1",
     "gates": {"reflex_promotion": {
         "file": "stdlib/promotion.rules", "span": [..],
         "params": "reflex_promotion",            # the [gates.NAME] table bound to `params`, or null
         "inputs": [{"name": "metrics", "type": "map(string, double)", "span": [..]}],
         "lets": [{"name": "limit", "expr": "params.p95_latency_ms", "file": "...", "span": [..]}],
         "conditions": [{"expr": "metrics.p95_latency_ms <= limit", "span": [..],
                         "message": {"template": "p95 {metrics.p95_latency_ms} ...", "span": [..]}}]}},
     "drift": {"DR_COST_HARD_LIMIT_RAISED": {
         "file": "...", "span": [..], "severity": "BLOCK", "lets": [..],
         "when": {"expr": "...", "span": [..]}, "message": {...} | null}}}

Lets include the file constants the declaration uses (each with its own ``file``), in order.
"""

from __future__ import annotations

from typing import Iterable

from ..cel import ast as cel_ast
from ..diagnostics import Span
from . import ast
from .check import Checked, CheckedDrift, CheckedGate

FORMAT = "polc_rules@v1"


def lower_rules_block(checked: Checked) -> dict:
    return {
        "format": FORMAT,
        "gates": {cg.gate.name: _gate(cg) for cg in checked.gates},
        "drift": {cd.drift.rule_id: _drift(cd) for cd in checked.drifts},
    }


def span_list(span: Span) -> list[int]:
    return [span.line, span.column, span.end_line, span.end_column]


def _gate(cg: CheckedGate) -> dict:
    gate = cg.gate
    exprs = [s.expr for s in gate.body if not isinstance(s, ast.Input)]
    exprs += [p.expr for r in gate.requires if r.message for p in r.message.interpolations]
    return {
        "file": cg.file,
        "span": span_list(gate.span),
        "params": gate.name if cg.has_params else None,
        "inputs": [{"name": i.name, "type": str(i.type), "span": span_list(i.span)} for i in gate.inputs],
        "lets": _used_consts(cg.consts, exprs) + [_let(let) for let in gate.lets],
        "conditions": [{"expr": r.expr.text, "span": span_list(r.expr.span), "message": _message(r.message)}
                       for r in gate.requires],
    }


def _drift(cd: CheckedDrift) -> dict:
    drift = cd.drift
    exprs = [let.expr for let in drift.lets] + [drift.when]
    exprs += [p.expr for p in drift.message.interpolations] if drift.message else []
    return {
        "file": cd.file,
        "span": span_list(drift.span),
        "severity": drift.severity,
        "lets": _used_consts(cd.consts, exprs) + [_let(let) for let in drift.lets],
        "when": {"expr": drift.when.text, "span": span_list(drift.when.span)},
        "message": _message(drift.message),
    }


def _let(let: ast.Let | ast.Const) -> dict:
    return {"name": let.name, "expr": let.expr.text, "file": let.span.file, "span": span_list(let.expr.span)}


def _message(message: ast.Message | None) -> dict | None:
    if message is None:
        return None
    return {"template": message.text, "span": span_list(message.span)}


def _used_consts(consts: tuple[ast.Const, ...], exprs: Iterable[ast.Expression]) -> list[dict]:
    """The constants the expressions reach (directly or through other constants), in order."""
    wanted = set()
    for expr in exprs:
        wanted |= _names(expr.node)
    used = []
    for const in reversed(consts):
        if const.name in wanted:
            used.append(const)
            wanted |= _names(const.expr.node)
    return [_let(c) for c in reversed(used)]


def _names(node) -> set[str]:
    return {n.name for n in cel_ast.walk(node) if isinstance(n, cel_ast.Ident)}
