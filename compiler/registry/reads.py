"""The registry's queries: resolve, pin, history, verify, list, show. None of them writes.

Resolution is deterministic: the scope's one promoted row (a unique index guarantees there
is at most one), never "latest by timestamp".
"""

from __future__ import annotations

import json

from .audit import decode_row, replay_states, verify_chain
from .canon import json_hash, utc_now
from .config import RegistryConfig
from .contracts import require, respond
from ..errors import ExitCode
from .errors import RegistryError, invalid
from .lifecycle import REGISTRY_STATE, state_or_default
from .scope import Scope
from .store import Store

HEX = set("0123456789abcdef")


def unknown_scope(scope: Scope) -> RegistryError:
    """A scope no event ever named: an unknown name on the command line (exit 2, like an unknown bundle)."""
    return RegistryError("UNKNOWN_BUNDLE", "POLC616", f"scope {scope} is unknown: no bundle was ever moved in it",
                         hint="check --env, --tenant and --policy; `polc registry list` shows every scope in use",
                         exit_code=ExitCode.USAGE)


def as_scope(scope, *, checked_by_request: bool = False) -> Scope:
    """A Scope from a Scope or a ScopeKey dict, validated (unless the caller's request
    validation, which contains the scope, will do it)."""
    if isinstance(scope, Scope):
        if not checked_by_request:
            require(scope.to_json(), "ScopeKey")
        return scope
    return Scope.from_json(require(scope, "ScopeKey"))


class RegistryReader:
    def __init__(self, store: Store, config: RegistryConfig):
        self.store = store
        self.config = config

    def close(self) -> None:
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- resolution --------------------------------------------------------------------------
    def resolve(self, scope, *, pin: str | None = None) -> dict:
        """The scope's promoted bundle (or the pinned one) and the event that made it so."""
        scope = as_scope(scope, checked_by_request=True)
        require({"scope": scope.to_json(), "pin": pin}, "ResolveActiveRequest")
        with self.store.read() as s:
            if pin:
                ref = self._ref_for_scope(s, pin, scope)
                stored = s.state_row(scope.key, pin)
                state = state_or_default(stored[0] if stored else None)
                event = _checked_state(s, scope, pin, stored)
                if event is None:
                    rows = s.event_rows(None, pin)
                    event = decode_row(rows[-1])[0] if rows else None
                selection = "pinned"
            else:
                active = s.promoted(scope.key)
                if not active:
                    if not s.scope_known(scope.key):
                        raise unknown_scope(scope)
                    raise RegistryError("UNKNOWN_BUNDLE", "POLC633", f"scope {scope} has no promoted bundle",
                                        hint="promote one with `polc registry promote`, or pin a bundle explicitly")
                event = _checked_state(s, scope, active[0], ("promoted", active[1]))
                ref = json.loads(s.bundle(active[0])[0])["ref"]
                state, selection = "promoted", "promoted"
        return respond({"scope": scope.to_json(), "active_bundle_ref": ref, "selection": selection,
                        "rollout_state": state, "event": event, "resolved_at_utc": utc_now()}, "ResolveActiveResponse")

    def state(self, bundle_id: str, scope) -> str:
        """The rollout state of a bundle in a scope (``candidate`` if it never moved there)."""
        scope = as_scope(scope)
        with self.store.read() as s:
            return state_or_default(s.state(scope.key, bundle_id)[0])

    def promoted_counts(self) -> dict[tuple, int]:
        """Scope key -> number of promoted bundles; an invariant check (the index allows at most 1)."""
        with self.store.read() as s:
            rows = s.all("SELECT environment, tenant, policy_name, count(*) FROM polc_rollout "
                         "WHERE state = 'promoted' GROUP BY environment, tenant, policy_name")
        return {tuple(r[:3]): int(r[3]) for r in rows}

    def pin(self, bundle_id: str, scope) -> dict:
        """Select an explicit bundle for a session; the registry is not changed (docs/registry.md)."""
        return self.resolve(scope, pin=self.bundle_id_of(bundle_id))

    # --- audit -------------------------------------------------------------------------------
    def history(self, scope=None, *, bundle_id: str | None = None, limit: int | None = None,
                before: int | None = None) -> dict:
        """The audit events, oldest first; of one scope and/or bundle when given. ``limit`` (a scope's
        history only) keeps the newest ``limit`` events older than seq ``before``: one page."""
        scope = as_scope(scope) if scope is not None else None
        if limit is not None and (scope is None or bundle_id is not None):
            raise ValueError("a page of history is of one scope")
        with self.store.read() as s:
            if limit is not None:
                rows = s.event_rows_page(scope.key, before, limit)
            else:
                rows = s.event_rows(scope.key if scope else None, bundle_id)
            if scope is not None and not rows and not s.scope_known(scope.key):
                raise unknown_scope(scope)
        return respond({"scope": scope.to_json() if scope else None,
                        "events": [decode_row(r)[0] for r in rows]}, "HistoryResponse")

    def events_at(self, seqs) -> list[dict]:
        """The audit events with these sequence numbers (the ones a state row names), in seq order."""
        with self.store.read() as s:
            rows = s.event_rows_at(sorted(set(seqs)))
        return [decode_row(r)[0] for r in rows]

    def verify(self) -> dict:
        """Recompute the chain, and check the state tables and bundle records against it."""
        with self.store.read() as s:
            rows, head = s.event_rows(), s.head()
            bundles, states = s.bundles(), s.states_of()
        events, problems = [], []
        for row in rows:
            event, found = decode_row(row)
            events.append(event)
            problems.extend(found)
        problems.extend(verify_chain(events, head))
        problems.extend(_state_problems(events, states))
        problems.extend(_bundle_problems(events, bundles))
        return respond({"ok": not problems, "events_checked": len(events), "head_seq": head[0],
                        "head_hash": head[1], "problems": problems}, "VerifyResponse")

    # --- inspection --------------------------------------------------------------------------
    def list(self) -> dict:
        with self.store.read() as s:
            bundles, states = s.bundles(), s.states_of()
        by_bundle: dict[str, list] = {}
        for row in states:
            by_bundle.setdefault(row[3], []).append(_scope_state(row))
        out = []
        for bundle_id, record, _, _ in bundles:
            rec = json.loads(record)
            out.append({"ref": rec["ref"], "submitted_at_utc": rec["submitted_at_utc"],
                        "states": by_bundle.get(bundle_id, [])})
        return respond({"bundles": out}, "ListBundlesResponse")

    def show(self, bundle_id: str) -> dict:
        bundle_id = self.bundle_id_of(bundle_id)
        with self.store.read() as s:
            row = s.bundle(bundle_id)
            states = s.states_of(bundle_id)
        return respond({"record": json.loads(row[0]), "states": [_scope_state(r) for r in states]}, "ShowBundleResponse")

    def bundle_id_of(self, ref: str) -> str:
        """A registered bundle's id from its id, a unique prefix (4+ hex, as ``polc show`` takes), or its
        bundle directory. An unknown one is a usage error (exit 2): a name given on the command line."""
        ref = str(ref).strip()
        if len(ref) >= 4 and set(ref) <= HEX:
            with self.store.read() as s:
                matches = s.bundle_ids(ref)
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise invalid("POLC612", f"`{ref}` names {len(matches)} registered bundles "
                              f"({', '.join(m[:12] for m in matches[:4])}{', ...' if len(matches) > 4 else ''})",
                              hint="give more of the hash")
            return self._unknown(ref, ref)
        from pathlib import Path

        if Path(ref).is_dir():
            from .bundles import open_bundle_ref

            bundle_id = open_bundle_ref(ref, None).hash
            with self.store.read() as s:
                if s.bundle(bundle_id):
                    return bundle_id
            return self._unknown(ref, bundle_id)
        if set(ref) <= HEX:
            raise invalid("POLC612", f"`{ref}` is too short to name a bundle", hint="give at least 4 hex digits")
        return self._unknown(ref, None)

    def _unknown(self, ref: str, bundle_id: str | None):
        """The refusal for a name that is no registered bundle, with the hint that fits: publish it
        when it is a bundle of this project's out dir, else look at what is registered."""
        local = self.config.out_dir
        built = bool(bundle_id and local and any(p.name.startswith(bundle_id) for p in _dirs(local)))
        hint = ("it is built but not registered: publish it first with `polc registry publish`" if built
                else "`polc registry list` shows the registered bundles")
        raise RegistryError("UNKNOWN_BUNDLE", "POLC612", f"no registered bundle `{ref}`", hint=hint,
                            exit_code=ExitCode.USAGE)

    # --- shared helpers ----------------------------------------------------------------------
    def _ref_for_scope(self, s: Store, bundle_id: str, scope: Scope) -> dict:
        row = s.bundle(bundle_id)
        if row is None:
            self._unknown(bundle_id, bundle_id)
        ref = json.loads(row[0])["ref"]
        if ref["policy_name"] != scope.policy_name:
            raise invalid("POLC614", f"bundle {bundle_id[:12]} is policy `{ref['policy_name']}`, "
                          f"but scope {scope} is policy `{scope.policy_name}`",
                          hint=f"pass --policy {ref['policy_name']}")
        return ref

    def _event_at(self, s: Store, seq: int) -> dict | None:
        row = s.event_row(seq)
        return decode_row(row)[0] if row else None


def _scope_state(row: tuple) -> dict:
    environment, tenant, policy_name, _, state, seq = row
    state = state_or_default(state)
    return {"scope": Scope.from_key(environment, tenant, policy_name).to_json(), "state": state,
            "registry_state": REGISTRY_STATE[state], "seq": int(seq)}


def _state_problems(events: list[dict], states: list[tuple]) -> list[dict]:
    replayed = replay_states(events)
    stored = {(e, t, p, b): state_or_default(st) for e, t, p, b, st, _ in states}
    problems = []
    for key in sorted(set(replayed) | set(stored)):
        want, have = replayed.get(key, "candidate"), stored.get(key, "candidate")
        if want != have:
            problems.append({"code": "POLC644", "seq": None, "message": f"bundle {key[3][:12]} in "
                             f"{Scope.from_key(*key[:3])} is `{have}` in the state table but `{want}` by the event log"})
    return problems


def _bundle_problems(events: list[dict], bundles: list[tuple]) -> list[dict]:
    registered = {e["bundle_id"]: e for e in events if e.get("event_type") == "bundle_registered"}
    problems = []
    for bundle_id, record, record_hash, seq in bundles:
        event = registered.pop(bundle_id, None)
        try:
            actual = json_hash(json.loads(record))
        except ValueError:
            actual = None
        if actual != record_hash or event is None or event["details"].get("record_hash") != record_hash:
            problems.append({"code": "POLC645", "seq": int(seq), "message": f"bundle {bundle_id[:12]}: its record "
                             "does not match the record hash its registration event holds"})
    for bundle_id, event in registered.items():
        problems.append({"code": "POLC645", "seq": event["seq"], "message": f"bundle {bundle_id[:12]} was registered "
                         "but its record is missing"})
    return problems


def _dirs(path) -> list:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []


def _checked_state(s: Store, scope: Scope, bundle_id: str, stored: tuple | None) -> dict | None:
    """The event that set a bundle's stored state in a scope, after checking that the state table
    agrees with the audit log: the newest event of that bundle in that scope must be intact (its
    hash), be the one the row names, and lead to the stored state. A row edited behind the
    registry's back is refused here, at resolve time, not only by the next ``verify`` (exit 4)."""
    row = s.last_event_of(scope.key, bundle_id)
    if row is None and stored is None:
        return None
    problem = None
    if row is None:
        problem = "no event ever moved it there"
    else:
        event, found = decode_row(row)
        if found or json_hash({k: v for k, v in event.items() if k != "hash"}) != event.get("hash"):
            problem = f"event {row[0]} that records it does not match its hash"
        elif stored is None:
            problem = f"the state table has no row for it, but event {event['seq']} moved it to `{event['to_state']}`"
        elif (event["to_state"], event["seq"]) != (state_or_default(stored[0]), stored[1]):
            problem = (f"the state table says `{state_or_default(stored[0])}` (event {stored[1]}), but the audit log's "
                       f"last event for it is {event['seq']} (`{event['to_state']}`)")
        else:
            return event
    raise RegistryError("INTEGRITY", "POLC615", f"bundle {bundle_id[:12]} in scope {scope}: {problem}; the registry "
                        "was changed behind its back", hint="run `polc registry verify` and restore the database from "
                        "a backup; do not route by this answer")
