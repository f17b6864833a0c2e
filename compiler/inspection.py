"""Finding and verifying the bundles of an out dir, for ``polc list``, ``show`` and ``current``.

Verification is the bundle package's (``compiler.bundle``), reached through the runtime's
``load_snapshot``: one implementation decides whether a bundle is intact, for the router that
loads it and for the person inspecting it.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> (out / ("ab12" + "0" * 60)).mkdir(); (out / "not-a-bundle").mkdir()
>>> [p.name[:4] for p in bundle_dirs(out)]
['ab12']
>>> resolve_prefix("ab12", out).name[:4]
'ab12'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .bundle import HEAD_FILE, bundle_dirs, find_bundle, is_full_hash, policy_id_for, read_head  # noqa: F401
from .diagnostics import Diagnostic
from .errors import InputError, IntegrityError, PolcError


def is_bundle_name(name: str) -> bool:
    return is_full_hash(name)


def policy_id_of(bundle_hash: str) -> str:
    return policy_id_for(bundle_hash)


def resolve_prefix(prefix: str, out_dir: Path) -> Path:
    """The one bundle whose hash or policy_id starts with ``prefix``.

    No bundles at all: InputError (exit 3). A prefix that matches none or several: UsageError
    (exit 2), listing the candidates.
    """
    if not bundle_dirs(out_dir):
        raise InputError("no bundles", [Diagnostic.error(
            "POLC700", f"there are no bundles in `{out_dir}`",
            hint="run `polc build` first, or pass --out DIR to look elsewhere")])
    return find_bundle(prefix, out_dir)


def active_hash(out_dir: Path) -> tuple[str | None, str | None]:
    """(the head pointer's ``active`` hash, or None; a problem with the pointer, or None).

    A pointer naming a bundle that is not in the out dir is a problem too.
    """
    active, error = read_active(out_dir)
    return active, _problem(error) if error else None


def read_active(out_dir: Path) -> tuple[str | None, PolcError | None]:
    """(the head pointer's ``active`` hash, or None; the error the pointer raises, or None).

    A legacy v1 ``policy.json`` is an InputError (POLC711) whose hint says how to migrate it;
    a damaged or dangling pointer is an IntegrityError.
    """
    try:
        head = read_head(out_dir)
    except PolcError as exc:
        return None, exc
    if head is None:
        return None, None
    if not (Path(out_dir) / head.active).is_dir():
        message = (f"`{head.path}` names bundle {head.active[:16]}…, which is not in `{out_dir}` "
                   "(deleted or never copied)")
        return head.active, IntegrityError(message, [Diagnostic.error(
            "POLC706", message, hint="restore it, or `polc build` to make a new head")])
    return head.active, None


@dataclass
class BundleReport:
    """What ``polc list`` says about one bundle; ``error`` is set when it failed verification."""

    path: Path
    active: bool = False
    snapshot: Any = None  # a verified compiler.runtime Snapshot
    error: PolcError | None = None
    facts: dict = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        if self.error is None:
            return "ok"
        return "integrity" if isinstance(self.error, IntegrityError) else "unreadable"

    def to_json(self) -> dict:
        out = {"hash": self.hash, "policy_id": self.facts.get("policy_id", policy_id_of(self.hash)),
               "created_at": self.facts.get("created_at"), "version": self.facts.get("version"),
               "schema_version": self.facts.get("schema_version"), "active": self.active,
               "status": self.status, "path": str(self.path)}
        if self.error is not None:
            out["problem"] = _problem(self.error)
        return out


def load_bundle(path: Path, *, active: bool = False) -> BundleReport:
    """Verify and load one bundle; a failure is recorded in the report, not raised."""
    from .runtime import load_snapshot

    report = BundleReport(path, active=active)
    try:
        report.snapshot = load_snapshot(path, check_compatibility=False)  # inspect any bundle
    except PolcError as exc:
        report.error = exc
        return report
    report.facts = facts(report.snapshot)
    return report


def facts(snapshot) -> dict:
    manifest = snapshot.manifest or {}  # frozen mappings, not dicts
    policy = manifest.get("policy") if isinstance(manifest.get("policy"), Mapping) else {}
    compiler = manifest.get("compiler") if isinstance(manifest.get("compiler"), Mapping) else {}
    return {"hash": snapshot.hash, "policy_id": snapshot.policy_id, "created_at": snapshot.created_at,
            "schema_version": snapshot.schema_version, "version": policy.get("version"),
            "compiler": " ".join(str(compiler[k]) for k in ("name", "version") if k in compiler) or None,
            "migrated_from": list(snapshot.migrated_from)}


def _problem(error: PolcError) -> str:
    return error.diagnostics[0].message if error.diagnostics else error.message


def exit_code_of(reports: list[BundleReport], head_error: PolcError | None) -> int:
    """4 if anything failed verification (or the head pointer is damaged or dangling), 3 if a
    bundle or the head pointer is unreadable (a legacy v1 head included), else 0."""
    if isinstance(head_error, IntegrityError) or any(r.status == "integrity" for r in reports):
        return 4
    if head_error is not None or any(r.status == "unreadable" for r in reports):
        return 3
    return 0
