"""Snapshot schema migrations: read a snapshot written by an older compiler as today's schema.

``MIGRATIONS`` maps a schema version to ``(next_version, function)``; ``migrate`` applies them
in a chain until the snapshot is at ``CURRENT_SCHEMA_VERSION``. Rules:

* the content hash is verified on the bytes as stored, *before* migrating, so a migration
  never changes a snapshot's identity (``hash``, ``policy_id`` stay those of the stored file);
* a snapshot of a newer minor version with the same major (``1.x``) is read as is: minor
  versions only add blocks, and the runtime ignores blocks it does not know;
* a newer major version (``2.0``) is refused: its meaning may have changed;
* an older version with no registered migration is refused, naming the versions that can be read.

The only historical schema is a synthetic ``0.9`` (documented in docs/runtime.md), kept so the
chain is exercised by tests. It differs from 1.0 in three places:

    0.9                                        1.0
    "capture": "prompts_only"                  "capture": {"mode": "prompts_only", "store_embeddings": false}
    "budgets": {"tokens": {...},               "budgets": {"tokens": {...},
                "cost_warn": 5, "cost_limit": 25}          "cost": {"warn_threshold": 5, "hard_limit": 25, "currency": "USD"}}
    "routing.reflex" without roles/gate        "roles": null, "gate": "reflex_promotion"

The ``rules`` block carries its own format and is not migrated here: a block of format
``polc_rules@v1`` (expressions as source text, written before the expression IR) is upgraded to
``polc_rules@v2`` one gate or drift rule at a time, the first time it is used, by
compiler/rules/legacy.py (the only time a router imports the compiler front end). Doing it here
would make ``compiler.rules`` import this package, which imports ``compiler.rules`` for
``snap.gate``: an import cycle. The change needs no new schema version: it is confined to that
block, which names its format, and it is additive (docs/runtime.md, "Schema versions").

>>> old = {"schema_version": "0.9", "capture": "full_io", "budgets": {"tokens": {}, "cost_limit": 3},
...        "routing": {"cloud": {"judge": ["m"]}, "reflex": {"enabled": False}}}
>>> new, chain = migrate(old)
>>> new["capture"], new["budgets"]["cost"]["hard_limit"], chain
({'mode': 'full_io', 'store_embeddings': False}, 3, ('0.9',))
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import SnapshotVersionError, input_error

CURRENT_SCHEMA_VERSION = "1.0"
CURRENT_MAJOR = 1

Migration = Callable[[dict], dict]


def _from_0_9(snap: dict) -> dict:
    out = dict(snap)
    capture = snap.get("capture", "none")
    out["capture"] = {"mode": capture, "store_embeddings": bool(snap.get("store_embeddings", False))}
    out.pop("store_embeddings", None)
    budgets = dict(snap.get("budgets", {}))
    limit, warn = budgets.pop("cost_limit", None), budgets.pop("cost_warn", None)
    budgets.setdefault("tokens", {})
    budgets["cost"] = None if limit is None else {"warn_threshold": warn, "hard_limit": limit, "currency": "USD"}
    out["budgets"] = budgets
    routing = dict(snap.get("routing", {}))
    routing["reflex"] = {"endpoint": None, "model": None, "roles": None, "gate": "reflex_promotion",
                         **routing.get("reflex", {})}
    routing.setdefault("fallback", {})
    routing.setdefault("stages", {})
    out["routing"] = routing
    for block in ("gates", "model_config", "weights", "prompts"):
        out.setdefault(block, {})
    out["schema_version"] = "1.0"
    return out


#: version -> (the version it migrates to, the function). Add one entry per schema change.
MIGRATIONS: dict[str, tuple[str, Migration]] = {
    "0.9": ("1.0", _from_0_9),
}


def parse_version(text: Any) -> tuple[int, int]:
    """``"1.0"`` -> ``(1, 0)``; anything else is refused with the reason."""
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise input_error("POLC709", f"snapshot schema_version {text!r} is not of the form MAJOR.MINOR",
                          "the snapshot is damaged or was not written by polc; rebuild it with `polc build`",
                          SnapshotVersionError)
    return int(parts[0]), int(parts[1])


def migrate(snap: dict) -> tuple[dict, tuple[str, ...]]:
    """The snapshot at the current schema, and the versions it was migrated from (oldest first)."""
    chain: list[str] = []
    version = snap.get("schema_version")
    while True:
        major, _minor = parse_version(version)
        if major == CURRENT_MAJOR:
            return snap, tuple(chain)
        if major > CURRENT_MAJOR:
            raise input_error(
                "POLC709", f"snapshot schema_version {version} is newer than this runtime reads "
                           f"(major version {CURRENT_MAJOR})",
                "upgrade polc on this router, or build the policy with the polc version this router runs",
                SnapshotVersionError)
        step = MIGRATIONS.get(version)
        if step is None:
            readable = ", ".join(sorted(MIGRATIONS)) + f", {CURRENT_MAJOR}.x"
            raise input_error("POLC709", f"snapshot schema_version {version} has no migration; "
                                         f"this runtime reads {readable}",
                              "rebuild the policy from its sources with this polc version",
                              SnapshotVersionError)
        chain.append(version)
        version, function = step
        snap = function(snap)
        if snap.get("schema_version") != version:  # a migration must say where it lands
            raise RuntimeError(f"migration from {chain[-1]} did not produce schema_version {version}")
