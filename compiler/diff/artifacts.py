"""Reading compiled artifacts as diff inputs: a snapshot.json, a bundle dir, a head pointer.

Every read is verified the way ``load_snapshot`` verifies (DESIGN.md §5): the snapshot must
hash to its ``hash``; a bundle's manifest must match its own sha256 and name the same
snapshot; a head pointer must name a bundle that exists. A mismatch is an IntegrityError
(exit 4); a file that is not what it claims is an InputError (exit 3).

>>> classify({"schema_version": "polc_head@v1", "active": "ab"})
'head'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError

#: A snapshot of 20,000 roles is a few MB; refuse to read anything far beyond that.
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
SNAPSHOT_FILE, MANIFEST_FILE, HEAD_FILE = "snapshot.json", "policy.manifest.json", "policy.json"


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


def read_json(path: Path, label: str) -> Any:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ARTIFACT_BYTES + 1)
    except OSError as exc:
        raise _input("POLC400", f"`{label}` cannot be read: {exc.strerror or exc}",
                     "check the path and its permissions") from None
    if len(data) > MAX_ARTIFACT_BYTES:
        raise _input("POLC420", f"`{label}` is larger than {MAX_ARTIFACT_BYTES:,} bytes", "name a polc snapshot")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _input("POLC420", f"`{label}` is not valid JSON: {exc}",
                     "name a snapshot.json, a bundle directory, a head pointer (policy.json) or a project") from None


def load_snapshot_file(path: Path, label: str) -> dict:
    data = read_json(path, label)
    if classify(data) != "snapshot":
        raise _input("POLC420", f"`{label}` is not a polc snapshot (it has no `schema_version` and `hash`)",
                     "name a snapshot.json written by `polc build`")
    verify_snapshot(data, label)
    return data


def verify_snapshot(snapshot: dict, label: str) -> None:
    from ..passes.snapshot import snapshot_hash

    try:
        actual = snapshot_hash(snapshot)
    except ValueError as exc:  # CanonicalError: a value JSON cannot hold canonically
        raise _input("POLC420", f"`{label}` holds a value canonical JSON cannot represent: {exc}",
                     "rebuild the snapshot with `polc build`") from None
    if actual != snapshot.get("hash"):
        raise IntegrityError(f"{label}: hash mismatch", [Diagnostic.error(
            "POLC422", f"`{label}` says its hash is {str(snapshot.get('hash'))[:16]}… but its content hashes to "
                       f"{actual[:16]}…", hint="the snapshot was edited or damaged; rebuild it with `polc build`")])


def load_bundle(bundle: Path, label: str) -> dict:
    """The verified snapshot of a bundle directory (manifest checked when present)."""
    snapshot = load_snapshot_file(bundle / SNAPSHOT_FILE, f"{label}/{SNAPSHOT_FILE}")
    if (bundle / MANIFEST_FILE).exists():
        _verify_manifest(bundle, snapshot, label)
    return snapshot


def _verify_manifest(bundle: Path, snapshot: dict, label: str) -> None:
    from ..passes.bundle import manifest_digest, sha256_hex

    manifest = read_json(bundle / MANIFEST_FILE, f"{label}/{MANIFEST_FILE}")
    if classify(manifest) != "manifest":
        raise _input("POLC420", f"`{label}/{MANIFEST_FILE}` is not a policy manifest", "rebuild the bundle")
    problems = []
    if manifest.get("sha256") != manifest_digest(manifest):
        problems.append("the manifest does not match its own sha256")
    if manifest.get("policy", {}).get("hash") != snapshot["hash"]:
        problems.append("the manifest names another snapshot hash")
    recorded = manifest.get("files", {}).get(SNAPSHOT_FILE, {}).get("sha256")
    if recorded and recorded != sha256_hex((bundle / SNAPSHOT_FILE).read_bytes()):
        problems.append("snapshot.json does not match the sha256 the manifest records")
    if problems:
        raise IntegrityError(f"{label}: manifest mismatch", [Diagnostic.error(
            "POLC422", f"bundle `{label}`: " + "; ".join(problems),
            hint="a bundle is immutable; it was edited or damaged. Rebuild it with `polc build`")])


def load_head(head: Path, label: str) -> dict:
    pointer = read_json(head, label)
    active = pointer.get("active") if isinstance(pointer, dict) else None
    if classify(pointer) != "head" or not isinstance(active, str) or "/" in active or active in ("", ".", ".."):
        raise _input("POLC420", f"`{label}` is not a polc head pointer (no valid `active` hash)",
                     "name the policy.json that `polc build` writes beside the bundles")
    bundle = head.parent / active
    if not bundle.is_dir():
        raise _input("POLC423", f"head pointer `{label}` names bundle {active[:16]}…, which does not exist in "
                                f"`{head.parent}`", "rebuild with `polc build`, or restore the bundle directory")
    snapshot = load_bundle(bundle, f"{label} → {active[:12]}")
    if snapshot["hash"] != active:
        raise IntegrityError(f"{label}: active hash mismatch", [Diagnostic.error(
            "POLC422", f"head pointer `{label}` names {active[:16]}… but that bundle holds {snapshot['hash'][:16]}…",
            hint="the bundle directory was renamed or damaged; rebuild with `polc build`")])
    return snapshot


def _input(code: str, message: str, hint: str) -> InputError:
    return InputError(message, [Diagnostic.error(code, message, hint=hint)])
