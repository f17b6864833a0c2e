"""``polc backfill``: make the head pointer name its bundle by the manifest's identity (docs/storage.md "Backfill").

A head pointer is stale when it is a legacy v1 ``policy.json`` (``policy_hash`` = sha256 of
the weights), or a ``polc_head@v1`` whose ``policy_id`` or ``manifest_sha256`` disagrees
with the bundle's manifest. The target bundle is the one the head names; for a legacy head,
the bundle whose ``legacy.policy_hash`` or weights sha256 equals its ``policy_hash``; without
a head, the last ledger row's bundle. ``--dry-run`` reports the plan; ``--apply`` rewrites
the head atomically and appends a ``backfill`` ledger row.

>>> Plan("h", None, "x", "missing").to_json()["reason"]
'missing'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..bundle import HEAD_FILE, Bundle, bundle_dirs, head_bytes, is_full_hash, open_bundle, point_head, storage_lock
from ..errors import PolcError
from ..jsonlog import read_rows
from . import ledger


@dataclass(frozen=True)
class Plan:
    head: str
    current: dict | None
    target: str | None
    reason: str

    def to_json(self) -> dict:
        return asdict(self)


def bundles_in(root: Path) -> list[Bundle]:
    """Every bundle under ``root`` that verifies, in name order."""
    found = []
    for path in bundle_dirs(root):
        try:
            found.append(open_bundle(path))
        except PolcError:
            continue
    return found


def plan(root: Path) -> Plan:
    head_path = root / HEAD_FILE
    try:  # backfill repairs heads, so it reads them as plain JSON: a stale or legacy one is expected
        head = json.loads(head_path.read_bytes())
    except FileNotFoundError:
        head = None
    except (OSError, ValueError):
        head = {"unreadable": True}
    target = _target(root, head)
    if target is None:
        return Plan(str(head_path), head, None, "no bundle matches the head pointer; nothing to do")
    if head is not None and head_bytes(target) == _canonical(head):
        return Plan(str(head_path), head, target.hash, "up to date")
    reason = ("missing" if head is None else "legacy v1 head" if "policy_hash" in head
              else "stale identity (policy_id or manifest_sha256)")
    return Plan(str(head_path), head, target.hash, reason)


def _canonical(value) -> bytes:
    from ..canonical import canonical_json

    return canonical_json(value)


def _target(root: Path, head: dict | None) -> Bundle | None:
    if isinstance(head, dict) and isinstance(head.get("active"), str) and is_full_hash(head["active"]):
        try:
            return open_bundle(root / head["active"])
        except PolcError:
            return None
    if isinstance(head, dict) and head.get("policy_hash"):
        for bundle in bundles_in(root):
            legacy = bundle.snapshot.get("legacy") or {}
            weights = bundle.snapshot.get("policy_weights") or {}
            if head["policy_hash"] in (legacy.get("policy_hash"), weights.get("sha256")):
                return bundle
        return None
    rows = read_rows(root / ledger.LEDGER_FILE, "POLC370")
    for row, _ in reversed(rows):
        try:
            return open_bundle(root / str(row.get("hash")))
        except PolcError:
            continue
    return None


def apply(root: Path) -> Plan:
    with storage_lock(root):
        result = plan(root)
        if result.target and result.reason != "up to date":
            bundle = open_bundle(root / result.target)
            point_head(root, bundle)
            ledger.record(root, "backfill", bundle, reason=result.reason)
    return result
