"""``polc delta replay BASE LOG``: recompute a whole oplus trajectory and compare every hash.

From the base bundle, each applied ``symbolic_descent`` row whose ``policy_hash_before``
is the current policy is re-applied with its recorded payload and learning rate and the
surface controls of the current snapshot; the weights' sha256 and the derived policy hash
must equal the row's. Rows that belong to other lineages are skipped; a ``surface_change``
row continues from its ``policy_hash_after`` bundle when that bundle is on disk. The log's
own hash chain is checked first.

>>> ReplayResult(base="b", final="f", applied=2, skipped=0).to_json()["applied"]
2
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..bundle import Bundle, open_bundle, open_ref, seal_snapshot
from ..diagnostics import Diagnostic, Span
from ..errors import IntegrityError, PolcError
from . import jsonl, weights as wfmt
from .deltas import bundle_weights, surface_controls
from .oplus import apply_symbolic_delta


@dataclass
class ReplayResult:
    base: str
    final: str
    applied: int
    skipped: int
    final_weights_sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def replay(base_ref: str | Path, log_path: Path, out_dir: Path | None = None):
    """Replay ``log_path`` from ``base_ref``; returns (ReplayResult, final weights array)."""
    import numpy as np

    base = open_ref(base_ref, out_dir)
    rows = jsonl.read_rows(log_path, "POLC345")
    broken = jsonl.verify_chain(rows)
    if broken:
        raise _mismatch(log_path, broken, "does not chain to the row before it (prev_sha256)")
    state = _State(base, bundle_weights(base))
    result = ReplayResult(base.hash, base.hash, 0, 0)
    for number, (row, _) in enumerate(rows, start=1):
        if not row.get("policy_update_applied") or row.get("policy_hash_before") != state.hash:
            result.skipped += 1
            continue
        kind = (row.get("delta") or {}).get("type")
        if kind == "symbolic_descent":
            state = _step(state, row, number, log_path, np)
            result.applied += 1
        elif kind == "surface_change":
            state = _jump(state, row, base.path.parent, result)
        else:
            raise PolcError("bad row", [Diagnostic.error("POLC345", f"row {number}: unknown delta type {kind!r}",
                                                         Span(str(log_path), number, 1))])
    result.final = state.hash
    result.final_weights_sha256 = state.snapshot["policy_weights"]["sha256"]
    return result, state.weights


@dataclass(frozen=True)
class _State:
    bundle: Bundle
    weights: object
    snapshot: dict | None = None

    def __post_init__(self):
        if self.snapshot is None:
            object.__setattr__(self, "snapshot", self.bundle.snapshot)

    @property
    def hash(self) -> str:
        return self.snapshot["hash"]


def _step(state: _State, row: dict, number: int, log_path: Path, np) -> _State:
    try:
        payload = np.asarray(row["delta"]["payload"], dtype=np.float64).astype(state.weights.dtype)
        delta = payload.reshape(state.weights.shape)
        updated, _ = apply_symbolic_delta(state.weights, delta, float(row["learning_rate"]),
                                          **surface_controls(state.snapshot))
    except (KeyError, TypeError, ValueError) as exc:
        raise PolcError("bad row", [Diagnostic.error("POLC345", f"row {number} cannot be replayed: {exc}",
                                                     Span(str(log_path), number, 1))]) from None
    _, meta = wfmt.encode(updated)
    if meta["sha256"] != row.get("weights_sha256_after"):
        raise _mismatch(log_path, number, "reproduces different weights than it recorded (weights_sha256_after)")
    snapshot = seal_snapshot({**state.snapshot, "policy_weights": meta}, state.snapshot["created_at"])
    if snapshot["hash"] != row.get("policy_hash_after"):
        raise _mismatch(log_path, number, f"reproduces policy {snapshot['hash'][:16]}…, the row says "
                                          f"{str(row.get('policy_hash_after'))[:16]}…")
    return _State(state.bundle, updated, snapshot)


def _jump(state: _State, row: dict, out_dir: Path, result: ReplayResult) -> _State:
    after = str(row.get("policy_hash_after"))
    try:
        bundle = open_bundle(out_dir / after)
    except PolcError:
        result.notes.append(f"surface change to {after[:16]}…: bundle not on disk; replay stops there")
        return state
    if not bundle.snapshot.get("policy_weights"):
        result.notes.append(f"surface change to {after[:16]}…: that bundle has no weights; replay stops there")
        return state
    result.notes.append(f"surface change {state.hash[:16]}… → {after[:16]}… (rebuilt sources)")
    return _State(bundle, bundle_weights(bundle))


def _mismatch(log_path: Path, number: int, what: str) -> IntegrityError:
    return IntegrityError("replay mismatch", [Diagnostic.error(
        "POLC346", f"delta log row {number} {what}", Span(str(log_path), number, 1),
        hint="the log and the bundles disagree: the log was edited or a bundle was replaced; "
             "restore both from an archive")])
