"""Finding and verifying the bundles of an out dir, for ``polc list``, ``show`` and ``current``.

Verification is the runtime's (``compiler.runtime.load_snapshot``): one implementation decides
whether a bundle is intact, for the router that loads it and for the person inspecting it.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> (out / ("ab12" + "0" * 60)).mkdir(); (out / "not-a-bundle").mkdir()
>>> [p.name[:4] for p in bundle_dirs(out)]
['ab12']
>>> resolve_prefix("ab12", out).name[:4]
'ab12'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .diagnostics import Diagnostic
from .errors import InputError, IntegrityError, PolcError, UsageError

HEAD_FILE = "policy.json"
MIN_PREFIX = 4
_HEX = frozenset("0123456789abcdef")
#: The head pointer is a few hundred bytes; anything far larger is not one.
_MAX_HEAD_BYTES = 1 << 20


def is_bundle_name(name: str) -> bool:
    return len(name) == 64 and set(name) <= _HEX


def bundle_dirs(out_dir: Path) -> list[Path]:
    """The bundle directories (named by a 64-hex content hash) of ``out_dir``, sorted by name.

    A missing out dir has no bundles; one that exists but cannot be listed is an InputError.
    """
    if not out_dir.exists():
        return []
    try:
        entries = list(os.scandir(out_dir))
    except OSError as exc:
        raise InputError(f"cannot list {out_dir}", [Diagnostic.error(
            "POLC700", f"the out dir `{out_dir}` cannot be read: {exc.strerror or exc}",
            hint="pass --out DIR (the directory `polc build` writes bundles to)")]) from None
    return sorted((Path(e.path) for e in entries if is_bundle_name(e.name) and e.is_dir()), key=lambda p: p.name)


def policy_id_of(bundle_hash: str) -> str:
    from .runtime.identity import policy_id_for

    return policy_id_for(bundle_hash)


def resolve_prefix(prefix: str, out_dir: Path) -> Path:
    """The one bundle whose hash or policy_id starts with ``prefix``.

    No bundles at all: InputError (exit 3). A prefix that matches none or several: UsageError
    (exit 2), listing the candidates.
    """
    bundles = bundle_dirs(out_dir)
    if not bundles:
        raise InputError("no bundles", [Diagnostic.error(
            "POLC700", f"there are no bundles in `{out_dir}`",
            hint="run `polc build` first, or pass --out DIR to look elsewhere")])
    text = prefix.strip().lower()
    if len(text.replace("-", "")) < MIN_PREFIX:
        raise UsageError("prefix too short", [Diagnostic.error(
            "POLC707", f"`{prefix}` is too short: give at least {MIN_PREFIX} characters of a hash or policy_id",
            notes=_candidates(bundles))])
    matches = [b for b in bundles if b.name.startswith(text) or policy_id_of(b.name).startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError("unknown bundle", [Diagnostic.error(
            "POLC707", f"no bundle in `{out_dir}` has a hash or policy_id starting with `{prefix}`",
            hint="`polc list` shows every bundle", notes=_candidates(bundles))])
    raise UsageError("ambiguous prefix", [Diagnostic.error(
        "POLC708", f"`{prefix}` matches {len(matches)} bundles", hint="give more characters",
        notes=_candidates(matches))])


def _candidates(bundles: list[Path], limit: int = 10) -> list[str]:
    notes = [f"candidate: {b.name[:16]}  policy_id {policy_id_of(b.name)}" for b in bundles[:limit]]
    if len(bundles) > limit:
        notes.append(f"... and {len(bundles) - limit} more (`polc list` shows all)")
    return notes


def active_hash(out_dir: Path) -> tuple[str | None, str | None]:
    """(the head pointer's ``active`` hash, or None; a problem reading it, or None)."""
    head = out_dir / HEAD_FILE
    try:
        with open(head, "rb") as fh:
            raw = fh.read(_MAX_HEAD_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"`{head}` cannot be read: {exc.strerror or exc}"
    try:
        active = json.loads(raw).get("active")
    except (ValueError, AttributeError):
        return None, f"`{head}` is not a polc head pointer (not a JSON object)"
    if not isinstance(active, str) or not is_bundle_name(active):
        return None, f"`{head}` has no valid `active` hash"
    return active, None


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
        report.snapshot = load_snapshot(path)
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


def exit_code_of(reports: list[BundleReport], head_problem: str | None) -> int:
    """4 if anything failed verification (or the head pointer is damaged), 3 if unreadable, else 0."""
    if head_problem or any(r.status == "integrity" for r in reports):
        return 4
    return 3 if any(r.status == "unreadable" for r in reports) else 0
