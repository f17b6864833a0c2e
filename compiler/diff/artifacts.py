"""Reading compiled artifacts as diff inputs: a snapshot.json, a bundle dir, a head pointer.

Every read goes through the bundle package (``compiler.bundle``), so ``polc diff`` refuses
exactly the bundles the runtime refuses, with the same codes: a mismatch is an
IntegrityError (exit 4); a file that is not what it claims is an InputError (exit 3).

>>> classify({"schema_version": "polc_head@v1", "active": "ab"})
'head'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..bundle import (HEAD_FILE, MANIFEST_FILE, SNAPSHOT_FILE, open_bundle, open_head,  # noqa: F401
                      verify_snapshot_bytes)
from ..bundle.jsonio import parse_object, read_named_file
from ..bundle.layout import MAX_JSON_BYTES
from ..diagnostics import Diagnostic
from ..errors import InputError

_WHAT = "polc snapshot, bundle manifest or head pointer"
_HINT = "name a snapshot.json, a bundle directory, a head pointer (policy.json) or a project"


def classify(data: Any) -> str:
    """What a parsed JSON artifact is: ``head``, ``manifest``, ``snapshot`` or ``unknown``."""
    if not isinstance(data, dict):
        return "unknown"
    version = str(data.get("schema_version", ""))
    if version.startswith("polc_head@") or ("active" in data and "routing" not in data):
        return "head"
    if version.startswith("policy_manifest@"):
        return "manifest"
    if "hash" in data and "schema_version" in data:
        return "snapshot"
    return "unknown"


def load_file(path: Path) -> tuple[str, dict]:
    """(kind, verified snapshot) of the JSON file ``path``: a snapshot, a manifest or a head."""
    raw = read_named_file(path, MAX_JSON_BYTES, _WHAT, _HINT)
    data = parse_object(raw, str(path), _WHAT, strict_keys=False)
    kind = classify(data)
    if kind == "head":
        return "head", open_head(path).snapshot
    if kind == "manifest":
        return "bundle", open_bundle(path.parent).snapshot
    if kind == "snapshot" and (path.parent / MANIFEST_FILE).exists():  # verified as the bundle it is part of
        return "snapshot", open_bundle(path.parent).snapshot
    if kind == "snapshot":
        return "snapshot", verify_snapshot_bytes(raw, str(path))
    raise InputError(f"{path}: not a polc artifact", [Diagnostic.error(
        "POLC420", f"`{path}` is not a polc snapshot, bundle manifest or head pointer (it has no "
                   "`schema_version` and `hash`)", hint=_HINT)])


def load_bundle(bundle: Path) -> dict:
    """The verified snapshot of a bundle directory."""
    return open_bundle(bundle).snapshot


def load_head(head: Path) -> dict:
    """The verified snapshot of the bundle a head pointer (or the out dir holding it) names."""
    return open_head(head).snapshot
