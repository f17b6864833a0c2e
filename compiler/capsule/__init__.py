"""The capsule: the second store of dual storage (docs/storage.md).

``compiler.capsule.uri`` names things (``mv2://`` URIs, the workspace name), ``compiler.capsule.store``
keeps snapshot objects and run event streams in SQLite, ``compiler.capsule.postgres`` in PostgreSQL.
This package stands on the standard library and the bundle package only: routers read ``mv2://``
URIs through it, and the storage commands (``compiler/storage``) write through it.
"""

from .store import DEFAULT_FILE, CapsuleStore, SqliteCapsule, open_capsule, read_snapshot_bytes
from .uri import SCHEME, check_stream, parse_uri, policy_uri, run_stream, workspace_name

__all__ = ["CapsuleStore", "DEFAULT_FILE", "SCHEME", "SqliteCapsule", "check_stream", "open_capsule", "parse_uri",
           "policy_uri", "read_snapshot_bytes", "run_stream", "workspace_name"]
