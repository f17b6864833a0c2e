"""Manifest migrations, one module per step, each with ``up`` and ``down`` (docs/storage.md "Migrations").

| step | module | from | to |
| --- | --- | --- | --- |
| 1 | ``v1_to_v2`` | ``policy_manifest@v1`` (legacy single-file ``policy.json`` + weights) | ``policy_manifest@v2`` (polc bundle) |

``STEPS`` maps a source schema version to its step; ``compiler.storage.migrate`` runs them.
"""

from __future__ import annotations

from . import v1_to_v2

STEPS = {v1_to_v2.FROM: v1_to_v2}
