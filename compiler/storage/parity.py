"""``polc verify --parity``: every snapshot is byte-identical in the filesystem and the capsule.

Checked in both directions: each bundle's ``snapshot.json`` must be in the capsule under
``mv2://<workspace>/policy/<policy_id>`` with the same bytes, and each capsule object of the
workspace must have a bundle on disk with the same bytes (docs/storage.md "Capsule"), unless ``polc gc`` removed
that bundle (the ledger's ``gc`` rows say which).

>>> from compiler.diagnostics import Diagnostic
>>> ParityReport(2, []).ok
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle import SNAPSHOT_FILE, bundle_dirs, open_bundle
from ..diagnostics import Diagnostic, Span, has_errors
from ..errors import PolcError
from ..capsule import open_capsule, policy_uri


@dataclass
class ParityReport:
    checked: int
    problems: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


def check_parity(out_dir: Path, capsule_path: Path | str, workspace: str) -> ParityReport:
    store = open_capsule(capsule_path, create=False)
    try:
        report = ParityReport(0)
        on_disk: dict[str, tuple[Path, bytes]] = {}
        for path in bundle_dirs(out_dir):
            try:
                bundle = open_bundle(path)
            except PolcError as exc:  # a damaged bundle is reported, never compared
                report.problems.extend(exc.diagnostics)
                continue
            on_disk[policy_uri(workspace, bundle.policy_id)] = (path, bundle.snapshot_bytes)
        in_capsule = set(store.list(f"mv2://{workspace}/policy/"))
        # A bundle `polc gc` removed (a gc row of the ledger says so) stays in the capsule: the
        # capsule is the long-term copy, the out dir the working set.
        from ..bundle import policy_id_for
        from .gc import pruned

        collected = {policy_uri(workspace, policy_id_for(h)) for h in pruned(out_dir)}
        for uri in sorted(set(on_disk) | (in_capsule - collected)):
            report.checked += 1
            report.problems.extend(_compare(uri, on_disk.get(uri), store, capsule_path))
        return report
    finally:
        store.close()


def _compare(uri: str, disk: tuple[Path, bytes] | None, store, capsule_path: Path) -> list[Diagnostic]:
    stored = store.get(uri)
    if disk is None:
        return [Diagnostic.error("POLC362", f"`{uri}` is in the capsule but no bundle on disk has it",
                                 Span.whole_file(str(capsule_path)), hint="restore the bundle (polc restore) or rebuild")]
    bundle, data = disk
    if stored is None:
        return [Diagnostic.error("POLC362", f"bundle {bundle.name[:16]}… is not in the capsule as `{uri}`",
                                 Span.whole_file(str(bundle / SNAPSHOT_FILE)),
                                 hint="store it with `polc build --capsule` (or `polc verify --parity --repair`)")]
    if stored != data:
        return [Diagnostic.error("POLC361", f"`{uri}` differs: filesystem sha256 {hashlib.sha256(data).hexdigest()[:16]}…, "
                                 f"capsule {hashlib.sha256(stored).hexdigest()[:16]}…",
                                 Span.whole_file(str(bundle / SNAPSHOT_FILE)),
                                 hint="one copy was altered; `polc ledger verify` tells which matches the ledger")]
    return []


def repair_missing(out_dir: Path, capsule_path: Path | str, workspace: str) -> list[str]:
    """Store every verifying bundle that the capsule lacks; returns the URIs added."""
    store = open_capsule(capsule_path)
    added = []
    try:
        for path in bundle_dirs(out_dir):
            try:
                bundle = open_bundle(path)
            except PolcError:
                continue  # never copy a damaged bundle into the second store
            uri = policy_uri(workspace, bundle.policy_id)
            if store.get(uri) is None:
                store.put(uri, bundle.snapshot_bytes)
                added.append(uri)
    finally:
        store.close()
    return added
