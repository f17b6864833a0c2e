"""The loaded ``Snapshot``: immutable policy content a router asks questions of.

Everything a question needs is computed once (capture rules and modes at load, a role's route
table on its first route) from deep-frozen data (frozen block by block, on first access), so a
``Snapshot`` can be shared by any number of threads without locks.
Variants (recorded gate results) are new ``Snapshot`` objects sharing the same frozen data.

Extending it: feature modules add methods that read ``self.data`` (the frozen snapshot) and
cache what they derive with ``self.derived(key, factory)`` (computed once, thread-safe).

>>> snap = Snapshot.from_data({"schema_version": "1.0", "hash": "0" * 64, "policy_id": "p",
...     "routing": {"cloud": {"judge": ["m1", "m2"]}, "reflex": {"enabled": False}},
...     "capture": {"mode": "none", "store_embeddings": False}, "budgets": {"tokens": {}, "cost": None},
...     "gates": {}}, env={})
>>> [c.model for c in snap.route("judge")]
['m1', 'm2']
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .errors import unknown_name
from .frozen import LazyFrozenMap, deep_freeze, thaw
from .modes import CaptureRules, RuntimeModes
from .routing import Candidate, RoleTable, role_table

_EMPTY = MappingProxyType({})


class Snapshot:
    """A verified PolicySnapshot. Attributes are read-only; the data is deep-frozen."""

    def __init__(self, data: LazyFrozenMap, *, modes: RuntimeModes, source: Path | None = None,
                 bundle_dir: Path | None = None, manifest: Mapping | None = None,
                 migrated_from: tuple[str, ...] = (), pinned: str | None = None,
                 gate_results: Mapping[str, bool] = _EMPTY, stored: Mapping[str, Any] | None = None,
                 tables: dict | None = None):
        put = object.__setattr__
        if not isinstance(data, LazyFrozenMap):  # any mapping of snapshot data: take a private copy
            data = LazyFrozenMap(thaw(data))
        put(self, "data", data)
        put(self, "stored", data if stored is None else stored)  # as on disk, before any migration
        put(self, "modes", modes)
        put(self, "source", source)
        put(self, "bundle_dir", bundle_dir)
        put(self, "manifest", manifest)
        put(self, "migrated_from", migrated_from)
        put(self, "pinned", pinned)
        put(self, "gate_results", MappingProxyType(dict(gate_results)))
        raw = data._raw  # private, never mutated: route tables are built from it, lazily, per role
        put(self, "capture", CaptureRules(raw["capture"]["mode"], bool(raw["capture"]["store_embeddings"])))
        put(self, "_routing", raw["routing"])
        put(self, "_tables", {} if tables is None else tables)
        put(self, "_routes", {})  # role -> route without context, for this variant's gate results
        reflex_gate = (raw["routing"].get("reflex") or {}).get("gate")
        put(self, "_reflex_gate", reflex_gate)
        put(self, "_reflex_passed", bool(reflex_gate and self.gate_results.get(reflex_gate)))
        put(self, "_derived", {})
        put(self, "_lock", threading.Lock())

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, env: Mapping[str, str] | None = None, **where) -> "Snapshot":
        """A Snapshot of already-verified snapshot data (``load_snapshot`` is the checked way in)."""
        stored = where.pop("stored", None)
        if where.get("manifest") is not None:
            where["manifest"] = deep_freeze(where["manifest"])
        return cls(LazyFrozenMap(data), modes=RuntimeModes.from_env(env),
                   stored=None if stored is None else LazyFrozenMap(stored), **where)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Snapshot is immutable; cannot set `{name}`")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Snapshot is immutable; cannot delete `{name}`")

    def __repr__(self) -> str:
        return f"<Snapshot {self.hash[:12]} schema {self.schema_version} roles={list(self.roles)}>"

    # -- identity -------------------------------------------------------------------------------

    @property
    def hash(self) -> str:
        return self.data["hash"]

    @property
    def policy_bundle_id(self) -> str:
        """The registry's handle of the bundle (docs/registry.md); equal to the content hash."""
        return self.data["hash"]

    @property
    def policy_id(self) -> str:
        return self.data["policy_id"]

    @property
    def schema_version(self) -> str:
        return self.data["schema_version"]

    @property
    def created_at(self) -> str | None:
        return self.data.get("created_at")

    @property
    def rollout_state(self) -> str:
        """The manifest's rollout state; a bundle without one counts as ``candidate`` (docs/registry.md)."""
        state = self.manifest.get("rollout_state") if self.manifest is not None else None
        return state if isinstance(state, str) else "candidate"

    def __getitem__(self, block: str) -> Any:
        """A block of the snapshot (``snap["budgets"]``), frozen."""
        return self.data[block]

    def get(self, block: str, default: Any = None) -> Any:
        return self.data.get(block, default)

    def to_dict(self) -> dict:
        """A plain, mutable copy of the snapshot data."""
        return thaw(self.data)

    def derived(self, key: str, factory: Callable[[], Any]) -> Any:
        """``factory()``, computed once per Snapshot and cached (for tables derived from the data)."""
        try:
            return self._derived[key]
        except KeyError:
            with self._lock:
                if key not in self._derived:
                    self._derived[key] = factory()
                return self._derived[key]

    # -- routing --------------------------------------------------------------------------------

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self._routing["cloud"])

    def route(self, role: str, context: Mapping[str, Any] | None = None, *,
              key: str | bytes | int | None = None) -> tuple[Candidate, ...]:
        """The ordered candidates for ``role``; see ``compiler.runtime.routing``.

        The reflex gate counts as passed when it was recorded with ``with_gate_results`` or is
        named in ``context["passed_gates"]`` (names, or gate results with ``.passed``).
        With ``key`` (a request or session id) and ``[weights.<role>]``, the weighted split picks
        the first cloud candidate by a stable hash of the key; see ``compiler.runtime.split``.
        In shadow mode the split is not applied (score only, never reorder).
        """
        if context is None and key is None:
            try:
                return self._routes[role]  # the hot path: one dict lookup
            except (KeyError, TypeError):
                pass
        return self._route(role, context, key)

    def _route(self, role: str, context: Mapping[str, Any] | None, key) -> tuple[Candidate, ...]:
        table = self._table(role)
        if context is None:
            candidates = self._routes.setdefault(role, table.gated if self._reflex_passed else table.plain)
        else:
            candidates = table.gated if self._reflex_passed or self._passed_in(context) else table.plain
        if key is None or self.modes.shadow:
            return candidates
        def build_split():  # once per role: the import stays off the per-request path
            from .split import split_table
            return split_table(role, self.data.get("weights", _EMPTY).get(role), self._routing["cloud"][role])

        split = self.derived(f"split:{role}", build_split)
        return candidates if split is None else split.route(candidates, key)

    def explain_route(self, role: str, context: Mapping[str, Any] | None = None, *,
                      key: str | bytes | int | None = None) -> dict:
        """The route with its reasons and notes, as JSON-ready data (for ``polc route --explain``)."""
        candidates = self.route(role, context, key=key)
        table: RoleTable = self._table(role)
        passed = self._reflex_passed or (context is not None and self._passed_in(context))
        notes = [table.reflex_note]
        if table.plain is not table.gated and not passed:
            notes.append(f"gate `{self._reflex_gate}` is not recorded as passed: the reflex model is not used")
        if self.modes.shadow:
            notes.append("shadow mode (POLICY_SHADOW_MODE=1): the policy's written order is kept")
        if self.modes.safe:
            notes.append("safe mode (POLICY_SAFE_MODE=1): deterministic, no stochastic tie-breaks")
        return {"role": role, "policy_hash": self.hash, "candidates": [c.to_json() for c in candidates],
                "notes": notes}

    def _table(self, role: str) -> RoleTable:
        """The role's table, built on first use (a 1 MB policy's thousands of roles cost nothing at load)."""
        table = self._tables.get(role)
        if table is None:
            if not isinstance(role, str) or role not in self._routing["cloud"]:
                raise unknown_name("role", str(role), self._routing["cloud"], "POLC720")
            table = self._tables.setdefault(role, role_table(role, self._routing, shadow=self.modes.shadow))
        return table

    def _passed_in(self, context: Mapping[str, Any]) -> bool:
        for item in context.get("passed_gates", ()):
            name = item if isinstance(item, str) else _result_name(item)
            if name == self._reflex_gate and (isinstance(item, str) or getattr(item, "passed", False)):
                return True
        return False

    def with_gate_results(self, results: Mapping[str, Any] | Iterable[Any]) -> "Snapshot":
        """A Snapshot sharing this data with gate outcomes recorded (``{"reflex_promotion": True}``,
        or ``GateResult``s from ``snap.gate(...).evaluate``); only a pass counts as passed."""
        if isinstance(results, Mapping):
            recorded = {name: _passed(value) for name, value in results.items()}
        else:
            recorded = {_result_name(r): bool(r.passed) for r in results}
        for name in recorded:
            if name not in self.data["gates"] and name != self._reflex_gate:
                raise unknown_name("gate", name, self.data["gates"], "POLC721")
        return self._variant(gate_results={**self.gate_results, **recorded})

    def with_modes(self, *, safe: bool | None = None, shadow: bool | None = None) -> "Snapshot":
        """A Snapshot sharing this data under other safe modes (tests, or a router's own switch)."""
        modes = RuntimeModes(self.modes.safe if safe is None else safe,
                             self.modes.shadow if shadow is None else shadow)
        return self._variant(modes=modes, tables=None if modes != self.modes else self._tables)

    def _variant(self, **changes: Any) -> "Snapshot":
        fields = {"modes": self.modes, "source": self.source, "bundle_dir": self.bundle_dir,
                  "manifest": self.manifest, "migrated_from": self.migrated_from, "pinned": self.pinned,
                  "gate_results": self.gate_results, "stored": self.stored, "tables": self._tables}
        return Snapshot(self.data, **{**fields, **changes})

    # -- model configuration and prompts: compiler.runtime.models and .prompts -------------------

    def model(self, name: str):
        """The ``ModelConfig`` of model ``name`` (``[model_config.default]`` stands in for others)."""
        block = self.data.get("model_config", _EMPTY)

        def lookup():  # imports on a miss only: a function-level import costs microseconds per call
            from .models import model_config
            return model_config(block, name)

        if name not in block:  # not cached: any number of unlisted names may be asked for
            return lookup()
        return self.derived(f"model:{name}", lookup)

    @property
    def scorecard(self) -> Mapping[str, Any]:
        """The optimizer's scorecard (metric → value): ``gate.evaluate(scorecard=snap.scorecard)``."""
        optimizer = self.data.get("optimizer")
        return optimizer.get("scorecard", _EMPTY) if isinstance(optimizer, Mapping) else _EMPTY

    def prompt(self, signature: str):
        """The compiled ``Prompt`` of ``signature``: ``snap.prompt("plan").render(**variables)``."""
        def compile_prompt():
            from .prompts import prompt_for
            return prompt_for(self.data.get("prompts", _EMPTY), signature)

        return self.derived(f"prompt:{signature}", compile_prompt)

    # -- budgets, gates, runs: their own modules ------------------------------------------------

    @property
    def surface(self):
        """The learning surface, ``snap.surface.transform(features)`` (docs/surfaces.md); None without one."""
        block = self.data.get("surface")
        if block is None:
            return None
        from .surface import Surface

        return self.derived("surface", lambda: Surface(block))

    @property
    def gates(self) -> Mapping[str, Mapping[str, Any]]:
        """Gate parameter tables from model_policy.toml, ``{gate: {param: value}}``."""
        return self.data["gates"]

    def gate(self, name: str):
        """The evaluable gate ``name``: ``snap.gate("reflex_promotion").evaluate(metrics)``."""
        from .gates import gate_for

        return self.derived(f"gate:{name}", lambda: gate_for(self, name))

    def budget_tracker(self, run_id: str | None = None, *, sink: Callable[[dict], None] | None = None,
                       observer: Callable | None = None):
        """A new ``BudgetTracker`` for one run, with this policy's token and cost budgets."""
        from .budgets import BudgetTracker

        return BudgetTracker.for_snapshot(self, run_id=run_id, sink=sink, observer=observer)

    def with_shadow(self, candidate: "Snapshot", *, sink: Callable[[dict], None] | None = None,
                    window: int = 10_000):
        """A ``ShadowRouter``: this snapshot answers; ``candidate`` is asked the same questions and
        its disagreements are recorded (compiler/runtime/shadow.py), never returned."""
        from .shadow import ShadowRouter

        return ShadowRouter(self, candidate, sink=sink, window=window)

    def start_run(self, run_id: str, workspace, **options):
        """Open a run attributed to this policy (docs/runtime.md "Runs and attribution")."""
        from .runs import Run

        return Run.start(self, run_id, workspace, **options)


def _result_name(result: Any) -> str | None:
    """The gate a result is for: ``GateResult.gate`` (compiler.rules), or ``.name``."""
    name = getattr(result, "gate", None)
    return name if isinstance(name, str) else getattr(result, "name", None)


def _passed(value: Any) -> bool:
    return bool(getattr(value, "passed", value)) if not isinstance(value, bool) else value
