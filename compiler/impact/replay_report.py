"""A replay as JSON: the ``impact.replay`` section of the diff report (schemas/diff_report.schema.json).

Counts by role and by old → new model, gate flips by gate and condition, budget moves, with
a few example run ids each; the changed decisions themselves (capped at
:data:`MAX_DECISIONS` per kind) so a tool can check every one.

>>> from compiler.impact.replay import ReplayResult
>>> to_json(ReplayResult("a" * 64, "b" * 64), "USD")["routes"]["changed"]
0
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .replay import EXAMPLES, ReplayResult

#: Changed decisions listed one by one in the JSON report, per kind (the counts are always whole).
MAX_DECISIONS = 1000


def to_json(result: ReplayResult, currency: str) -> dict[str, Any]:
    moves = Counter(c.direction for c in result.budget_changes)
    skipped = sum(result.skipped.values())
    listed = result.route_changes[:MAX_DECISIONS], result.gate_flips[:MAX_DECISIONS]
    return {
        "inputs": list(result.inputs), "old_policy_hash": result.old_hash, "new_policy_hash": result.new_hash,
        "runs": len(result.runs), "decisions": result.decisions,
        "routes": {"replayed": result.routes, "changed": len(result.route_changes),
                   "rate": result.summary()["route_change_rate"], "fallbacks_changed": result.fallbacks_changed,
                   "by_role": _by_role(result), "transitions": _transitions(result)},
        "gates": {"replayed": result.gates, "flipped": len(result.gate_flips),
                  "pass_to_fail": sum(1 for f in result.gate_flips if f.direction == "PASS → FAIL"),
                  "fail_to_pass": sum(1 for f in result.gate_flips if f.direction == "FAIL → PASS"),
                  "removed": sum(1 for f in result.gate_flips if f.new_passed is None),
                  "not_replayable": result.not_replayable, "flips": _flips(result)},
        "budgets": {"runs": result.budget_runs, "charges": result.charges, "earlier": moves["earlier"],
                    "later": moves["later"], "repriced": result.repriced, "currency": currency,
                    "cost_old": _money(result.cost_old), "cost_new": _money(result.cost_new),
                    "cost_delta": _money(result.cost_new - result.cost_old),
                    "examples": {d: [c.run_id for c in result.budget_changes if c.direction == d][:EXAMPLES]
                                 for d in ("earlier", "later")}},
        "skipped": {"total": skipped, "by_kind": dict(sorted(result.skipped.items())),
                    "by_policy": dict(result.skipped_policies.most_common())},
        "unreproducible": {"total": len(result.unreproducible),
                           "examples": [{"run_id": r, "seq": s, "kind": k}
                                        for r, s, k in result.unreproducible[:EXAMPLES]]},
        "shadow": [{"candidate_policy_hash": h, **t, "disagreement_rate": t["disagreements"] / t["decisions"]
                    if t["decisions"] else 0.0} for h, t in sorted(result.shadow.items())],
        "summary": result.summary(),
        "changed_decisions": {
            "routes": [{"run_id": c.run_id, "seq": c.seq, "role": c.role, "old": list(c.old),
                        "new": None if c.new is None else list(c.new)} for c in listed[0]],
            "gates": [{"run_id": f.run_id, "seq": f.seq, "gate": f.gate, "old_passed": f.old_passed,
                       "new_passed": f.new_passed, "conditions": list(f.conditions)} for f in listed[1]],
            "truncated": len(result.route_changes) - len(listed[0]) + len(result.gate_flips) - len(listed[1])},
    }


def _money(amount) -> str:
    return format(amount.normalize(), "f") if amount else "0"


def _by_role(result: ReplayResult) -> list[dict]:
    changed = Counter(c.role for c in result.route_changes)
    return [{"role": role, "replayed": n, "changed": changed[role]} for role, n in sorted(result.routes_by_role.items())]


def _transitions(result: ReplayResult) -> list[dict]:
    groups: dict[tuple, list] = defaultdict(list)
    for change in result.route_changes:
        groups[(change.role, change.old_model, change.new_model)].append(change.run_id)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"role": role, "old_model": old, "new_model": new, "count": len(runs),
             "examples": list(dict.fromkeys(runs))[:EXAMPLES]} for (role, old, new), runs in ordered]


def _flips(result: ReplayResult) -> list[dict]:
    groups: dict[tuple, list] = defaultdict(list)
    for flip in result.gate_flips:
        groups[(flip.gate, flip.direction)].append(flip)
    out = []
    for (gate, direction), flips in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        conditions = Counter(c for f in flips for c in f.conditions)
        out.append({"gate": gate, "direction": direction, "count": len(flips),
                    "conditions": [{"condition": c, "count": n} for c, n in conditions.most_common()],
                    "examples": list(dict.fromkeys(f.run_id for f in flips))[:EXAMPLES]})
    return out
