"""``policy_hash_ledger.jsonl``: one hash-chained row per event that changes what is live.

A row is ``{"event", "hash", "policy_id", "manifest_sha256", "time", "details",
"prev_sha256"}``; events are ``build`` (the head moved to a new build), ``delta``,
``migration``, ``restore`` and ``backfill``; ``snapshot`` rows are written on request by
``polc ledger snapshot --notes TEXT`` with the drift status against the previous row; a ``gc``
row (naming the head) lists in ``details.removed`` the bundles ``polc gc`` removed.
``verify_ledger`` checks the chain and that every row's bundle is on disk, verifies, and has
the manifest hash the row recorded — or was removed by a later ``gc`` row.

>>> sorted(EVENTS)
['backfill', 'build', 'delta', 'gc', 'migration', 'restore', 'snapshot']
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from ..bundle import Bundle, open_bundle
from ..diagnostics import Diagnostic, Span
from ..errors import PolcError
from . import jsonl

LEDGER_FILE = "policy_hash_ledger.jsonl"
EVENTS = ("build", "delta", "migration", "restore", "backfill", "snapshot", "gc")


def now() -> str:
    """UTC now, or ``SOURCE_DATE_EPOCH`` when set, so a reproducible build gives the same bytes."""
    if os.environ.get("SOURCE_DATE_EPOCH") is not None:
        from ..passes.snapshot import build_time

        return build_time()
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(out_dir: Path, event: str, bundle: Bundle, **details) -> bytes:
    row = {"event": event, "hash": bundle.hash, "policy_id": bundle.policy_id,
           "manifest_sha256": bundle.manifest_sha256, "time": now(), "details": details}
    return jsonl.append_row(out_dir / LEDGER_FILE, row)


def rows_for(out_dir: Path, digest: str) -> list[bytes]:
    """The ledger lines about bundle ``digest`` (for an archive's ledger_excerpt.jsonl)."""
    return [line for row, line in jsonl.read_rows(out_dir / LEDGER_FILE, "POLC370") if row.get("hash") == digest]


def verify_ledger(out_dir: Path) -> tuple[int, list[Diagnostic]]:
    """(rows checked, problems): the chain, then each row against its bundle on disk."""
    path = out_dir / LEDGER_FILE
    rows = jsonl.read_rows(path, "POLC370")
    problems: list[Diagnostic] = []
    broken = jsonl.verify_chain(rows)
    if broken:
        problems.append(Diagnostic.error("POLC372", f"row {broken} of the ledger does not chain to the row before it",
                                         Span(str(path), broken, 1),
                                         hint="a row was edited, removed or reordered; the ledger is append-only"))
    verified: dict[str, str] = {}
    removed = {h for row, _ in rows if row.get("event") == "gc"
               for h in (row.get("details") or {}).get("removed", []) if isinstance(h, str)}
    for number, (row, _) in enumerate(rows, start=1):
        digest = str(row.get("hash"))
        if digest in removed and not (out_dir / digest).exists():
            continue  # `polc gc` removed it, and the ledger says so
        try:
            if digest not in verified:
                verified[digest] = open_bundle(out_dir / digest).manifest["sha256"]
        except PolcError as exc:
            reason = exc.diagnostics[0].message if exc.diagnostics else exc.message
            problems.append(Diagnostic.error("POLC371", f"ledger row {number} ({row.get('event')}) names bundle "
                                             f"{digest[:16]}… which does not verify: {reason}",
                                             Span(str(path), number, 1),
                                             hint="restore the bundle from its archive with `polc restore`"))
            verified[digest] = ""
            continue
        if verified[digest] and verified[digest] != row.get("manifest_sha256"):
            problems.append(Diagnostic.error("POLC371", f"ledger row {number} records manifest "
                                             f"{str(row.get('manifest_sha256'))[:16]}…, the bundle has "
                                             f"{verified[digest][:16]}…", Span(str(path), number, 1),
                                             hint="the bundle's manifest was replaced after the row was written"))
    return len(rows), problems
