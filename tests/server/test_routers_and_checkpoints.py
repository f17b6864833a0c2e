"""Routers following a scope (``RegistryWatcher``, ``load_snapshot`` of a registry URL) and
auditors holding checkpoints, against a real ``polc serve``."""

from __future__ import annotations

import json
import threading
import time

import pytest

from compiler.errors import InputError
from compiler.registry import open_store
from compiler.registry.canon import canonical_bytes, json_hash
from compiler.runtime import RegistryWatcher, load_snapshot

from ..registry.helpers import drop_guards
from .conftest import polc_cli, registry_env


def walk(server, built, n, env="prod"):
    """Publish bundle ``n`` and bring it to shadow in ``env``, through the client the CLI uses."""
    from compiler.registry import Scope
    from compiler.registry.client import RemoteRegistry

    with RemoteRegistry(server.url, token=server.tokens["alice"]) as reg:
        receipt = json.loads(open(built.receipt(n)).read())
        reg.publish(str(built.bundle_dir(n)), receipt, provenance={"evaluation_report_ref": "r"})
        for state in ("staged", "shadow"):
            reg.transition(built.hashes[n], Scope(env, "router"), state, reason=f"to {state}")


def promote(server, n, built):
    with server.client() as alice:
        r = alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[n]})
        assert r.status_code == 200, r.text


def test_registry_watcher_switches_on_promote_and_keeps_the_last_good_bundle(server, built, tmp_path, monkeypatch):
    for n in (0, 1, 2):
        walk(server, built, n)
    promote(server, 0, built)
    token = server.tokens["alice"]
    monkeypatch.setenv("POLC_CACHE_DIR", str(tmp_path / "cache-loader"))
    monkeypatch.setenv("POLC_TOKEN", token)
    snap = load_snapshot(f"{server.url}/v1/scopes/prod/-/router/active")
    assert snap.hash == built.hashes[0] and snap.route("architect")
    assert load_snapshot(f"{server.url}/v1/bundles/{built.hashes[1]}").hash == built.hashes[1]
    monkeypatch.delenv("POLC_TOKEN")
    refused = []
    watcher = RegistryWatcher(server.url, "prod/-/router", token=token, cache_dir=tmp_path / "cache",
                              checkpoint_key=server.config.parent / "checkpoint.key", on_refused=refused.append)
    assert watcher.current.hash == built.hashes[0]
    assert watcher.poll() is False  # unchanged: a 304
    # a long-poll returns as soon as the scope changes
    switched = []
    waiter = threading.Thread(target=lambda: switched.append(watcher.poll(wait=20)))
    waiter.start()
    time.sleep(0.5)
    started = time.monotonic()
    promote(server, 1, built)
    waiter.join(timeout=30)
    assert switched == [True] and time.monotonic() - started < 15
    assert watcher.current.hash == built.hashes[1] and watcher.current.route("architect")
    backup = backup_sqlite(server.store, tmp_path / "backup.db")  # the registry as it is now
    # the registry now serves a damaged bundle: verified before switching, refused, last good kept
    stored = server.config.parent / "bundles" / built.hashes[2] / "snapshot.json"
    stored.write_bytes(stored.read_bytes().replace(b'"plan":8002', b'"plan":9002'))
    promote(server, 2, built)
    assert watcher.poll(wait=5) is False
    assert watcher.current.hash == built.hashes[1]
    assert refused and {"POLC702", "POLC704"} & {d.code for d in refused[-1].error.diagnostics}
    assert not (tmp_path / "cache" / built.hashes[2]).exists()  # nothing unverified is cached
    # repaired on the server: the next poll takes it
    stored.write_bytes(stored.read_bytes().replace(b'"plan":9002', b'"plan":8002'))
    assert watcher.poll() is True and watcher.current.hash == built.hashes[2]
    if backup is not None:
        # the whole database restored from the older copy: consistent, but behind the newest
        # checkpoint this router saw; it keeps the bundle it has
        restore_sqlite(backup, server.store)
        assert watcher.poll() is False and watcher.current.hash == built.hashes[2]
        assert "POLC811" in [d.code for d in refused[-1].error.diagnostics]


def backup_sqlite(store: str, target):
    if "://" in store:
        return None  # PostgreSQL: the rewind is shown by the checkpoint test instead
    import sqlite3

    with sqlite3.connect(store) as source, sqlite3.connect(str(target)) as copy:
        source.backup(copy)
    return target


def restore_sqlite(backup, store: str) -> None:
    import sqlite3

    with sqlite3.connect(str(backup)) as source, sqlite3.connect(store) as live:
        source.backup(live)


def test_load_snapshot_of_a_registry_url_needs_a_token_and_a_scope(server, built, tmp_path, monkeypatch):
    monkeypatch.setenv("POLC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("POLC_TOKEN", raising=False)
    with pytest.raises(InputError) as err:
        load_snapshot(f"{server.url}/v1/scopes/prod/-/router/active")
    assert "POLC802" in err.value.message
    with pytest.raises(InputError):
        load_snapshot(f"{server.url}/v1/nothing-here")
    monkeypatch.setenv("POLC_TOKEN", server.tokens["alice"])
    with pytest.raises(InputError) as err:
        load_snapshot(f"{server.url}/v1/scopes/prod/-/router/active")
    assert "POLC616" in err.value.message


def rewind(store_url: str, keep: int) -> None:
    """Delete the log's tail after event ``keep`` and rewind the head, guards dropped first, as
    whoever owns the database could; state rows are left as they are."""
    store = open_store(store_url)
    drop_guards(store)
    with store.write() as s:
        row = s.event_row(keep)
        s._q("DELETE FROM polc_events WHERE seq > ?", (keep,))
        s._q("UPDATE polc_head SET seq = ?, hash = ? WHERE id = 1", (keep, row[10]))
    store.close()


def rechain(store_url: str, seq: int, reason: str) -> None:
    """Edit event ``seq`` and re-hash every event after it, then the head: a log that verifies."""
    store = open_store(store_url)
    drop_guards(store)
    with store.write() as s:
        rows = s.all("SELECT seq, body FROM polc_events WHERE seq >= ? ORDER BY seq", (seq,))
        prev = s.event_row(seq - 1)[10] if seq > 1 else "0" * 64
        for number, body in rows:
            event = json.loads(body)
            if number == seq:
                event["reason"] = reason
            event["prev_hash"] = prev
            prev = json_hash(event)
            s._q("UPDATE polc_events SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                 (canonical_bytes(event).decode(), event["prev_hash"], prev, number))
        s._q("UPDATE polc_head SET hash = ? WHERE id = 1", (prev,))
    store.close()


def test_a_rechained_or_truncated_log_is_caught_by_a_checkpoint(server, built, tmp_path):
    for n in (0, 1):
        walk(server, built, n)
    promote(server, 0, built)
    cli = dict(env=registry_env(server), cwd=built.root)
    saved = tmp_path / "checkpoint.json"
    out = polc_cli("registry", "checkpoint", "--out", str(saved), **cli)
    assert out.returncode == 0 and out.stdout.startswith("checkpoint test-registry  event 7"), out
    key = tmp_path / "server.pub"
    from compiler.registry.checkpoints import load_or_create_signing_key
    from cryptography.hazmat.primitives import serialization

    public = load_or_create_signing_key(server.config.parent / "checkpoint.key").public_key()
    key.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    promote(server, 1, built)  # the log grows past the checkpoint: fine
    verify = ("registry", "verify", "--checkpoint", str(saved), "--checkpoint-key", str(key))
    assert polc_cli(*verify, **cli).returncode == 0
    rechain(server.store, 3, "nothing happened here")
    plain = polc_cli("registry", "verify", **cli)
    assert plain.returncode == 0, plain.stderr  # a consistent re-chained log fools the chain alone...
    caught = polc_cli(*verify, **cli)
    assert caught.returncode == 4 and "POLC639" in caught.stderr and "re-chained" in caught.stderr  # ...not this
    local = polc_cli(*verify, "--registry", server.store, cwd=built.root, env={"POLC_REGISTRY": ""})
    assert local.returncode == 4 and "POLC639" in local.stderr  # the same against the database itself
    rewind(server.store, keep=4)
    truncated = polc_cli(*verify, **cli)
    assert truncated.returncode == 4 and "truncated or rewound" in truncated.stderr
    forged = json.loads(saved.read_text()) | {"seq": 4}
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    bad_signature = polc_cli("registry", "verify", "--checkpoint", str(tmp_path / "forged.json"),
                             "--checkpoint-key", str(key), **cli)
    assert bad_signature.returncode == 4 and "POLC648" in bad_signature.stderr
    (tmp_path / "junk.json").write_text("{}")
    assert polc_cli("registry", "verify", "--checkpoint", str(tmp_path / "junk.json"), **cli).returncode == 3
