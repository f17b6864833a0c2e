"""The audit chain: verify passes on an honest log and names an edited, deleted or inserted row.

On SQLite the append-only triggers are dropped first (anyone with the file can); on PostgreSQL
they are disabled as the superuser would. Either way verify must catch the tampering.
"""

from __future__ import annotations

import json

import pytest

from compiler.registry.canon import json_hash

from compiler.registry import RegistryError

from .helpers import PROD, drop_guards, publish, walk_to


@pytest.fixture
def populated(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    walk_to(registry, a, "promoted")
    walk_to(registry, b, "promoted")
    registry.rollback(PROD, actor="x", role="operator", reason="bad")
    assert registry.verify()["ok"]
    return registry


def tamper(registry, *statements):
    s = registry.store
    drop_guards(s)
    with s.write():
        for sql, params in statements:
            s._q(sql, params)


def codes(registry) -> set[str]:
    result = registry.verify()
    assert not result["ok"]
    return {p["code"] for p in result["problems"]}


def test_edited_reason_is_caught(populated):
    body = json.loads(populated.store.event_row(3)[8])
    body["reason"] = "nothing to see"
    tamper(populated, ("UPDATE polc_events SET body = ? WHERE seq = 3", (json.dumps(body),)))
    assert "POLC641" in codes(populated)


def test_edit_with_a_recomputed_hash_breaks_the_next_link(populated):
    body = json.loads(populated.store.event_row(3)[8])
    body["actor"]["name"] = "mallory"
    tamper(populated, ("UPDATE polc_events SET body = ?, hash = ? WHERE seq = 3", (json.dumps(body), json_hash(body))))
    assert "POLC642" in codes(populated)


def test_deleted_row_is_caught(populated):
    tamper(populated, ("DELETE FROM polc_events WHERE seq = 4", ()))
    assert {"POLC640", "POLC642"} <= codes(populated)


def test_deleted_tail_is_caught(populated):
    last = populated.verify()["head_seq"]
    tamper(populated, ("DELETE FROM polc_events WHERE seq = ?", (last,)))
    assert "POLC643" in codes(populated)


def test_inserted_row_is_caught(populated):
    row = populated.store.event_row(2)
    body = json.loads(row[8])
    body.update(seq=100, event_id="00000000-0000-4000-8000-000000000000")
    digest = json_hash(body)
    tamper(populated, ("INSERT INTO polc_events (seq, event_id, bundle_id, environment, tenant, policy_name, event_type, "
                       "to_state, body, prev_hash, hash) VALUES (100, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?)",
                       (body["event_id"], body["bundle_id"], body["event_type"], body["to_state"], json.dumps(body),
                        body["prev_hash"], digest)))
    assert {"POLC640", "POLC642", "POLC643"} & codes(populated)


def test_state_table_edit_is_caught(populated):
    tamper(populated, ("UPDATE polc_rollout SET state = 'retired' WHERE state = 'rolled_back'", ()))
    assert "POLC644" in codes(populated)


@pytest.mark.parametrize("sql", [
    "UPDATE polc_rollout SET state = 'retired' WHERE state = 'rolled_back'",
    "UPDATE polc_rollout SET state = 'staged' WHERE state = 'promoted'",
    "DELETE FROM polc_rollout",
    "UPDATE polc_bundles SET bundle_version = '9.9.9'",
    "DELETE FROM polc_bundles",
    "UPDATE polc_head SET seq = seq - 1, hash = '" + "0" * 64 + "'",
    "DELETE FROM polc_head",
])
def test_state_tables_refuse_changes_outside_the_registrys_transitions(populated, sql):
    with pytest.raises(RegistryError) as err:
        with populated.store.write() as s:
            s._execute(sql)
    assert (err.value.category, err.value.code, int(err.value.exit_code)) == ("INTEGRITY", "POLC617", 4)
    assert populated.verify()["ok"]


def test_resolve_refuses_a_rollout_row_edited_behind_the_registrys_back(populated):
    a = populated.resolve(PROD)["active_bundle_ref"]["bundle_id"]
    rolled_back = next(b for (_, _, _, b, st, _) in populated.store.states_of() if st == "rolled_back")
    # swap which bundle is live, as someone with the database could (guards off first)
    tamper(populated, ("UPDATE polc_rollout SET state = 'shadow' WHERE bundle_id = ?", (a,)),
           ("UPDATE polc_rollout SET state = 'promoted' WHERE bundle_id = ?", (rolled_back,)))
    with pytest.raises(RegistryError) as err:
        populated.resolve(PROD)
    assert (err.value.code, int(err.value.exit_code)) == ("POLC615", 4)
    with pytest.raises(RegistryError) as pinned:
        populated.pin(a, PROD)
    assert pinned.value.code == "POLC615"


def test_event_table_refuses_update_and_delete(populated):
    from compiler.registry import RegistryError

    for sql in ("UPDATE polc_events SET reason = 'x' WHERE seq = 1", "DELETE FROM polc_events WHERE seq = 1"):
        with pytest.raises(RegistryError):
            with populated.store.write() as s:
                s._q(sql.replace("reason = 'x'", "event_type = 'x'"))
    assert populated.verify()["ok"]


def test_emptying_the_event_table_is_refused(populated):
    from compiler.registry import RegistryError

    # PostgreSQL's TRUNCATE; SQLite has none, its equivalent is an unqualified DELETE.
    statement = "TRUNCATE polc_events" if populated.store.placeholder == "%s" else "DELETE FROM polc_events"
    with pytest.raises(RegistryError):
        with populated.store.write() as s:
            s._execute(statement)
    assert populated.verify()["ok"]


def test_edited_bundle_record_is_caught(populated):
    # e.g. someone re-pointing a bundle at another artifact
    tamper(populated, ("UPDATE polc_bundles SET record = replace(record, 'file://', 'file:///elsewhere') "
                       "WHERE registered_seq = 1", ()))
    assert codes(populated) == {"POLC645"}
