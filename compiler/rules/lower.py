"""Lowering checked rules to the snapshot's ``rules`` block (canonical-JSON-able, deterministic).

The block keeps what the runtime needs to evaluate every gate and drift rule without the
``.rules`` files and without the compiler's front end: each expression as checked, in the
expression IR of the CEL engine (``node``, see :mod:`compiler.cel.ir` and
docs/rules-language.md), next to its source text and span (for messages, ``polc explain``
and error locations). It never holds generated Python: the runtime generates code from the IR.

Shape (``format`` is ``polc_rules@v2``; spans are ``[line, column, end_line, end_column]``)::

    {"format": "polc_rules@v2",
     "ir": {"version": "polc-cel-ir@1", "types": ["bool", "double", ...]},
     "gates": {"reflex_promotion": {
         "file": "stdlib/promotion.rules", "span": [..],
         "params": "reflex_promotion",            # the [gates.NAME] table bound to `params`, or null
         "inputs": [{"name": "metrics", "type": "{p95_latency_ms: double, ...}", "span": [..]}],
         "lets": [{"name": "limit", "expr": "params.p95_latency_ms", "file": "...", "span": [..],
                   "node": [..]}],
         "conditions": [{"expr": "metrics.p95_latency_ms <= limit", "span": [..], "node": [..],
                         "message": {"template": "p95 {metrics.p95_latency_ms} ...", "span": [..],
                                     "parts": ["p95 ", [..], " ms is above ", [..], ...]}}]}},
     "drift": {"DR_COST_HARD_LIMIT_RAISED": {
         "file": "...", "span": [..], "severity": "BLOCK", "lets": [..],
         "when": {"expr": "...", "span": [..], "node": [..]}, "message": {...} | null,
         "reads": [["budgets", "cost"], ["budgets", "cost", "hard_limit"], ...]}}}

A message's ``parts`` are its text and, for each ``{interpolation}``, the IR node.
Lets include the file constants the declaration uses (each with its own ``file``), in order;
a ``let`` node refers to one by its index in that list, so a let is stored (and evaluated)
once however often it is used. ``reads`` are the snapshot paths a drift rule reads (``polc
diff`` points a finding at the change under them). The IR's types are one table for the
block, sorted, so the bytes do not depend on the order of the sources.
"""

from __future__ import annotations

from typing import Iterable

from ..cel import ast as cel_ast
from ..cel.ir import VERSION as IR_VERSION, Encoder
from ..diagnostics import Span
from . import ast
from .check import Checked, CheckedDrift, CheckedGate

FORMAT = "polc_rules@v2"


def lower_rules_block(checked: Checked) -> dict:
    encoder = Encoder()
    gates = {cg.gate.name: _gate(cg, encoder) for cg in checked.gates}
    drift = {cd.drift.rule_id: _drift(cd, encoder) for cd in checked.drifts}
    return {"format": FORMAT, "ir": {"version": IR_VERSION, "types": encoder.finish()},
            "gates": gates, "drift": drift}


def span_list(span: Span) -> list[int]:
    return [span.line, span.column, span.end_line, span.end_column]


class _Lowering:
    """One declaration's expressions, encoded against its lets (renumbered to those it keeps)."""

    def __init__(self, facts, encoder: Encoder, own_lets: int, exprs: list[ast.Expression]):
        self.facts, self.encoder = facts, encoder
        lets = facts.lets
        wanted = set(range(len(lets) - own_lets, len(lets)))   # its own lets stay, used or not
        for expr in exprs:
            wanted |= _reached(expr.node, facts)
        for index in range(len(lets) - 1, -1, -1):  # a let refers only to lets defined before it
            if index in wanted:
                wanted |= _reached(lets[index][1], facts)
        self.kept = sorted(wanted)
        self.renumber = {old: new for new, old in enumerate(self.kept)}

    def expression(self, expr: ast.Expression) -> dict:
        return {"expr": expr.text, "span": span_list(expr.span), "node": self.node(expr.node)}

    def node(self, node) -> list:
        return self.encoder.node(node, self.facts, lets=self.renumber)

    def lets(self, declared: dict[str, ast.Let | ast.Const]) -> list[dict]:
        out = []
        for index in self.kept:
            name, node = self.facts.lets[index]
            source = declared[id(node)]
            out.append({"name": name, "expr": source.expr.text, "file": source.span.file,
                        "span": span_list(source.expr.span), "node": self.node(node)})
        return out

    def message(self, message: ast.Message | None) -> dict | None:
        if message is None:
            return None
        parts = [part if isinstance(part, str) else self.node(part.expr.node) for part in message.parts]
        return {"template": message.text, "span": span_list(message.span), "parts": parts}


def _declared(consts, lets) -> dict[int, ast.Let | ast.Const]:
    return {id(item.expr.node): item for item in (*consts, *lets)}


def _gate(cg: CheckedGate, encoder: Encoder) -> dict:
    gate = cg.gate
    exprs = [r.expr for r in gate.requires] + [p.expr for r in gate.requires if r.message
                                               for p in r.message.interpolations]
    own = sum(1 for name, node in cg.facts.lets if any(node is let.expr.node for let in gate.lets))
    lowering = _Lowering(cg.facts, encoder, own, exprs)
    return {
        "file": cg.file,
        "span": span_list(gate.span),
        "params": gate.name if cg.has_params else None,
        "inputs": [{"name": i.name, "type": str(i.type), "span": span_list(i.span)} for i in gate.inputs],
        "lets": lowering.lets(_declared(cg.consts, gate.lets)),
        "conditions": [{**lowering.expression(r.expr), "message": lowering.message(r.message)}
                       for r in gate.requires],
    }


def _drift(cd: CheckedDrift, encoder: Encoder) -> dict:
    drift = cd.drift
    exprs = [drift.when] + ([p.expr for p in drift.message.interpolations] if drift.message else [])
    own = sum(1 for name, node in cd.facts.lets if any(node is let.expr.node for let in drift.lets))
    lowering = _Lowering(cd.facts, encoder, own, exprs)
    lets = lowering.lets(_declared(cd.consts, drift.lets))
    return {
        "file": cd.file,
        "span": span_list(drift.span),
        "severity": drift.severity,
        "lets": lets,
        "when": lowering.expression(drift.when),
        "message": lowering.message(drift.message),
        "reads": referenced_paths([drift.when.node, *(p.expr.node for p in (
            drift.message.interpolations if drift.message else ()))],
            [cd.facts.lets[i][1] for i in lowering.kept], cd.facts),
    }


def _reached(node, facts) -> set[int]:
    """The lets ``node`` refers to directly."""
    return {facts.let_refs[id(n)] for n in cel_ast.walk(node) if id(n) in facts.let_refs}


def referenced_paths(exprs: Iterable, lets: Iterable, facts=None, roots=("old", "new")) -> list[list[str]]:
    """The snapshot paths the expressions and lets read: ``new.capture.mode`` -> ``capture.mode``.

    A path is a chain of field selections from ``old`` or ``new`` (not shadowed by a macro
    variable or a let); it stops before an index or a method call (``old.gates.filter(...)``
    reads ``gates``), and ``has(new.a.b)`` reads ``a.b``.

    >>> from compiler.cel import parse
    >>> referenced_paths([parse("CAPTURE[new.capture.mode] > 1 && old.gates.filter(g, true) != []")], [])
    [['capture', 'mode'], ['gates']]
    """
    let_refs = facts.let_refs if facts is not None else {}
    found: set[tuple[str, ...]] = set()

    def visit(node, scope: frozenset) -> None:
        chain = node.operand if isinstance(node, cel_ast.Has) else node
        parts = cel_ast.qualified_parts(chain)
        if parts is not None and len(parts) > 1 and parts[0] in roots and parts[0] not in scope:
            root = chain
            while isinstance(root, cel_ast.Select):
                root = root.operand
            if id(root) not in let_refs:
                found.add(tuple(parts[1:]) + ((node.field,) if isinstance(node, cel_ast.Has) else ()))
                return
        if isinstance(node, cel_ast.Comprehension):
            visit(node.range, scope)
            inner = scope | {node.var}
            for child in (node.guard, node.step):
                if child is not None:
                    visit(child, inner)
            return
        for child in cel_ast.children(node):
            visit(child, scope)

    for node in (*exprs, *lets):
        visit(node, frozenset())
    return [list(path) for path in sorted(found)]
