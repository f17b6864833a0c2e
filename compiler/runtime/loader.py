"""``load_snapshot``: find a compiled snapshot, verify it through the bundle package, migrate it,
and freeze it.

What can be loaded (``target``):

* the head pointer ``<out>/policy.json`` (or the out dir holding it): the active bundle;
* a bundle directory ``<out>/<hash>/``, or the ``snapshot.json`` inside one;
* a loose ``snapshot.json`` (no bundle around it): its content hash is verified;
* a ``policy_bundle_id`` (the full content hash, a unique prefix of at least 4 hex digits,
  or the bundle's policy_id UUID), resolved under the out dir ``root``: a pin. Pinning only
  selects a bundle; nothing on disk is touched;
* ``mv2://<workspace>/policy/<policy_id>``: the snapshot stored in the project's capsule.

Every check is the bundle package's (``compiler.bundle``, docs/architecture.md): a router
refuses exactly the bundles ``polc show``, ``polc diff`` and the registry refuse, with the same
codes. Any mismatch raises ``IntegrityError`` (exit 4) naming the file, the expected and the
actual value. A bundle whose manifest asks for another runner version, or for features the
runner does not provide, is refused with ``IncompatibleBundle`` (POLC742/POLC743, exit 3;
``compiler.runtime.compat``).

>>> import tempfile; load_snapshot(tempfile.mkdtemp())
Traceback (most recent call last):
  ...
compiler.errors.InputError: ... holds no snapshot.json, policy.json or bundle directories
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from ..bundle import (HEAD_FILE, MANIFEST_FILE, REBUILD, SNAPSHOT_FILE, Bundle, find_bundle, open_bundle, open_head,
                      verify_snapshot_bytes)
from ..bundle.jsonio import read_named_file
from ..bundle.layout import MAX_JSON_BYTES
from ..errors import UsageError
from .errors import input_error
from .migrations import migrate
from .resolve import out_dir_for
from .snapshot import Snapshot

_TARGETS = ("pass the head pointer (<out>/policy.json), a bundle directory, a snapshot.json "
            "or a policy_bundle_id")


def load_snapshot(target: str | os.PathLike, *, root: str | os.PathLike | None = None,
                  env: Mapping[str, str] | None = None, features=None,
                  check_compatibility: bool = True) -> Snapshot:
    """The verified, immutable ``Snapshot`` at ``target`` (see the module docstring).

    ``root`` is the out dir (or the project dir) a bundle id is resolved under; ``env`` replaces
    ``os.environ`` when reading the safe modes (``POLICY_SAFE_MODE``, ``POLICY_SHADOW_MODE``).
    ``features`` are the features the router provides beyond the runtime's own (default:
    ``POLC_RUNNER_FEATURES``); ``check_compatibility=False`` skips the runner check (for tools
    that inspect a bundle rather than serve it).
    """
    snap = _load(target, root, env)
    if check_compatibility and snap.manifest is not None:  # a loose snapshot has no manifest to check
        from .compat import check_runner

        check_runner(snap.manifest.get("compatibility") or {}, snap.hash, features)
    return snap


def _load(target, root, env) -> Snapshot:
    if isinstance(target, str) and target.startswith(("http://", "https://")):  # a registry server (docs/registry.md)
        from .remote import load_remote

        return load_remote(target, env=env)
    if isinstance(target, str) and target.startswith("oci://"):  # a registry: root is the blob cache (docs/oci.md)
        from .oci import load_oci_snapshot

        return load_oci_snapshot(target, cache_dir=root, env=env)
    if isinstance(target, str) and target.startswith("mv2://"):  # dual storage: a capsule URI (docs/storage.md)
        return _load_capsule(target, env)
    if not isinstance(target, (str, os.PathLike)):
        raise input_error("POLC700", f"load_snapshot() needs a path or a policy_bundle_id, got a "
                                     f"{type(target).__name__}", "pass a str or a pathlib.Path", UsageError)
    path = Path(target)
    if not path.exists() and _looks_like_id(str(target)):
        bundle = open_bundle(find_bundle(str(target), out_dir_for(root)))
        return _finish(bundle.snapshot, env, source=bundle.path, bundle=bundle, pinned=str(target))
    if path.is_dir():
        if (path / SNAPSHOT_FILE).exists() or (path / MANIFEST_FILE).exists():
            return _from_bundle(open_bundle(path), env, source=path)
        if (path / HEAD_FILE).exists():
            return _from_bundle(open_head(path), env, source=path / HEAD_FILE)
        raise input_error("POLC700", f"`{path}` holds no snapshot.json, policy.json or bundle directories",
                          _TARGETS)
    if path.name == HEAD_FILE and path.exists():
        return _from_bundle(open_head(path), env, source=path)
    if not path.exists():
        raise input_error("POLC700", f"`{path}` does not exist", _TARGETS)
    if path.name == SNAPSHOT_FILE and (path.parent / MANIFEST_FILE).exists():
        return _from_bundle(open_bundle(path.parent), env, source=path.parent)
    raw = read_named_file(path, MAX_JSON_BYTES, "PolicySnapshot", REBUILD)
    return _finish(verify_snapshot_bytes(raw, str(path)), env, source=path, bundle=None, pinned=None)


def _looks_like_id(text: str) -> bool:
    bare = text.replace("-", "")
    return 1 <= len(bare) <= 64 and all(ch in "0123456789abcdef" for ch in bare.lower()) and "/" not in text


def _from_bundle(bundle: Bundle, env, *, source: Path) -> Snapshot:
    return _finish(bundle.snapshot, env, source=source, bundle=bundle, pinned=None)


def _load_capsule(uri: str, env) -> Snapshot:
    """The snapshot stored under ``mv2://<workspace>/policy/<policy_id>`` in the capsule."""
    from ..capsule import read_snapshot_bytes
    from .resolve import default_capsule_path

    data = verify_snapshot_bytes(read_snapshot_bytes(uri, default_capsule_path()), uri, in_bundle=True)
    return _finish(data, env, source=Path(uri), bundle=None, pinned=None)


def load_snapshot_bytes(raw: bytes, where: str, *, env: Mapping[str, str] | None = None) -> Snapshot:
    """The verified ``Snapshot`` of snapshot.json bytes read from elsewhere (a capsule object)."""
    return _finish(verify_snapshot_bytes(raw, where, in_bundle=True), env, source=Path(where), bundle=None,
                   pinned=None)


def _finish(data: dict, env, *, source: Path, bundle: Bundle | None, pinned: str | None) -> Snapshot:
    migrated, chain = migrate(data)
    return Snapshot.from_data(migrated, env=env, source=source, bundle_dir=bundle.path if bundle else None,
                              manifest=bundle.manifest if bundle else None, migrated_from=chain, pinned=pinned,
                              stored=data if chain else None)
