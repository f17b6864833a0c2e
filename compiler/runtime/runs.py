"""Runs: every event attributed to the policy that governed it (docs/runtime.md "Runs and
attribution").

``snap.start_run(run_id, workspace)`` captures the snapshot into the workspace, writes the
run's ``RECEIPT.json`` and ``REPLAY.jsonl`` header (both carry ``policy_bundle_id``) and emits
``RunStart`` and ``PolicySnapshotRef`` (policy_id, policy_hash, policy_uri). Every later event
(``StageTransition``, ``Checkpoint``, budget events, ``RunEnd``) carries ``policy_id`` and
``policy_hash``.

Dual storage (docs/storage.md "Capsule"): with a capsule — passed as ``capsule=`` or configured in the project's
``[storage].capsule`` (the project around the workspace, else around the snapshot's bundle) —
the captured snapshots are stored in it, and the run's attribution events (``CAPSULE_EVENTS``)
are appended to its event stream ``mv2://<workspace>/runs/<run_id>``, so the capsule alone
answers which policy governed the run (``compiler.runtime.trace.trace_from_capsule``).

Stage boundaries (capture triggers): a run that follows a head pointer (by default, one
whose snapshot was loaded from ``policy.json``) checks it before each stage transition and
checkpoint. If the active policy changed, the new snapshot is verified, captured and
referenced (``PolicySnapshotRef``, reason ``stage_boundary``) before the event, and governs
the rest of the run; a new snapshot that fails verification is refused (``PolicyRefused``)
and the current one stays. Budgets are per run: the tracker keeps the limits of the policy
the run started under.

>>> import tempfile
>>> from compiler.runtime.snapshot import Snapshot
>>> snap = Snapshot.from_data({"schema_version": "1.0", "hash": "0" * 64, "policy_id": "p",
...     "routing": {"cloud": {"judge": ["m"]}}, "capture": {"mode": "none", "store_embeddings": False},
...     "budgets": {"tokens": {}, "cost": None}, "gates": {}}, env={})
>>> with snap.start_run("r1", tempfile.mkdtemp(), follow=None) as run:
...     run.stage_transition("plan")["policy_hash"] == "0" * 64
True
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..canonical import canonical_json
from ..fsutil import atomic_write_bytes
from ..jsonlog import GENESIS, encode_row
from .errors import BudgetUsageError, input_error
from .events import EventLog, utc_now
from ..bundle import HEAD_FILE
from .records import jsonable, route_record
from .store import Workspace

RECEIPT_FILE, REPLAY_FILE, EVENTS_FILE = "RECEIPT.json", "REPLAY.jsonl", "events.jsonl"
RECEIPT_SCHEMA, REPLAY_SCHEMA = "polc_receipt@v1", "polc_replay@v1"
#: The events a run also appends to the capsule's event log: what attributes the run to policies.
CAPSULE_EVENTS = frozenset({"RunStart", "PolicySnapshotRef", "StageTransition", "Checkpoint", "PolicyRefused",
                            "RunEnd"})


class Run:
    """One attributed run; use ``snap.start_run(...)`` (or ``Run.start``) to open it."""

    def __init__(self, snap, run_id: str, workspace: Workspace, follow: Path | None, *, owns_capsule: bool = False):
        self.run_id, self.workspace, self.dir = run_id, workspace, workspace.run_dir(run_id)
        self._owns_capsule = owns_capsule  # opened from the project's settings: closed at finish
        self._stream = workspace.stream(run_id) if getattr(workspace.capsule, "append_event", None) else None
        self._snap = snap
        self._follow = follow
        self._head_stat = _stat(follow)
        self._lock = threading.RLock()
        self.events = EventLog(self.dir / EVENTS_FILE)
        self.replay = EventLog(self.dir / REPLAY_FILE)
        self.status = "running"
        self.started_at = utc_now()
        self.stages: list[str] = []
        self.policies: list[dict] = []
        self._call = threading.local()   # what run.charge_call is charging, for the BudgetCharge record
        self._picks: dict[str, int] = {}  # model -> seq of the latest RouteDecision that picked it
        bind = getattr(snap, "bind_shadow_sink", None)  # a ShadowRouter (compiler/runtime/shadow.py)
        if bind is not None:
            self._snap = bind(self._shadow_record)
        self.budget = self._snap.budget_tracker(run_id, sink=self._budget_event, observer=self._budget_charge)

    @classmethod
    def start(cls, snap, run_id: str, workspace, *, follow: str | os.PathLike | None = "auto",
              capsule=None) -> "Run":
        owns = False
        if isinstance(workspace, Workspace):
            ws = workspace
        else:
            from .resolve import project_settings_near

            project = project_settings_near(workspace, snap.bundle_dir)
            if capsule is None and project is not None and project.capsule is not None:
                from ..capsule import open_capsule

                capsule, owns = open_capsule(project.capsule), True
            ws = Workspace(workspace, capsule=capsule, project=project)
        run_dir = ws.run_dir(run_id)
        try:
            run_dir.mkdir(parents=True)
        except FileExistsError:
            if owns:
                ws.capsule.close()
            raise input_error("POLC752", f"run `{run_id}` already exists in `{run_dir.parent}`",
                              "runs are append-only and never reopened; use a new run id") from None
        run = cls(snap, run_id, ws, _follow_path(snap, follow), owns_capsule=owns)
        ref = run._capture(snap, "run_start")
        atomic_write_bytes(run.dir / REPLAY_FILE, encode_row({  # the first link of the log's chain
            "type": "ReplayHeader", "schema_version": REPLAY_SCHEMA, "run_id": run_id,
            "policy_bundle_id": snap.policy_bundle_id, "policy_id": snap.policy_id,
            "policy_uri": ref["policy_uri"], "started_at": run.started_at, "prev_sha256": GENESIS}) + b"\n")
        run._emit({"type": "RunStart", "policy": ref}, durable=True)
        run._emit({"type": "PolicySnapshotRef", **ref}, durable=True)
        candidate = getattr(run._snap, "candidate", None)
        if candidate is not None:  # shadowed: keep the candidate too, so its answers can be traced
            run._emit({"type": "ShadowCandidateRef", "candidate_policy_id": candidate.policy_id,
                       "candidate_policy_hash": candidate.hash, "candidate_policy_uri": ws.capture(candidate)},
                      durable=True)
        run._write_receipt()
        return run

    # -- what the router calls -------------------------------------------------------------------

    @property
    def snapshot(self):
        """The snapshot governing the run now."""
        return self._snap

    def route(self, role: str, context: dict | None = None, *, key: str | bytes | int | None = None):
        """``snapshot.route`` plus a ``RouteDecision`` replay record with its inputs (role, key,
        gates recorded as passed) and its answer (compiler/runtime/records.py)."""
        snap = self._snap
        candidates = snap.route(role, context, key=key)
        seq = self.replay.append(route_record(snap, role, context, key, candidates))["seq"]
        if candidates:
            self._picks[candidates[0].model] = seq
        return candidates

    def charge_call(self, stage: str | None, model: str, *, input_tokens: int, output_tokens: int):
        """Charge a call on ``model`` at the policy's prices (exactly), recording the model and
        token split so a replay can reprice it under another policy; see ``budget.charge``."""
        config = self._snap.model(model)
        if config.input_price_per_mtok is None or config.output_price_per_mtok is None:
            raise input_error("POLC731", f"model `{model}` has no price in [model_config]",
                              "add its prices, or charge the cost yourself with run.budget.charge", BudgetUsageError)
        for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if type(value) is not int or value < 0:
                raise input_error("POLC731", f"{name} must be a non-negative integer, got {value!r}",
                                  "pass the number of tokens the call used (0 or more)", BudgetUsageError)
        cost = (input_tokens * Decimal(repr(config.input_price_per_mtok)) +
                output_tokens * Decimal(repr(config.output_price_per_mtok))) / 1_000_000
        self._call.info = {"model": model, "input_tokens": input_tokens, "output_tokens": output_tokens,
                           "route_seq": self._picks.get(model)}
        try:
            return self.budget.charge(stage, tokens=input_tokens + output_tokens, cost=cost)
        finally:
            self._call.info = None

    def stage_transition(self, to_stage: str) -> dict:
        with self._lock:
            self._check_policy_changed()
            previous = self.stages[-1] if self.stages else None
            self.stages.append(to_stage)
            return self._emit({"type": "StageTransition", "from_stage": previous, "to_stage": to_stage})

    def checkpoint(self, name: str, **data: Any) -> dict:
        with self._lock:
            self._check_policy_changed()
            return self._emit({"type": "Checkpoint", "name": name, "data": data}, durable=True)

    def gate(self, name: str, metrics: Any = None, /, **inputs: Any):
        """Evaluate gate ``name`` under the governing policy and record a ``GateEvaluated`` event
        with its inputs (``metrics``, keyword ``inputs``), so that it can be replayed."""
        result = self._snap.gate(name).evaluate(metrics, **inputs)
        event = {"type": "GateEvaluated", "gate": name, "passed": result.passed,
                 "failures": [{"condition": f.condition, "message": f.message, "span": str(f.span)}
                              for f in result.failures], "metrics": jsonable(metrics)}
        if inputs:
            event["inputs"] = jsonable(inputs)
        if (metrics is not None and event["metrics"] is None) or (inputs and event["inputs"] is None):
            event["unrecorded"] = True  # not JSON (NaN, objects): the evaluation cannot be replayed
        self._emit(event, durable=True)
        return result

    def record(self, kind: str, **payload: Any) -> dict:
        """An application record in REPLAY.jsonl, tagged with the governing policy."""
        return self.replay.append({"type": kind, "policy_hash": self._snap.hash, **payload})

    def finish(self, status: str = "completed") -> None:
        with self._lock:
            if self.status != "running":
                return
            self.status = status
            summary = getattr(self._snap, "shadow_summary", None)
            if summary is not None:
                self.replay.append({"type": "ShadowSummary", **summary()})
            self._emit({"type": "RunEnd", "status": status}, durable=True)
            self._write_receipt(finished_at=utc_now())
            if self._owns_capsule:
                self.workspace.capsule.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish("completed" if exc_type is None else "failed")

    # -- attribution -----------------------------------------------------------------------------

    def _emit(self, event: dict, *, durable: bool = False) -> dict:
        snap = self._snap
        stamped = self.events.append({**event, "run_id": self.run_id, "policy_id": snap.policy_id,
                                      "policy_hash": snap.hash}, durable=durable)
        if self._stream is not None and stamped["type"] in CAPSULE_EVENTS:
            self.workspace.capsule.append_event(self._stream, stamped)
        return stamped

    def _budget_event(self, event: dict) -> None:
        self._emit({k: v for k, v in event.items() if k not in ("run_id", "policy_hash")}, durable=True)

    def _budget_charge(self, kind: str, stage, tokens: int, amount, accepted: bool) -> None:
        record = {"type": "BudgetCharge", "kind": kind, "stage": stage, "tokens": tokens, "cost": str(amount),
                  "accepted": accepted, "policy_hash": self.budget.policy_hash}
        info = getattr(self._call, "info", None)
        if info and kind == "charge":
            record.update(info)
        self.replay.append(record)

    def _shadow_record(self, record: dict) -> None:
        self.replay.append(record)

    def _capture(self, snap, reason: str) -> dict:
        uri = self.workspace.capture(snap)
        ref = {"policy_id": snap.policy_id, "policy_hash": snap.hash, "policy_bundle_id": snap.policy_bundle_id,
               "policy_uri": uri, "reason": reason}
        self.policies.append(ref)
        return ref

    def _check_policy_changed(self) -> None:
        """Spec 001: at a stage boundary, if the policy changed, capture it before the event."""
        if self._follow is None:
            return
        stat = _stat(self._follow)
        if stat == self._head_stat:
            return
        self._head_stat = stat
        from .loader import load_snapshot
        from ..errors import PolcError

        try:
            new = load_snapshot(self._follow, env=_modes_env(self._snap))
        except PolcError as exc:
            self._emit({"type": "PolicyRefused", "source": str(self._follow), "error": exc.message}, durable=True)
            return
        if new.hash == self._snap.hash:
            return
        self._snap = new
        ref = self._capture(new, "stage_boundary")
        self._emit({"type": "PolicySnapshotRef", **ref}, durable=True)
        self.replay.append({"type": "PolicySwitch", **ref})
        self._write_receipt()

    def _write_receipt(self, finished_at: str | None = None) -> None:
        first = self.policies[0]
        receipt = {
            "schema_version": RECEIPT_SCHEMA, "run_id": self.run_id, "status": self.status,
            "policy_bundle_id": first["policy_bundle_id"], "policy_id": first["policy_id"],
            "policy_uri": first["policy_uri"], "policies": self.policies, "stages": self.stages,
            "started_at": self.started_at, "finished_at": finished_at,
            "budget": {"cost_spent": self.budget.cost_spent, "currency": self.budget.currency,
                       "tokens_used": self.budget.tokens_by_stage()},
        }
        atomic_write_bytes(self.dir / RECEIPT_FILE, canonical_json(receipt))


def _follow_path(snap, follow) -> Path | None:
    if follow == "auto":
        source = snap.source
        return Path(source) if source is not None and Path(source).name == HEAD_FILE else None
    return None if follow is None else Path(follow)


def _stat(path: Path | None):
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _modes_env(snap) -> dict[str, str]:
    return {"POLICY_SAFE_MODE": "1" if snap.modes.safe else "0",
            "POLICY_SHADOW_MODE": "1" if snap.modes.shadow else "0"}
