"""``polc delta apply`` and ``polc delta replay``: oplus updates recorded in ``delta_log.jsonl``.

Bundles are immutable, so each applied delta writes a new bundle ``<out>/<new hash>/``
(new weights, and a one-line ``delta_log.jsonl``: the row that produced it) and re-points
the head. ``<out>/delta_log.jsonl`` is the append-only, hash-chained log of every attempt.

Order of an apply, so a crash at any point leaves everything verifiable: write the new
bundle (temp dir + rename) → re-read and verify it → append the log row → re-point the
head → append the ledger row. If the verification fails the new bundle is removed, the
head stays, and the row is logged with ``policy_update_applied: false`` (exit 4).

Example row (docs/storage.md "oplus deltas", plus what replay and the chain need)::

    {"cycle": 173, "slice": "goal", "mode": "rfl", "policy_hash_before": "a1b2…",
     "policy_hash_after": "b3c4…", "theta_norm_before": 1.24, "theta_norm_after": 1.11,
     "delta": {"type": "symbolic_descent", "payload": [0.04, -0.01], "l2_norm": 0.09},
     "gradient_norm": 0.13, "learning_rate": 0.05, "attestation_root": "Ht_…",
     "timestamp": "2026-11-23T23:59:00Z", "policy_update_applied": true, …}
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle import (DELTA_LOG_FILE as DELTA_LOG, Bundle, derive_bundle, open_bundle, open_ref, point_head,
                      read_head, seal_snapshot, storage_lock, write_bundle)
from ..diagnostics import Diagnostic, Span
from ..errors import IntegrityError, PolcError, UsageError
from ..jsonlog import append_row, encode_row, last_line_sha, last_row
from . import ledger, weights as wfmt
from .oplus import apply_symbolic_delta


@dataclass(frozen=True)
class DeltaRequest:
    learning_rate: float
    cycle: int
    slice: str
    mode: str = "rfl"
    attestation_root: str | None = None


def surface_controls(snapshot: dict) -> dict[str, Any]:
    controls = (snapshot.get("surface") or {}).get("curvature_controls") or {}
    return {"max_gradient_norm": controls.get("max_gradient_norm"),
            "damping_factor": float(controls.get("damping_factor") or 0.0)}


def bundle_weights(bundle: Bundle):
    meta = bundle.snapshot.get("policy_weights")
    if not meta:
        raise PolcError("no weights", [Diagnostic.error(
            "POLC347", f"bundle {bundle.hash[:16]}… has no weights (no policy_weights block)",
            Span.whole_file(f"{bundle.path or bundle.hash}/snapshot.json"),
            hint="name a .npy file in policy.toml [sources].weights and rebuild")])
    return wfmt.decode(bundle.files[wfmt.WEIGHTS_FILE], meta, f"{bundle.path or bundle.hash}/{wfmt.WEIGHTS_FILE}")


def load_delta(path: Path, like) -> Any:
    """The delta array in ``path``, refused unless it matches ``like`` in dtype and shape and is finite."""
    import numpy as np

    delta = wfmt.load_npy(path, str(path), code="POLC343")
    span = Span.whole_file(str(path))
    if delta.dtype != like.dtype:
        raise PolcError("delta dtype", [Diagnostic.error(
            "POLC341", f"delta dtype is {delta.dtype}; the weights are {like.dtype}", span,
            hint=f"save the delta as {like.dtype} (array.astype(numpy.{like.dtype}))")])
    if delta.shape != like.shape:
        raise PolcError("delta shape", [Diagnostic.error(
            "POLC340", f"delta shape is {delta.shape}; the weights are {like.shape}", span,
            hint="a delta has one entry per weight")])
    if not np.isfinite(delta).all():
        raise PolcError("delta not finite", [Diagnostic.error(
            "POLC342", f"the delta contains NaN or infinity (first at flat index "
                       f"{int(np.flatnonzero(~np.isfinite(delta.ravel()))[0])})", span,
            hint="fix the gradient computation; nothing was changed")])
    return delta


def check_request(req: DeltaRequest) -> None:
    if not (math.isfinite(req.learning_rate) and req.learning_rate > 0):
        raise UsageError("bad --lr", [Diagnostic.error(
            "POLC342", f"--lr {req.learning_rate} must be a finite number > 0", hint="e.g. --lr 0.05")])
    if req.cycle < 0:
        raise UsageError("bad --cycle", [Diagnostic.error("POLC342", f"--cycle {req.cycle} must be >= 0")])


def check_attestation(req: DeltaRequest, base: Bundle) -> None:
    """A surface with ``symbolic_descent.require_attestation`` takes only attested deltas."""
    descent = (base.snapshot.get("surface") or {}).get("symbolic_descent") or {}
    if descent.get("require_attestation") and not (req.attestation_root or "").strip():
        raise UsageError("attestation required", [Diagnostic.error(
            "POLC398", f"the surface of bundle {base.hash[:16]}… requires attested deltas "
                       "(symbolic_descent.require_attestation), but the delta names no attestation root",
            hint="pass --attestation-root with the attested H_t root the delta derives from")])


def apply_delta(bundle_ref: str | Path, delta, req: DeltaRequest, out_dir: Path | None = None) -> dict:
    """Apply ``delta`` (an array, or a path to a .npy) to a bundle; returns the log row."""
    check_request(req)
    out_dir = open_ref(bundle_ref, out_dir).path.parent
    with storage_lock(out_dir):
        recover_interrupted(out_dir)
        base = open_ref(bundle_ref, out_dir)  # after recovery: policy.json may have moved on
        check_attestation(req, base)
        current = bundle_weights(base)
        if isinstance(delta, (str, Path)):
            delta = load_delta(Path(delta), current)
        updated, info = apply_symbolic_delta(current, delta, req.learning_rate, **surface_controls(base.snapshot))
        row, bundle = _prepare(base, delta, updated, info, req, out_dir)
        return _commit(base, out_dir, row, bundle)


def _prepare(base: Bundle, delta, updated, info: dict, req: DeltaRequest, out_dir: Path):
    from ..clock import build_time

    data, meta = wfmt.encode(updated)
    timestamp = build_time()
    row = {
        "cycle": req.cycle, "slice": req.slice, "mode": req.mode,
        "policy_hash_before": base.hash, "policy_hash_after": None,
        "theta_norm_before": info["theta_norm_before"], "theta_norm_after": info["theta_norm_after"],
        "delta": {"type": "symbolic_descent", "payload": delta.ravel().tolist(), "l2_norm": info["l2_norm"]},
        "gradient_norm": info["gradient_norm"], "learning_rate": req.learning_rate,
        "attestation_root": req.attestation_root, "timestamp": timestamp,
        "policy_update_applied": True, "clipped": info["clipped"], **surface_controls(base.snapshot),
        "weights_sha256_before": base.snapshot["policy_weights"]["sha256"], "weights_sha256_after": meta["sha256"],
    }
    row["policy_hash_after"] = seal_snapshot({**base.snapshot, "policy_weights": meta}, timestamp)["hash"]
    row["ledger_prev_sha256"] = last_line_sha(out_dir / ledger.LEDGER_FILE)
    row["prev_sha256"] = last_line_sha(out_dir / DELTA_LOG)
    line = encode_row(row)
    bundle = derive_bundle(base, {"policy_weights": meta}, {wfmt.WEIGHTS_FILE: data, DELTA_LOG: line + b"\n"},
                           timestamp, {"weights": meta})
    return row, bundle


def _commit(base: Bundle, out_dir: Path, row: dict, bundle: Bundle) -> dict:
    existed = (out_dir / bundle.hash).exists()
    path = write_bundle(out_dir, bundle)
    problem = _verify_written(path, row)
    if problem:
        if not existed:
            shutil.rmtree(path, ignore_errors=True)  # revert: the previous checkpoint stays the head
        failed = {**row, "policy_update_applied": False, "failure": problem}
        append_row(out_dir / DELTA_LOG, {k: v for k, v in failed.items() if k != "prev_sha256"})
        raise IntegrityError("delta not applied", [Diagnostic.error(
            "POLC344", f"policy_hash_after {row['policy_hash_after'][:16]}… does not match the written bundle: "
                       f"{problem}; reverted to {base.hash[:16]}…", Span.whole_file(str(path)),
            hint="the storage under the out dir corrupted the write; check the disk and apply the delta again")])
    append_row(out_dir / DELTA_LOG, {k: v for k, v in row.items() if k != "prev_sha256"},
                     prev=row["prev_sha256"])
    stored = open_bundle(path)
    point_head(out_dir, stored)
    ledger.record(out_dir, "delta", stored, cycle=row["cycle"], slice=row["slice"], parent=base.hash)
    return row


def _verify_written(path: Path, row: dict) -> str | None:
    try:
        written = open_bundle(path)
        weights = written.files[wfmt.WEIGHTS_FILE]
        wfmt.decode(weights, written.snapshot["policy_weights"])
    except PolcError as exc:
        return exc.diagnostics[0].message if exc.diagnostics else exc.message
    if written.hash != row["policy_hash_after"] or written.snapshot["policy_weights"]["sha256"] != row["weights_sha256_after"]:
        return "the written weights hash to a different policy"
    return None


def recover_interrupted(out_dir: Path) -> str | None:
    """Finish a delta whose log row was written but whose head or ledger update was not.

    The log row is the commit point. The row records the ledger's tail when it was made
    (``ledger_prev_sha256``); if the ledger has not moved since, the apply was interrupted:
    re-point the head (if it still names the parent) and append the missing ledger row.
    Returns the hash rolled forward to, or None.
    """
    row, _ = last_row(out_dir / DELTA_LOG)
    if not row or not row.get("policy_update_applied") or (row.get("delta") or {}).get("type") != "symbolic_descent":
        return None
    _, ledger_tail = last_row(out_dir / ledger.LEDGER_FILE)
    if row.get("ledger_prev_sha256") != ledger_tail:
        return None  # the ledger moved on: the apply completed (or something newer happened)
    after = open_bundle(out_dir / str(row["policy_hash_after"]))
    try:
        head = read_head(out_dir)
    except PolcError:
        head = None
    if (head.active if head else None) not in (row["policy_hash_before"], after.hash):
        return None
    point_head(out_dir, after)
    ledger.record(out_dir, "delta", after, cycle=row["cycle"], slice=row["slice"],
                  parent=row["policy_hash_before"], recovered=True)
    return after.hash
