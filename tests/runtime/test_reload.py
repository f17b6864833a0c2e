"""Hot reload: a new verified snapshot goes live between requests; a bad one is refused and the
last known good stays live."""

from __future__ import annotations

import json
import threading

from compiler import build
from compiler.runtime import SnapshotWatcher
from tests.runtime.conftest import RICH_POLICY


def rebuild(project, hard_limit: str):
    (project / "model_policy.toml").write_text(RICH_POLICY.replace("hard_limit = 25.0", f"hard_limit = {hard_limit}"))
    result = build(project)
    assert result.ok
    return result.bundle_dir


def test_switches_to_a_new_snapshot(out_dir):
    project = out_dir.parent.parent
    switches = []
    watcher = SnapshotWatcher(out_dir / "policy.json", env={}, on_switch=lambda old, new: switches.append(new.hash))
    first = watcher.current
    assert watcher.poll() is False  # nothing changed
    rebuild(project, "30.0")
    assert watcher.poll() is True
    assert watcher.current.hash != first.hash and switches == [watcher.current.hash]
    assert watcher.current["budgets"]["cost"]["hard_limit"] == 30


def test_a_tampered_new_snapshot_is_refused_and_the_old_one_stays(out_dir):
    project = out_dir.parent.parent
    refused = []
    watcher = SnapshotWatcher(out_dir / "policy.json", env={}, on_refused=refused.append)
    good = watcher.current
    bundle = rebuild(project, "31.0")
    (bundle / "snapshot.json").write_bytes((bundle / "snapshot.json").read_bytes().replace(b"31", b"99"))
    assert watcher.poll() is False
    assert watcher.current is good
    assert len(refused) == 1 and watcher.refusals == refused
    assert refused[0].error.exit_code == 4 and "mismatch" in refused[0].message


def test_a_head_pointer_naming_a_missing_bundle_is_refused(out_dir):
    watcher = SnapshotWatcher(out_dir / "policy.json", env={})
    good = watcher.current
    head = json.loads((out_dir / "policy.json").read_text())
    head["active"] = "0" * 64
    (out_dir / "policy.json").write_text(json.dumps(head, separators=(",", ":"), sort_keys=True))
    assert watcher.poll() is False and watcher.current is good
    assert "0" * 64 in watcher.refusals[0].message


def test_background_polling_and_readers_never_see_a_broken_snapshot(out_dir):
    project = out_dir.parent.parent
    watcher = SnapshotWatcher(out_dir / "policy.json", env={})
    seen, stop = set(), threading.Event()

    def reader():
        while not stop.is_set():
            snap = watcher.current  # one read per request
            assert snap.route("judge")[0].model == "claude-sonnet-4-20250514"
            seen.add(snap.hash)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    watcher.start(interval=0.01)
    try:
        new_hash = rebuild(project, "32.0").name
        for _ in range(500):
            if watcher.current.hash == new_hash:
                break
            stop.wait(0.01)
    finally:
        watcher.stop()
        stop.set()
        for t in threads:
            t.join()
    assert watcher.current.hash == new_hash
    assert new_hash in seen or watcher.current.hash == new_hash
