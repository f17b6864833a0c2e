"""The head pointer ``<out>/policy.json``: which bundle of an out dir is active.

It is canonical JSON with exactly four members and is rewritten only under the storage lock,
atomically, and only when it changes::

    {"active": "<hash>", "manifest_sha256": "<the active bundle's manifest sha256>",
     "policy_id": "<uuid of the hash>", "schema_version": "polc_head@v1"}

``open_head`` verifies the pointer, then its bundle, then that they name each other.

>>> import tempfile, pathlib
>>> from compiler.bundle import make_bundle, write_bundle
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> b = make_bundle({"schema_version": "1.0", "routing": {}}, created_at="2026-01-01T00:00:00Z")
>>> _ = write_bundle(out, b); point_head(out, b)
True
>>> open_head(out).hash == b.hash, read_head(out).active == b.hash
(True, True)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..canonical import canonical_json
from ..fsutil import atomic_write_bytes
from .errors import REBUILD, integrity, mismatch, unreadable
from .identity import is_full_hash, policy_id_for
from ..fsutil import FileTooLarge, NotARegularFile, read_regular_file
from .jsonio import parse_written, check_canonical
from .layout import HEAD_FILE, HEAD_SCHEMA_VERSION, LEGACY_MANIFEST_SCHEMA_VERSION, MAX_HEAD_BYTES
from .model import Bundle, Head

_HEAD_KEYS = {"schema_version", "active", "policy_id", "manifest_sha256"}


def head_path(target: str | os.PathLike) -> Path:
    """``<out>/policy.json`` for an out dir, or ``target`` itself when it names the file."""
    target = Path(target)
    return target if target.name == HEAD_FILE and not target.is_dir() else target / HEAD_FILE


def read_head(target: str | os.PathLike) -> Head | None:
    """The verified head pointer of an out dir (or at a ``policy.json`` path); None if there is none.

    A damaged pointer is an IntegrityError (POLC710); a legacy v1 ``policy.json`` is an
    InputError (POLC711) that says how to migrate it.
    """
    path = head_path(target)
    try:
        raw = read_regular_file(path, MAX_HEAD_BYTES)
    except FileNotFoundError:
        return None
    except (NotARegularFile, FileTooLarge) as exc:
        what = f"is {exc.kind}" if isinstance(exc, NotARegularFile) else f"is {exc.size:,} bytes"
        raise integrity("POLC710", f"`{path}` {what}: it is not a polc head pointer", REBUILD, str(path)) from None
    except OSError as exc:
        raise unreadable("POLC700", f"`{path}` cannot be read: {exc.strerror or exc}",
                         "check the file's permissions", str(path)) from None
    value = parse_written(raw, str(path), "head pointer", "POLC710")
    _refuse_legacy(value, path)
    check_canonical(raw, value, str(path), "POLC710")
    if (value.get("schema_version") != HEAD_SCHEMA_VERSION or set(value) != _HEAD_KEYS
            or not all(isinstance(value[k], str) for k in _HEAD_KEYS) or not is_full_hash(value["active"])):
        raise integrity("POLC710", f"`{path}` is not a polc head pointer (expected schema_version "
                                   f"`{HEAD_SCHEMA_VERSION}`, a 64-hex `active`, `policy_id` and `manifest_sha256`)",
                        REBUILD, str(path))
    if value["policy_id"] != policy_id_for(value["active"]):
        raise integrity("POLC710", f"`{path}` names bundle {value['active']} with policy_id {value['policy_id']}, "
                                   f"but that bundle's policy_id is {policy_id_for(value['active'])}",
                        "the pointer was edited after polc wrote it; " + REBUILD, str(path))
    return Head(path, value["active"], value["policy_id"], value["manifest_sha256"], raw)


def _refuse_legacy(value: dict, path: Path) -> None:
    # The oldest v1 files have no schema_version, some no policy_hash; all name their weights.
    if ("policy_hash" in value or "weights_file" in value
            or value.get("schema_version") == LEGACY_MANIFEST_SCHEMA_VERSION):
        raise unreadable("POLC711", f"`{path}` is a legacy v1 policy.json (policy_manifest@v1), not a polc head "
                                    "pointer", legacy_hint(path.parent), str(path))


def legacy_hint(out_dir: Path) -> str:
    """How to turn a legacy v1 head into a polc bundle (docs/storage.md, "Migrations")."""
    return (f"migrate it: build the current policy into another out dir (`polc build --out DIR`), then "
            f"`polc migrate --source {out_dir} --policy DIR` writes a bundle of that policy holding the legacy "
            f"weights, and `polc backfill --policy-root {out_dir} --apply` points the head at it")


def open_head(target: str | os.PathLike) -> Bundle:
    """The verified active bundle of an out dir (or of a head pointer path)."""
    path = head_path(target)
    head = read_head(path)
    if head is None:
        raise unreadable("POLC700", f"`{path}` does not exist: there is no active bundle",
                         "run `polc build` (or `polc pull --set-head`, `polc restore`) first", str(path))
    return bundle_of(head)


def bundle_of(head: Head) -> Bundle:
    """The bundle ``head`` names, verified and cross-checked against the pointer."""
    from .disk import open_bundle

    directory = head.out_dir / head.active
    if not directory.is_dir():
        raise integrity("POLC706", f"head pointer `{head.path}` names bundle {head.active}, which is not in "
                                   f"`{head.out_dir}`", "the bundle was deleted or never copied: " + REBUILD,
                        str(head.path))
    bundle = open_bundle(directory)
    if bundle.manifest_sha256 != head.manifest_sha256:
        raise mismatch("POLC706", str(head.path), "manifest_sha256 (of the bundle it names)", bundle.manifest_sha256,
                       head.manifest_sha256)
    return bundle


def head_bytes(bundle: Bundle) -> bytes:
    return canonical_json({"schema_version": HEAD_SCHEMA_VERSION, "active": bundle.hash,
                           "policy_id": bundle.policy_id, "manifest_sha256": bundle.manifest_sha256})


def point_head(out_dir: str | os.PathLike, bundle: Bundle) -> bool:
    """Make ``bundle`` the active one of ``out_dir`` (atomic; nothing written when unchanged).

    Returns whether the pointer changed. Callers hold ``storage_lock(out_dir)`` around the
    decision and this call, so two writers cannot interleave.
    """
    from .disk import storage_lock

    path = Path(out_dir) / HEAD_FILE
    data = head_bytes(bundle)
    with storage_lock(out_dir):
        try:
            if read_regular_file(path, MAX_HEAD_BYTES) == data:
                return False
        except OSError:
            pass
        atomic_write_bytes(path, data)
    return True
