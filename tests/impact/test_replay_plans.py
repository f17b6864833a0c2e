"""The replay's route plans (one per role, passed gates and mode; the key hashed once for OLD and
NEW) give, decision by decision, what the runtime's own ``snap.route`` gives.

The plans are a memo: decisions with the same role, passed gates and mode share one, and only
the key is looked up per decision. So the decisions here vary in exactly those inputs (and in
fields a route does not read, which must not matter): keyed and unkeyed, str, int and bytes
keys, the reflex gate passed or another gate passed, shadow mode on and off, a role NEW
removes; and the same key under each context.
"""

from __future__ import annotations

import json

from compiler.impact.replay import replay
from compiler.runtime.records import route_record
from compiler.runtime.snapshot import Snapshot

REFLEX = {"enabled": True, "model": "local", "roles": ["judge"], "gate": "reflex_promotion"}


def policy(hash_char: str, weights: dict, cloud: dict) -> Snapshot:
    return Snapshot.from_data({
        "schema_version": "1.0", "hash": hash_char * 64, "policy_id": "p",
        "routing": {"cloud": cloud, "fallback": {"judge": ["c"]}, "reflex": REFLEX},
        "weights": weights, "capture": {"mode": "none", "store_embeddings": False},
        "budgets": {"tokens": {}, "cost": None}, "gates": {}}, env={})


OLD = policy("a", {"judge": {"a": 50, "b": 50}}, {"judge": ["a", "b"], "writer": ["a", "b"], "gone": ["b"]})
NEW = policy("b", {"judge": {"a": 20, "b": 80}, "writer": {"a": 70, "b": 30}},
             {"judge": ["a", "b"], "writer": ["a", "b"]})

KEYS = [None, *(f"user-{i}" for i in range(60)), 7, 123456789, b"\x00\xff", "ünïcode"]
CONTEXTS = [None, {"passed_gates": ["reflex_promotion"]}, {"passed_gates": ["prompt_quality"]},
            {"passed_gates": ["prompt_quality", "reflex_promotion"]}]


def recorded_decisions() -> list[dict]:
    """Every combination, as the runtime records it (compiler/runtime/records.py), each twice:
    the second time with fields a route does not read changed."""
    records = []
    for shadow in (False, True):
        snap = OLD.with_modes(shadow=shadow)
        for role in ("judge", "writer", "gone"):
            for context in CONTEXTS:
                for key in KEYS:
                    record = route_record(snap, role, context, key, snap.route(role, context, key=key))
                    records.append(record)
                    records.append({**record, "ts": "2026-01-01T00:00:00Z", "note": "not read by a route"})
    return [{**r, "seq": seq} for seq, r in enumerate(records, 2)]


def test_every_route_decision_replays_as_the_runtime_answers_it(tmp_path):
    records = recorded_decisions()
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    header = {"type": "ReplayHeader", "run_id": "r1", "policy_bundle_id": OLD.hash}
    (run / "REPLAY.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [header, *records]))

    expected_changes, expected_fallbacks = {}, 0
    for record in records:
        snap = NEW.with_modes(shadow=record.get("shadow_mode", False))
        context = {"passed_gates": record["passed_gates"]} if "passed_gates" in record else None
        key = record.get("key")
        key = bytes.fromhex(key["hex"]) if isinstance(key, dict) else key
        try:
            new = tuple(c.model for c in snap.route(record["role"], context, key=key))
        except LookupError:
            new = None
        if (new[0] if new else None) != record["candidates"][0]:
            expected_changes[record["seq"]] = new
        elif list(new) != record["candidates"]:
            expected_fallbacks += 1

    result = replay(OLD, NEW, [str(tmp_path)])
    assert result.unreproducible == [] and result.diagnostics == []
    assert result.routes == len(records)
    assert {c.seq: c.new for c in result.route_changes} == expected_changes
    assert result.fallbacks_changed == expected_fallbacks
    # The cases matter: the split moves keys, the reflex gate reorders, shadow mode ignores both.
    changed = [r for r in records if r["seq"] in expected_changes]
    assert {r["role"] for r in changed} == {"judge", "writer", "gone"}
    assert any(r.get("shadow_mode") for r in changed) and any(not r.get("shadow_mode") for r in changed)
    assert expected_fallbacks > 0


def test_a_route_old_does_not_reproduce_is_unreproducible_whatever_the_plan(tmp_path):
    """A plan shared by many decisions must not hide one whose recorded answer OLD does not give."""
    good = route_record(OLD, "judge", None, "user-1", OLD.route("judge", key="user-1"))
    edited = {**good, "key": "user-2", "candidates": list(reversed(good["candidates"]))}  # fallback first: no key gives it
    bad_key = {**good, "key": [1, 2]}
    log = tmp_path / "REPLAY.jsonl"
    log.write_text("".join(json.dumps({**r, "seq": i}) + "\n" for i, r in enumerate((good, edited, bad_key), 1)))
    result = replay(OLD, NEW, [str(log)])
    assert result.routes == 1
    assert [(seq, kind) for _, seq, kind in result.unreproducible] == [(2, "route"), (3, "route")]
