"""The decision impact of a change, for the drift review: budget figures and the replay.

``assess(old, new, replay_paths)`` proves both sides' budgets (compiler/impact/prover.py)
and, with ``--replay``, re-evaluates the recorded decisions under NEW
(compiler/impact/replay.py). The result feeds the drift rules (``impact``,
schemas/drift_impact.schema.json), the report's ``impact`` section and its notes: torn or
damaged records, decisions skipped because another policy made them, decisions OLD does not
reproduce.

>>> snap = {"hash": "0" * 64, "routing": {"cloud": {}}, "budgets": {"tokens": {}, "cost": None}}
>>> impact, notes = assess(snap, snap)
>>> impact.drift_inputs()["budget"]["new"], impact.drift_inputs()["replay"]
({'worst_case': 0.0, 'expected': 0.0, 'status': 'bounded'}, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..diagnostics import Diagnostic
from ..impact.amounts import UNBOUNDED, UNKNOWN, as_float, is_number, text
from ..impact.prover import BudgetProof, prove


@dataclass(frozen=True)
class Impact:
    old: BudgetProof
    new: BudgetProof
    replay: Any = None                  # compiler.impact.replay.ReplayResult, with --replay

    def drift_inputs(self) -> dict[str, Any]:
        return {"budget": {"old": _figures(self.old), "new": _figures(self.new), "currency": self.new.currency},
                "replay": self.replay.summary() if self.replay is not None else None}

    def to_json(self) -> dict[str, Any]:
        from ..impact.replay_report import to_json as replay_json

        return {"budget": {"currency": self.new.currency, "old": _side(self.old), "new": _side(self.new)},
                "replay": replay_json(self.replay, self.old.currency) if self.replay is not None else None}


def _status(amount) -> str:
    return "bounded" if is_number(amount) else "unbounded" if amount == UNBOUNDED else "unknown"


def _figures(proof: BudgetProof) -> dict[str, Any]:
    return {"worst_case": as_float(proof.worst), "expected": as_float(proof.expected), "status": _status(proof.worst)}


def _side(proof: BudgetProof) -> dict[str, Any]:
    return {"worst_case": text(proof.worst), "expected": text(proof.expected), "status": _status(proof.worst),
            "binding": proof.binding}


def assess(old: Mapping, new: Mapping, replay_paths: Sequence[str] = (), cwd: Path | None = None
           ) -> tuple[Impact, list[Diagnostic]]:
    """Budget proofs of both snapshots and, given ``replay_paths``, the replay; plus its notes."""
    notes: list[Diagnostic] = []
    impact = Impact(_proof(old, "OLD", notes), _proof(new, "NEW", notes))
    if not replay_paths:
        return impact, notes
    from ..impact.replay import replay
    from ..runtime.snapshot import Snapshot

    result = replay(Snapshot.from_data(old, env={}), Snapshot.from_data(new, env={}), replay_paths, cwd)
    return Impact(impact.old, impact.new, result), notes + _notes(result)


def _proof(snapshot: Mapping, which: str, notes: list[Diagnostic]) -> BudgetProof:
    """The side's proof; a snapshot whose budget blocks cannot be read gets unknown figures and a note
    (a verified snapshot written by another tool may still hold values polc never emits)."""
    try:
        return prove(snapshot)
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        notes.append(Diagnostic.warning("POLC458", f"the budget figures of {which} could not be computed: "
                                                   f"{type(exc).__name__}: {exc}"))
        return BudgetProof("USD", (), UNKNOWN, None, UNKNOWN, UNKNOWN, "unreadable budgets")


def _notes(result) -> list[Diagnostic]:
    from ..impact.replay import skipped_note

    notes = list(result.diagnostics)
    skipped = skipped_note(result)
    if skipped is not None:
        notes.append(skipped)
    if result.unreproducible:
        first = result.unreproducible[0]
        notes.append(Diagnostic.warning(
            "POLC454", f"{len(result.unreproducible)} recorded decision(s) are not what OLD answers on their inputs "
                       f"(first: run `{first[0]}`, record {first[1]}, a {first[2]}); they are not counted as changes",
            hint="the log was edited, or was recorded by a polc that did not record every input; "
                 "re-record the runs with this polc"))
    if result.not_replayable:
        notes.append(Diagnostic.info(
            "POLC457", f"{result.not_replayable} gate evaluation(s) were recorded without their metrics and cannot "
                       "be replayed", hint="runs record metrics since `run.gate(name, metrics)` logs them; record "
                                           "new runs to replay gate decisions"))
    if result.decisions == 0:
        notes.append(Diagnostic.info("POLC458", f"--replay found no decision recorded under OLD "
                                     f"({result.old_hash[:12]}) to replay", hint="replay runs made under the OLD policy"))
    return notes
