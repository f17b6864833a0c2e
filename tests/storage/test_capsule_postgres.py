"""The capsule on PostgreSQL behaves as the SQLite one (POLC_TEST_POSTGRES_URL; .ci/run starts one)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from compiler.errors import IntegrityError
from compiler.capsule import open_capsule, policy_uri, read_snapshot_bytes
from compiler.storage.parity import check_parity, repair_missing

from .helpers import seeded
from ..conftest import missing_service

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    base = os.environ.get("POLC_TEST_POSTGRES_URL")
    if not base:
        missing_service("POLC_TEST_POSTGRES_URL is not set", ".ci/run starts PostgreSQL")
    schema = f"c_{uuid.uuid4().hex[:16]}"
    yield base + ("&" if "?" in base else "?") + f"schema={schema}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_postgres_capsule_round_trip_immutability_and_parity(pg_url, tmp_path):
    import psycopg

    store = open_capsule(pg_url)
    uri = policy_uri("team", "abc")
    store.put(uri, b"{}")
    store.put(uri, b"{}")
    with pytest.raises(IntegrityError):
        store.put(uri, b"[]")
    assert store.get(uri) == b"{}" and store.list("mv2://team/") == [uri]
    with pytest.raises(psycopg.Error):  # immutable in the database itself
        store.db.execute("UPDATE polc_capsule_objects SET data = 'x'")
    store.close()

    out = tmp_path / "out"
    bundle = seeded(out)
    assert [d.code for d in check_parity(out, pg_url, "ws").problems] == ["POLC362"]
    assert repair_missing(out, pg_url, "ws") == [policy_uri("ws", bundle.snapshot["policy_id"])]
    assert check_parity(out, pg_url, "ws").ok
    uri = policy_uri("ws", bundle.snapshot["policy_id"])
    assert read_snapshot_bytes(uri, pg_url) == (bundle.path / "snapshot.json").read_bytes()
    assert json.loads(read_snapshot_bytes(uri, pg_url))["hash"] == bundle.hash


def test_postgres_capsule_event_log_is_append_only_and_chained(pg_url):
    import psycopg

    from compiler.capsule import run_stream

    store = open_capsule(pg_url)
    stream = run_stream("ws", "r1")
    assert [store.append_event(stream, {"type": "PolicySnapshotRef", "n": i}) for i in range(3)] == [1, 2, 3]
    store.append_event(run_stream("other", "r1"), {"type": "RunStart"})
    assert [e["n"] for e in store.events(stream)] == [0, 1, 2]
    assert store.streams("mv2://ws/") == [stream]
    with pytest.raises(psycopg.Error):
        store.db.execute("DELETE FROM polc_capsule_events")
    store.db.execute("ALTER TABLE polc_capsule_events DISABLE TRIGGER USER")  # someone with raw access
    store.db.execute("UPDATE polc_capsule_events SET data = %s WHERE seq = 2 AND stream = %s",
                     (b'{"n":9,"type":"PolicySnapshotRef"}', stream))
    with pytest.raises(IntegrityError) as info:
        store.events(stream)
    assert info.value.diagnostics[0].code == "POLC364"
    store.close()
