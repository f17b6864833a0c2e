"""Run traceability (spec 001 977-A4): given a run id, the snapshot(s) that governed it.

``trace_run(workspace, run_id)`` reads the run's receipt and event log; ``governing_snapshot``
loads, from the workspace's captured copy, the verified snapshot the run started under (or the
one in force at a given event ``seq``). The reference in the log and the loaded snapshot must
agree, or it is an ``IntegrityError``.

>>> trace_run("/nonexistent", "r1")
Traceback (most recent call last):
  ...
compiler.errors.InputError: no run `r1` in workspace `/nonexistent`
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..diagnostics import did_you_mean
from ..fsutil import read_regular_file
from .errors import input_error, integrity_error
from .events import read_jsonl
from .runs import EVENTS_FILE, RECEIPT_FILE
from .store import Workspace


@dataclass(frozen=True)
class RunTrace:
    run_id: str
    receipt: dict
    events: tuple[dict, ...]
    torn_tail: bool

    @property
    def policy_refs(self) -> tuple[dict, ...]:
        return tuple(e for e in self.events if e.get("type") == "PolicySnapshotRef")

    @property
    def transitions(self) -> tuple[dict, ...]:
        return tuple(e for e in self.events if e.get("type") == "StageTransition")

    def ref_at(self, seq: int | None = None) -> dict:
        """The PolicySnapshotRef in force at event ``seq`` (None: the one the run started under)."""
        refs = self.policy_refs
        if not refs:
            raise input_error("POLC753", f"run `{self.run_id}` has no PolicySnapshotRef event",
                              "the run log is damaged or was not written by polc")
        if seq is None:
            return refs[0]
        earlier = [r for r in refs if r["seq"] <= seq]
        return earlier[-1] if earlier else refs[0]

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "status": self.receipt.get("status"),
                "policy_bundle_id": self.receipt.get("policy_bundle_id"),
                "policies": [{k: r.get(k) for k in ("seq", "policy_id", "policy_hash", "policy_uri", "reason")}
                             for r in self.policy_refs],
                "transitions": [{k: t.get(k) for k in ("seq", "ts", "from_stage", "to_stage", "policy_hash")}
                                for t in self.transitions],
                "torn_tail": self.torn_tail}


#: A run receipt is a few hundred bytes; anything far larger is not one.
_MAX_RECEIPT_BYTES = 16 * 1024 * 1024


def trace_run(workspace, run_id: str) -> RunTrace:
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    run_dir = ws.run_dir(run_id)
    if not run_dir.is_dir():
        if not (ws.root / "runs").is_dir():
            raise input_error("POLC750", f"`{ws.root}` holds no runs (it is not a run workspace)",
                              "pass the workspace given to start_run() with --workspace (or POLC_WORKSPACE)")
        known = sorted(os.listdir(ws.root / "runs"))
        raise input_error("POLC751", f"no run `{run_id}` in workspace `{ws.root}`",
                          did_you_mean(run_id, known) or "check the run id and --workspace")
    try:
        receipt = json.loads(read_regular_file(run_dir / RECEIPT_FILE, _MAX_RECEIPT_BYTES))
    except (OSError, ValueError) as exc:
        raise input_error("POLC750", f"`{run_dir / RECEIPT_FILE}` cannot be read: {exc}",
                          "the run directory is damaged") from None
    log = read_jsonl(run_dir / EVENTS_FILE)
    return RunTrace(run_id, receipt, log.records, log.torn_tail)


def governing_snapshot(workspace, run_id: str, *, seq: int | None = None):
    """The verified ``Snapshot`` that governed ``run_id`` (at its start, or at event ``seq``)."""
    from .loader import load_snapshot

    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    ref = trace_run(ws, run_id).ref_at(seq)
    snap = load_snapshot(ws.path_of_uri(ref.get("policy_uri")), env={})
    if snap.hash != ref.get("policy_hash") or snap.policy_id != ref.get("policy_id"):
        raise integrity_error("POLC754", f"run `{run_id}` references policy {ref.get('policy_hash')}, "
                                         f"but its captured snapshot hashes to {snap.hash}",
                              "the workspace copy was replaced; restore it from the bundle")
    return snap
