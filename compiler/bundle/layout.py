"""What a bundle is made of: its file names, schema ids, states and size limits.

A bundle is the directory ``<out>/<hash>/`` (docs/architecture.md, "The bundle contract")::

    snapshot.json          the PolicySnapshot, canonical JSON; its content hash is the bundle's name
    policy.manifest.json   build metadata, canonical JSON, with its own sha256 (not part of the hash)
    policy.surface.yaml    the normalized learning surface, when the policy has one
    policy.weights.bin     raw little-endian weights, when the policy has them (never pickle)
    delta_log.jsonl        the one oplus delta row that produced this bundle, when one did

and ``<out>/policy.json`` is the head pointer naming the active bundle.

>>> sorted(BUNDLE_FILES)[:2]
['delta_log.jsonl', 'policy.manifest.json']
"""

from __future__ import annotations

SNAPSHOT_FILE = "snapshot.json"
MANIFEST_FILE = "policy.manifest.json"
SURFACE_FILE = "policy.surface.yaml"
WEIGHTS_FILE = "policy.weights.bin"
DELTA_LOG_FILE = "delta_log.jsonl"
HEAD_FILE = "policy.json"
#: Held (flock) by every writer that moves a head pointer: build, delta, restore, migrate, backfill, pull.
LOCK_FILE = ".polc-storage.lock"

#: Every file a bundle directory may hold; anything else in it is refused.
BUNDLE_FILES = frozenset({SNAPSHOT_FILE, MANIFEST_FILE, SURFACE_FILE, WEIGHTS_FILE, DELTA_LOG_FILE})

HEAD_SCHEMA_VERSION = "polc_head@v1"
MANIFEST_SCHEMA_VERSION = "policy_manifest@v2"
#: The legacy single-file policy (a v1 ``policy.json`` with ``policy_hash`` and ``weights_file``).
LEGACY_MANIFEST_SCHEMA_VERSION = "policy_manifest@v1"

#: Where a bundle can stand in one scope (docs/registry.md, "Rollout states").
ROLLOUT_STATES = ("candidate", "staged", "shadow", "promoted", "rolled_back", "retired")

#: A snapshot of 20,000 roles is a few MB; refuse to read a bundle file far beyond anything polc writes.
MAX_FILE_BYTES = 1 << 30
#: JSON files of a bundle (snapshot, manifest, head) are refused above this size before parsing.
MAX_JSON_BYTES = 256 * 1024 * 1024
#: The head pointer is a few hundred bytes.
MAX_HEAD_BYTES = 1 << 16
#: Deeper JSON than any polc writes is refused before it can exhaust the parser's recursion.
MAX_JSON_DEPTH = 200
