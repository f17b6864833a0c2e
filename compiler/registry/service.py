"""The registry's operations: publish, transition, promote, rollback (each one write transaction).

Every state change appends hash-chained events in the same transaction as the change itself,
so the log and the state tables can never disagree after a crash. Reads are in ``reads.py``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .audit import seal
from .bundles import open_bundle_ref
from .canon import canonical_bytes, json_hash, sha256_hex, utc_now
from .config import RegistryConfig
from .contracts import require, respond
from .errors import RegistryError
from .lifecycle import REGISTRY_STATE, state_or_default
from .reads import RegistryReader, as_scope, unknown_scope
from .receipts import check_receipt, load_public_key
from .scope import Scope
from .store import Store

#: ``expect_active`` not given: promote without compare-and-set.
UNSET: Any = object()


class Registry(RegistryReader):
    """The Python API (``compiler.registry.open_registry`` makes one).

    >>> import tempfile, pathlib
    >>> reg = open_registry(pathlib.Path(tempfile.mkdtemp()) / "r.db")     # doctest: +SKIP
    >>> reg.resolve({"environment": "prod", "policy_name": "router"})       # doctest: +SKIP
    """

    def __init__(self, store: Store, config: RegistryConfig | None = None):
        super().__init__(store, config or RegistryConfig())

    # --- publish -----------------------------------------------------------------------------
    def publish(self, bundle: str, receipt: dict, *, provenance: dict | None = None, submitted_by: str,
                bundle_version: str | None = None, policy_name: str | None = None,
                more_receipts: tuple | list = (), uri: str | None = None, role: str | None = None) -> dict:
        """Register a bundle with its PASS gate receipt(s); a PublishBundleResponse.

        ``submitted_at_utc`` is the registry's clock. ``more_receipts`` are receipts of further gates
        (the policy's promotion gates, say); ``uri`` is where the bundle is served (default: its
        directory as a file URI).
        """
        request = {"bundle_ref": str(bundle), "gate_receipt": receipt, "provenance": provenance or {},
                   "submitted_by": submitted_by, "bundle_version": bundle_version, "policy_name": policy_name}
        if more_receipts:
            request["more_receipts"] = list(more_receipts)
        require(request, "PublishBundleRequest")
        policy = policy_name or self.config.default_policy
        role = self._pick_role(submitted_by, role, self.config.lifecycle.operation_roles["publish"], "publish",
                               policy, None, default="submitter")
        info = open_bundle_ref(request["bundle_ref"], self.config.out_dir)
        checks = self._check_receipts([receipt, *more_receipts], info.hash, policy)
        version = bundle_version or info.version or info.hash[:12]
        ref = {"bundle_id": info.hash, "bundle_version": version, "policy_name": policy,
               "digest": {"sha256": info.hash}, "snapshot_sha256": sha256_hex(info.snapshot_bytes),
               "manifest_sha256": info.manifest_sha256, "uri": uri or info.path.resolve().as_uri(),
               "compatibility": dict(info.compatibility)}
        record = {"ref": ref, "gate_receipt": receipt, "receipt_check": checks[0],
                  "provenance": request["provenance"], "submitted_by": submitted_by, "submitted_at_utc": utc_now()}
        if more_receipts:
            record["more_receipts"] = [{"gate_receipt": r, "receipt_check": c} for r, c in zip(more_receipts, checks[1:])]
        require(record, "BundleRecord")
        with self.store.write() as s:
            return self._register(s, record, role, explicit={"bundle_version": bundle_version, "policy_name": policy_name})

    def _check_receipts(self, receipts: list, bundle_id: str, policy: str) -> list[dict]:
        """Every receipt checked (PASS, this bundle, a trusted signature); the set of gates must be
        the ones the policy requires: every publish gate present, no gate it does not require."""
        trusted = [load_public_key(p) for p in self.config.trusted_keys]
        checks = [check_receipt(r, bundle_id, trusted) for r in receipts]
        gates = self.config.gates_for(policy)
        if not gates.any:
            return checks
        unexpected = sorted({c["gate"] for c in checks} - set(gates.any))
        if unexpected:
            raise RegistryError("GATE_NOT_PASS", "POLC636", f"policy `{policy}` does not require gate "
                                f"`{unexpected[0]}`; its receipt does not admit a bundle",
                                hint=f"required gates: {', '.join(gates.any)}",
                                details={"unexpected": unexpected, "required": list(gates.any)})
        missing = [g for g in gates.publish if g not in {c["gate"] for c in checks}]
        if missing:
            raise RegistryError("GATE_NOT_PASS", "POLC638", f"policy `{policy}` requires a PASS receipt of gate "
                                f"`{missing[0]}` before publish", hint="run `polc gate run` for it and pass its "
                                "receipt too (--receipt is repeatable)", details={"missing": missing})
        return checks

    def _register(self, s: Store, record: dict, role: str, explicit: dict) -> dict:
        ref = record["ref"]
        existing = s.bundle(ref["bundle_id"])
        if existing:
            stored = json.loads(existing[0])
            for field, value in explicit.items():
                if value is not None and stored["ref"][field] != value:
                    raise RegistryError("CONFLICT", "POLC618", f"bundle {ref['bundle_id'][:12]} is already registered "
                                        f"with {field} `{stored['ref'][field]}`, not `{value}`",
                                        hint="a bundle's version and policy are fixed when it is first published; "
                                             "publish without the option to get the existing record",
                                        details={field: stored["ref"][field]})
            event = self._event_at(s, existing[2])
            return {"bundle_id": ref["bundle_id"], "bundle_version": stored["ref"]["bundle_version"],
                    "status": "DUPLICATE", "record": stored, "event": event}
        holder = s.bundle_by_version(ref["policy_name"], ref["bundle_version"])
        if holder:
            raise RegistryError("CONFLICT", "POLC613", f"version {ref['bundle_version']} of policy "
                                f"`{ref['policy_name']}` is already bundle {holder}, not {ref['bundle_id']}",
                                hint="a correction is a new version: set [project] version or pass --bundle-version",
                                details={"existing_bundle_id": holder})
        record_hash = json_hash(record)
        actor = {"name": record["submitted_by"], "role": role}
        event = self._emit(s, str(uuid.uuid4()), ref, None, "bundle_registered", None, "candidate", actor,
                           "published", {"record_hash": record_hash, "gate": record["receipt_check"]["gate"]})
        s.insert_bundle(ref["bundle_id"], ref["bundle_version"], ref["policy_name"],
                        canonical_bytes(record).decode(), record_hash, event["seq"])
        return {"bundle_id": ref["bundle_id"], "bundle_version": ref["bundle_version"], "status": "ACCEPTED",
                "record": record, "event": event}

    # --- transitions -------------------------------------------------------------------------
    def transition(self, bundle_id: str, scope, to_state: str, *, actor: str, role: str | None,
                   reason: str = "") -> dict:
        """Move a bundle to ``to_state`` in a scope; a TransitionResponse (changed=False: already there).

        ``role`` None: the first role the transition allows that ``actor`` holds (server grants).
        """
        scope = as_scope(scope, checked_by_request=True)
        require({"bundle_id": bundle_id, "scope": scope.to_json(), "to_state": to_state,
                 "actor": _claim(actor, role), "reason": reason}, "TransitionRequest")
        if to_state == "promoted":
            return self._as_transition(self.promote(bundle_id, scope, actor=actor, role=role, reason=reason), "promoted")
        with self.store.write() as s:
            ref = self._ref_for_scope(s, bundle_id, scope)
            current, exists = self._state(s, scope, bundle_id)
            if current == to_state:
                return self._transition_response(bundle_id, scope, current, to_state, [], changed=False)
            if current == "promoted" and to_state != "rolled_back":
                # Leaving `promoted` any other way would leave the scope with nothing live.
                raise RegistryError("CONFLICT", "POLC630", f"bundle {bundle_id[:12]} is the promoted bundle of "
                                    f"{scope}; it leaves `promoted` only when another is promoted or by rollback",
                                    hint="promote another bundle, or `polc registry rollback`",
                                    details={"from": current, "to": to_state, "allowed": ["rolled_back"]})
            if current != "promoted":
                role = self._check_transition(current, to_state, actor, role, scope)
                event_type = "bundle_retired" if to_state == "retired" else "state_changed"
                event = self._emit(s, str(uuid.uuid4()), ref, scope, event_type, current, to_state,
                                   {"name": actor, "role": role}, reason)
                s.set_state(scope.key, bundle_id, to_state, event["seq"], exists)
                return self._transition_response(bundle_id, scope, current, to_state, [event])
        # Rolling back the promoted bundle is the rollback operation: it also restores the previous one.
        return self._as_transition(self.rollback(scope, actor=actor, role=role, reason=reason or "rolled back",
                                                 expect_active=bundle_id), "rolled_back")

    def promote(self, bundle_id: str, scope, *, actor: str, role: str | None, reason: str = "",
                expect_active=UNSET) -> dict:
        """Make a bundle the scope's promoted one; the previous one goes to shadow. A PromoteResponse.

        ``expect_active`` (a bundle id, or None for "no bundle is promoted") makes it a
        compare-and-set: refused as a CONFLICT if the scope's promoted bundle is not that.
        """
        scope = as_scope(scope, checked_by_request=True)
        request = {"bundle_id": bundle_id, "scope": scope.to_json(), "actor": _claim(actor, role), "reason": reason}
        if expect_active is not UNSET:
            request["expect_active"] = expect_active
        require(request, "PromoteRequest")
        with self.store.write() as s:
            ref = self._ref_for_scope(s, bundle_id, scope)
            current, exists = self._state(s, scope, bundle_id)
            active = s.promoted(scope.key)
            if current == "promoted":  # repeating a done promotion is a no-op, whatever was expected
                return self._promote_response(bundle_id, scope, bundle_id, [], ref, [], changed=False)
            if expect_active is not UNSET and (active[0] if active else None) != expect_active:
                raise RegistryError("CONFLICT", "POLC632", f"scope {scope} has {active[0] if active else 'no'} "
                                    f"promoted bundle, not {expect_active or 'none'} as expected", retryable=True,
                                    hint="someone promoted in between: resolve the scope again and decide",
                                    details={"expected": expect_active, "actual": active[0] if active else None})
            role = self._check_transition(current, "promoted", actor, role, scope)
            self._check_promotion_gates(s, bundle_id, scope)
            warnings = self._check_compatibility(ref, scope)
            op, who = str(uuid.uuid4()), {"name": actor, "role": role}
            events = []
            if active:  # demote first: the partial unique index allows one promoted row per scope
                old_ref = json.loads(s.bundle(active[0])[0])["ref"]
                events.append(self._emit(s, op, old_ref, scope, "bundle_superseded", "promoted", "shadow", who,
                                         reason, {"superseded_by": bundle_id}))
                s.set_state(scope.key, active[0], "shadow", events[-1]["seq"], True)
            events.append(self._emit(s, op, ref, scope, "bundle_promoted", current, "promoted", who, reason,
                                     {"previous_active": active[0] if active else None}))
            s.set_state(scope.key, bundle_id, "promoted", events[-1]["seq"], exists)
            return self._promote_response(bundle_id, scope, active[0] if active else None, events, ref, warnings)

    def rollback(self, scope, *, actor: str, role: str | None, reason: str, expect_active: str | None = None) -> dict:
        """Mark the promoted bundle rolled_back and re-promote the previous one (by event-log order).

        ``expect_active``: refuse (CONFLICT) unless that bundle is the one promoted now, so a retried
        rollback never goes back a second step. A bundle that was rolled back is never restored.
        """
        scope = as_scope(scope, checked_by_request=True)
        request = {"scope": scope.to_json(), "actor": _claim(actor, role), "reason": reason}
        if expect_active is not None:
            request["expect_active"] = expect_active
        require(request, "RollbackRequest")
        role = self._pick_role(actor, role, self.config.lifecycle.operation_roles["rollback"], "rollback",
                               scope.policy_name, scope)
        with self.store.write() as s:
            active = s.promoted(scope.key)
            if not active and not s.scope_known(scope.key):
                raise unknown_scope(scope)
            if not active:
                raise RegistryError("CONFLICT", "POLC634", f"scope {scope} has no promoted bundle to roll back",
                                    hint="`polc registry history` shows what happened in this scope")
            if expect_active is not None and active[0] != expect_active:
                raise RegistryError("CONFLICT", "POLC632", f"bundle {expect_active[:12]} is no longer the promoted "
                                    f"bundle of {scope} ({active[0][:12]} is)", retryable=True,
                                    hint="resolve the scope again and decide",
                                    details={"expected": expect_active, "actual": active[0]})
            previous = self._previous_promoted(s, scope, active[0])
            op, who = str(uuid.uuid4()), {"name": actor, "role": role}
            current_ref = json.loads(s.bundle(active[0])[0])["ref"]
            restored_ref = json.loads(s.bundle(previous)[0])["ref"]
            prev_state, _ = self._state(s, scope, previous)
            first = self._emit(s, op, current_ref, scope, "bundle_rolled_back", "promoted", "rolled_back", who, reason,
                               {"restored": previous})
            s.set_state(scope.key, active[0], "rolled_back", first["seq"], True)
            second = self._emit(s, op, restored_ref, scope, "bundle_restored", prev_state, "promoted", who, reason,
                                {"rolled_back": active[0]})
            s.set_state(scope.key, previous, "promoted", second["seq"], True)
            return respond({"scope": scope.to_json(), "rolled_back": active[0], "restored": previous,
                            "events": [first, second], "active_bundle_ref": restored_ref}, "RollbackResponse")

    # --- helpers -----------------------------------------------------------------------------
    def _previous_promoted(self, s: Store, scope: Scope, current: str) -> str:
        for candidate in s.promoted_history(scope.key):
            if candidate != current and self._state(s, scope, candidate)[0] not in ("rolled_back", "retired"):
                return candidate
        raise RegistryError("CONFLICT", "POLC634", f"scope {scope} has no earlier promoted bundle to return to "
                            "(every earlier one was rolled back or retired)",
                            hint="promote a known-good bundle explicitly with `polc registry promote`")

    def _state(self, s: Store, scope: Scope, bundle_id: str) -> tuple[str, bool]:
        stored, exists = s.state(scope.key, bundle_id)
        return state_or_default(stored), exists

    def _check_transition(self, current: str, target: str, actor: str, role: str | None, scope: Scope) -> str:
        """The role the transition is made in; refused if the lifecycle or the actor's roles forbid it."""
        lifecycle = self.config.lifecycle
        if lifecycle.find(current, target) is None:
            allowed = ", ".join(f"`{t}`" for t in lifecycle.allowed_from(current)) or "none"
            raise RegistryError("CONFLICT", "POLC630", f"cannot go from `{current}` to `{target}`; "
                                f"allowed from `{current}`: {allowed}",
                                hint="transitions are listed in docs/registry.md and [registry.transitions]",
                                details={"from": current, "to": target, "allowed": list(lifecycle.allowed_from(current))})
        return self._pick_role(actor, role, lifecycle.roles_for(current, target), f"{current} -> {target}",
                               scope.policy_name, scope)

    def _pick_role(self, actor: str, role: str | None, allowed: tuple[str, ...], what: str, policy: str,
                   scope: Scope | None, default: str = "operator") -> str:
        """``role`` if it may perform ``what`` and ``actor`` holds it; with ``role`` None, the first
        allowed role the actor holds. Grants (the server) are per policy and scope; locally,
        ``[registry.actors]`` limits the roles a name may claim."""
        if role is not None and role not in allowed:
            raise RegistryError("FORBIDDEN", "POLC631", f"role `{role}` may not perform {what}; "
                                f"allowed roles: {', '.join(allowed) or 'none'}", hint="act in an allowed role (--role)")
        if self.config.grants is not None:
            for candidate in ([role] if role else allowed):
                if any(g.covers(actor, candidate, policy, scope) for g in self.config.grants):
                    return candidate
            where = f"scope {scope}" if scope else f"policy `{policy}`"
            wanted = f"role `{role}`" if role else f"any of the roles {', '.join(allowed)}"
            raise RegistryError("FORBIDDEN", "POLC631", f"`{actor}` does not hold {wanted} in {where}, "
                                f"which {what} needs", hint="ask the registry's administrator to grant the role "
                                "in the server configuration", details={"allowed": list(allowed)})
        held = self.config.actors.get(actor)
        if role is None:
            # locally a role is as claimed; unclaimed, it is the default (operator; submitter for publish)
            role = next((r for r in allowed if r in held), allowed[0]) if held else (
                default if default in allowed else allowed[0])
        if self.config.actors and (held is None or role not in held):
            raise RegistryError("FORBIDDEN", "POLC631", f"`{actor}` does not hold role `{role}` "
                                f"in policy.toml [registry.actors]", hint="ask a maintainer to grant the role")
        return role

    def _check_promotion_gates(self, s: Store, bundle_id: str, scope: Scope) -> None:
        required = self.config.gates_for(scope.policy_name).promote
        if not required:
            return
        record = json.loads(s.bundle(bundle_id)[0])
        passed = {record["receipt_check"]["gate"], *(r["receipt_check"]["gate"] for r in record.get("more_receipts", []))}
        missing = [g for g in required if g not in passed]
        if missing:
            raise RegistryError("GATE_NOT_PASS", "POLC638", f"bundle {bundle_id[:12]} has no PASS receipt of gate "
                                f"`{missing[0]}`, which policy `{scope.policy_name}` requires before promotion",
                                hint="publish the bundle with that gate's receipt too (receipts travel with "
                                     "the bundle; a bundle's record never changes)", details={"missing": missing})

    def _check_compatibility(self, ref: dict, scope: Scope) -> list[str]:
        from .compat import unmet_requirements

        entry = self.config.scope_features(scope)
        unmet = unmet_requirements(ref["compatibility"], entry.features if entry else {},
                                   runner_version=entry.runner_version if entry else None)
        if not unmet:
            return []
        message = f"bundle {ref['bundle_id'][:12]} needs what scope {scope} does not declare: {'; '.join(unmet)}"
        if entry is not None and entry.warn_only:
            return [message]
        raise RegistryError("INCOMPATIBLE", "POLC635", message,
                            hint="declare the scope's feature versions in [[registry.scopes]], or set "
                                 "compatibility = \"warn_only\" for that scope", details={"unmet": unmet})

    def _emit(self, s: Store, operation: str, ref: dict, scope: Scope | None, event_type: str, from_state, to_state,
              actor: dict, reason: str, details: dict | None = None) -> dict:
        seq, prev = s.head()
        body = {"seq": seq + 1, "event_id": str(uuid.uuid4()), "operation_id": operation,
                "bundle_id": ref["bundle_id"], "bundle_version": ref["bundle_version"],
                "scope": scope.to_json() if scope else None, "event_type": event_type, "from_state": from_state,
                "to_state": to_state, "actor": actor, "observed_at_utc": utc_now(), "reason": reason,
                "details": details or {}, "prev_hash": prev}
        event = seal(body)
        s.append_event(event, canonical_bytes(body).decode())
        return event

    def _transition_response(self, bundle_id, scope, current, target, events, *, changed=True, warnings=()) -> dict:
        out = {"bundle_id": bundle_id, "scope": scope.to_json(), "from_state": current, "to_state": target,
               "registry_state": REGISTRY_STATE[target], "changed": changed, "events": events}
        if warnings:
            out["warnings"] = list(warnings)
        return respond(out, "TransitionResponse")

    def _as_transition(self, response: dict, target: str) -> dict:
        events = response["events"]
        mine = [e for e in events if e["to_state"] == target]
        current = mine[0]["from_state"] if mine else target
        scope = Scope.from_json(response["scope"])
        bundle_id = response.get("bundle_id") or response.get("rolled_back")
        return self._transition_response(bundle_id, scope, current or "candidate", target, events,
                                         changed=bool(events), warnings=response.get("warnings", ()))

    def _promote_response(self, bundle_id, scope, previous, events, ref, warnings, *, changed=True) -> dict:
        out = {"bundle_id": bundle_id, "scope": scope.to_json(), "previous_active": previous, "changed": changed,
               "events": events, "active_bundle_ref": ref}
        if warnings:
            out["warnings"] = warnings
        return respond(out, "PromoteResponse")


def _claim(actor: str, role: str | None) -> dict:
    return {"name": actor, "role": role} if role else {"name": actor}
