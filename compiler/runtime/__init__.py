"""The polc runtime: load a compiled snapshot, verify it, and ask it questions.

    from compiler.runtime import load_snapshot
    snap = load_snapshot("artifacts/policy/policy.json")     # verifies every hash
    snap.route("architect")                                   # ordered Candidates, with reasons
    tracker = snap.budget_tracker(run_id="r1")                # token and cost budgets
    snap.gate("reflex_promotion").evaluate(metrics)           # pass/fail with the failing conditions
    run = snap.start_run("r1", workspace="runs/")             # attributed events, RECEIPT, REPLAY
    governing_snapshot("runs/", "r1")                         # the policy that governed r1
    watcher = SnapshotWatcher("artifacts/policy/policy.json") # hot reload, last known good
    watcher = RegistryWatcher("https://registry", "prod/-/router")  # follow a registry scope (polc serve)
    load_snapshot("oci://registry.internal/policies/router:prod")  # from an OCI registry (docs/oci.md)

Importing this package is cheap: standard library only (no lark, jsonschema, jinja2, numpy,
tomlkit or click); see docs/runtime.md.
"""

from __future__ import annotations

from ..errors import IntegrityError
from .errors import BudgetExceeded, BudgetUsageError, SnapshotVersionError, UnknownName
from .loader import load_snapshot
from .modes import CaptureRules, RuntimeModes
from .routing import Candidate
from .snapshot import Snapshot

#: Imported on first use (PEP 562): a router that never opens a run or a watcher does not pay
#: for their modules (tempfile, the event log).
_LAZY = {"SnapshotWatcher": "reload", "RegistryWatcher": "remote", "governing_snapshot": "trace",
         "trace_run": "trace", "load_oci_snapshot": "oci", "OciSnapshotWatcher": "oci"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'compiler.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

__all__ = ["BudgetExceeded", "BudgetUsageError", "CaptureRules", "Candidate", "IntegrityError",
           "OciSnapshotWatcher", "RegistryWatcher", "RuntimeModes", "Snapshot", "SnapshotVersionError",
           "SnapshotWatcher", "UnknownName", "governing_snapshot", "load_oci_snapshot", "load_snapshot", "trace_run"]
