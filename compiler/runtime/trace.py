"""Run traceability (docs/runtime.md "Runs and attribution"): given a run id, the snapshot(s) that governed it.

``trace_run(workspace, run_id)`` reads the run's receipt and event log; ``governing_snapshot``
loads, from the workspace's captured copy, the verified snapshot the run started under (or the
one in force at a given event ``seq``). The reference in the log and the loaded snapshot must
agree, or it is an ``IntegrityError``.

``trace_from_capsule(capsule, run_id)`` and ``governing_from_capsule`` answer the same from the
capsule alone (docs/storage.md "Capsule"): the run's event stream ``mv2://<workspace>/runs/<run_id>`` and the
snapshot objects its ``PolicySnapshotRef`` events name.

>>> trace_run("/nonexistent", "r1")
Traceback (most recent call last):
  ...
compiler.runtime.errors.UnknownName: no run `r1` in workspace `/nonexistent`
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..diagnostics import did_you_mean
from ..fsutil import read_regular_file
from .errors import UnknownName, input_error, integrity_error
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
        known = sorted(os.listdir(ws.root / "runs")) if (ws.root / "runs").is_dir() else []
        raise input_error("POLC744", f"no run `{run_id}` in workspace `{ws.root}`",
                          did_you_mean(run_id, known) or "check the run id and --workspace", UnknownName)
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


# --- from the capsule alone ----------------------------------------------------------------------

def trace_from_capsule(capsule, run_id: str, *, workspace: str | None = None) -> RunTrace:
    """The run's trace from its capsule event stream; ``workspace`` picks one when the run id is
    in several workspaces of the capsule."""
    from .store import check_run_id

    check_run_id(run_id)
    suffix = f"/runs/{run_id}"
    streams = [s for s in capsule.streams(f"mv2://{workspace}/runs/" if workspace else "mv2://")
               if s.endswith(suffix)]
    if not streams:
        raise input_error("POLC744", f"no run `{run_id}` in the capsule's event log"
                                     + (f" (workspace `{workspace}`)" if workspace else ""),
                          "runs are appended to the capsule only when it is configured ([storage].capsule) or "
                          "passed to start_run(capsule=...); check the run id", UnknownName)
    if len(streams) > 1:
        from ..errors import UsageError

        raise input_error("POLC744", f"run `{run_id}` is in several workspaces of the capsule: "
                                     f"{', '.join(streams)}", "pick one with --workspace-name", UsageError)
    events = tuple(capsule.events(streams[0]))
    refs = [e for e in events if e.get("type") == "PolicySnapshotRef"]
    ends = [e for e in events if e.get("type") == "RunEnd"]
    receipt = {"status": ends[-1].get("status") if ends else "running",
               "policy_bundle_id": refs[0].get("policy_bundle_id") if refs else None, "stream": streams[0]}
    return RunTrace(run_id, receipt, events, False)


def governing_from_capsule(capsule, trace: RunTrace, *, seq: int | None = None):
    """The verified ``Snapshot`` in force at ``seq`` of ``trace``, loaded from the capsule object
    its ``PolicySnapshotRef`` names; it must be the policy the reference records."""
    from .loader import load_snapshot_bytes

    ref = trace.ref_at(seq)
    uri = ref.get("policy_uri")
    data = capsule.get(uri) if isinstance(uri, str) and uri.startswith("mv2://") else None
    if data is None:
        raise integrity_error("POLC754", f"run `{trace.run_id}` references `{uri}`, which is not in the capsule",
                              "the capsule lost the object or the run was captured elsewhere; "
                              "`polc verify --parity --repair` stores the bundles it lacks")
    snap = load_snapshot_bytes(data, uri, env={})
    if snap.hash != ref.get("policy_hash") or snap.policy_id != ref.get("policy_id"):
        raise integrity_error("POLC754", f"run `{trace.run_id}` references policy {ref.get('policy_hash')}, "
                                         f"but the capsule object `{uri}` hashes to {snap.hash}",
                              "the capsule object does not match the run's reference; restore the capsule")
    return snap
