"""The workspace of runs: captured policy snapshots and run directories (docs/runtime.md "Runs and attribution").

Layout::

    <workspace>/policies/snapshot-<policy_id>.json   the snapshot's bytes, as the bundle holds them
    <workspace>/runs/<run_id>/events.jsonl           append-only run events
    <workspace>/runs/<run_id>/RECEIPT.json           the run's receipt (policy_bundle_id), atomic
    <workspace>/runs/<run_id>/REPLAY.jsonl           replay header (policy_bundle_id) + records

A policy is referenced by the URI ``mv2://<workspace name>/policy/<policy_id>`` (the capsule's
URI, parsed by ``compiler.capsule.uri``); ``snapshot_path`` maps it back to the captured file. The
workspace name is the project's (``compiler.capsule.uri.workspace_name``: ``[storage].workspace``, else
``[project].name``), the same name ``polc build`` stores capsule objects under, so a run's
``policy_uri`` loads from the capsule; outside any project it is the directory's name.

>>> ws = Workspace("/tmp/ws")
>>> ws.policy_uri("d9327e78-5257-5915-8518-7e6c2d608f17")
'mv2://ws/policy/d9327e78-5257-5915-8518-7e6c2d608f17'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..canonical import canonical_json
from ..capsule.uri import parse_uri, policy_uri, run_stream, safe_name, workspace_name
from ..errors import UsageError
from ..fsutil import atomic_write_bytes
from .errors import input_error, integrity_error
from .frozen import thaw
from ..bundle import snapshot_hash

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_POLICY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
#: Captured snapshot files verified in this process: path -> ((inode, size, mtime), hash).
_VERIFIED: dict[str, tuple] = {}


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise input_error("POLC751", f"run id {run_id!r} is not valid",
                          "use 1-128 letters, digits, `.`, `_` or `-`, starting with a letter or digit",
                          UsageError)
    return run_id


class Workspace:
    """Where runs and captured snapshots live. ``capsule``: any store with ``put(uri, bytes)``
    (e.g. ``compiler.capsule.SqliteCapsule``) that also receives every captured snapshot (dual
    storage: the same bytes in both places)."""

    def __init__(self, root: str | os.PathLike, *, name: str | None = None, capsule=None, project=None):
        from .resolve import project_settings_near

        self.root = Path(root)
        self.capsule = capsule
        self.project = project if project is not None else project_settings_near(self.root)
        if name is not None:
            self.name = safe_name(name)  # a URI host: no slashes or spaces
        elif self.project is not None:
            self.name = self.project.workspace
        else:
            self.name = workspace_name({}, self.root)

    def stream(self, run_id: str) -> str:
        """The capsule event stream of a run: ``mv2://<workspace name>/runs/<run_id>``."""
        return run_stream(self.name, check_run_id(run_id))

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / check_run_id(run_id)

    def policy_uri(self, policy_id: str) -> str:
        return policy_uri(self.name, policy_id)

    def snapshot_path(self, policy_id: str) -> Path:
        return self.root / "policies" / f"snapshot-{policy_id}.json"

    def path_of_uri(self, uri: str) -> Path:
        from ..errors import InputError

        try:
            _, policy_id = parse_uri(uri)
        except InputError:
            policy_id = ""
        if not _POLICY_ID.match(policy_id):
            raise input_error("POLC753", f"policy_uri {uri!r} is not of the form mv2://<workspace>/policy/<id>",
                              "the event log was edited or damaged")
        return self.snapshot_path(policy_id)

    def capture(self, snap) -> str:
        """Store the snapshot's bytes (once per policy_id) and return its policy_uri."""
        path = self.snapshot_path(snap.policy_id)
        if path.exists():
            self._check_existing(path, snap.hash)
            data = path.read_bytes() if self.capsule is not None else None  # first capture wins
        else:
            data = canonical_json(thaw(snap.stored))
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        uri = self.policy_uri(snap.policy_id)
        if self.capsule is not None:
            self.capsule.put(uri, data)
        return uri

    @staticmethod
    def _check_existing(path: Path, expected_hash: str) -> None:
        # Same policy_id means same content; only created_at may differ. First capture wins.
        # A file already verified and unchanged since (same inode, size and mtime) is not re-read:
        # a router starting many runs under one policy pays for the check once.
        import json

        try:
            st = os.stat(path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if _VERIFIED.get(str(path)) == (stamp, expected_hash):
                return
            stored = json.loads(path.read_bytes())
            ok = stored.get("hash") == expected_hash == snapshot_hash(stored)
        except (OSError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise integrity_error("POLC754", f"captured snapshot `{path}` does not hash to {expected_hash}",
                                  "the workspace copy was edited or damaged; move it aside and rerun")
        _VERIFIED[str(path)] = (stamp, expected_hash)
