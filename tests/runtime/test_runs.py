"""Runs: PolicySnapshotRef at start, policy tags on every event, capture at stage boundaries,
RECEIPT.json / REPLAY.jsonl attribution, and retrieval of the governing snapshot (977-A3, 977-A4)."""

from __future__ import annotations

import json

import pytest

from compiler import build
from compiler.errors import InputError, IntegrityError, UsageError
from compiler.runtime import BudgetExceeded, load_snapshot
from compiler.runtime.events import read_jsonl
from compiler.runtime.trace import governing_snapshot, trace_run
from tests.runtime.conftest import RICH_POLICY


def events(run) -> list[dict]:
    return list(read_jsonl(run.dir / "events.jsonl").records)


def test_run_start_references_the_policy(out_dir, tmp_path):
    snap = load_snapshot(out_dir / "policy.json")
    run = snap.start_run("run-1", tmp_path / "ws")
    first, second = events(run)[:2]
    assert first["type"] == "RunStart" and first["policy"]["policy_hash"] == snap.hash
    assert second["type"] == "PolicySnapshotRef" and second["reason"] == "run_start"
    assert second["policy_id"] == snap.policy_id and second["policy_hash"] == snap.hash
    # The workspace name is the project's (the bundle's project: the workspace is in none).
    assert second["policy_uri"] == f"mv2://proj/policy/{snap.policy_id}"
    captured = tmp_path / "ws" / "policies" / f"snapshot-{snap.policy_id}.json"
    assert captured.read_bytes() == (snap.bundle_dir / "snapshot.json").read_bytes()  # parity (977-A2)


def test_every_event_carries_the_policy_and_receipt_and_replay_name_the_bundle(out_dir, tmp_path):
    snap = load_snapshot(out_dir / "policy.json")
    with snap.start_run("run-2", tmp_path / "ws") as run:
        run.stage_transition("plan")
        run.route("architect")
        run.budget.charge("plan", tokens=100, cost=6.0)
        run.checkpoint("after-plan", files=3)
        run.stage_transition("implement")
        with pytest.raises(BudgetExceeded):
            run.budget.charge("implement", tokens=6001)
    log = events(run)
    assert [e["type"] for e in log] == ["RunStart", "PolicySnapshotRef", "StageTransition", "BudgetWarning",
                                        "Checkpoint", "StageTransition", "BudgetRefused", "RunEnd"]
    assert all(e["policy_id"] == snap.policy_id and e["policy_hash"] == snap.hash for e in log)
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert log[5]["from_stage"] == "plan" and log[5]["to_stage"] == "implement"
    receipt = json.loads((run.dir / "RECEIPT.json").read_text())
    assert receipt["policy_bundle_id"] == snap.policy_bundle_id == snap.hash
    assert receipt["status"] == "completed" and receipt["stages"] == ["plan", "implement"]
    assert receipt["budget"]["tokens_used"] == {"plan": 100} and receipt["budget"]["cost_spent"] == 6.0
    replay = read_jsonl(run.dir / "REPLAY.jsonl").records
    assert replay[0]["type"] == "ReplayHeader" and replay[0]["policy_bundle_id"] == snap.hash
    assert replay[1]["type"] == "RouteDecision" and replay[1]["candidates"][0] == "claude-sonnet-4-20250514"


def test_failed_run_is_recorded(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    with pytest.raises(RuntimeError):
        with snap.start_run("run-3", tmp_path / "ws"):
            raise RuntimeError("boom")
    assert json.loads((tmp_path / "ws/runs/run-3/RECEIPT.json").read_text())["status"] == "failed"


def test_policy_change_at_a_stage_boundary_is_captured_first(out_dir, tmp_path):
    project = out_dir.parent.parent
    old = load_snapshot(out_dir / "policy.json")
    run = old.start_run("run-4", tmp_path / "ws")
    run.stage_transition("plan")
    (project / "model_policy.toml").write_text(RICH_POLICY.replace("hard_limit = 25.0", "hard_limit = 20.0"))
    assert build(project).ok
    transition = run.stage_transition("implement")
    new_hash = json.loads((out_dir / "policy.json").read_text())["active"]
    assert new_hash != old.hash and transition["policy_hash"] == new_hash
    log = events(run)
    ref = log[-2]
    assert ref["type"] == "PolicySnapshotRef" and ref["reason"] == "stage_boundary"
    assert ref["policy_hash"] == new_hash and ref["seq"] < transition["seq"]
    assert run.snapshot.hash == new_hash
    run.finish()
    receipt = json.loads((run.dir / "RECEIPT.json").read_text())
    assert receipt["policy_bundle_id"] == old.hash  # the policy the run started under
    assert [p["policy_hash"] for p in receipt["policies"]] == [old.hash, new_hash]
    # 977-A4: the snapshot that governed the run, at its start and at the second transition
    assert governing_snapshot(tmp_path / "ws", "run-4").hash == old.hash
    assert governing_snapshot(tmp_path / "ws", "run-4", seq=transition["seq"]).hash == new_hash
    trace = trace_run(tmp_path / "ws", "run-4")
    assert [t["to_stage"] for t in trace.transitions] == ["plan", "implement"]
    assert [t["policy_hash"] for t in trace.transitions] == [old.hash, new_hash]


def test_a_bad_new_policy_is_refused_and_the_old_one_stays(out_dir, tmp_path):
    project = out_dir.parent.parent
    old = load_snapshot(out_dir / "policy.json")
    run = old.start_run("run-5", tmp_path / "ws")
    (project / "model_policy.toml").write_text(RICH_POLICY.replace("hard_limit = 25.0", "hard_limit = 21.0"))
    new_bundle = build(project).bundle_dir
    snapshot_file = new_bundle / "snapshot.json"
    snapshot_file.write_bytes(snapshot_file.read_bytes().replace(b'"prompts_only"', b'"full_io"     '))
    transition = run.stage_transition("plan")
    assert transition["policy_hash"] == old.hash and run.snapshot is old
    refused = [e for e in events(run) if e["type"] == "PolicyRefused"]
    assert len(refused) == 1 and "hash mismatch" in refused[0]["error"]


def test_pinned_run_does_not_follow_the_head(out_dir, tmp_path):
    project = out_dir.parent.parent
    pinned = load_snapshot(json.loads((out_dir / "policy.json").read_text())["active"][:8], root=out_dir)
    run = pinned.start_run("run-6", tmp_path / "ws")
    (project / "model_policy.toml").write_text(RICH_POLICY.replace("hard_limit = 25.0", "hard_limit = 22.0"))
    assert build(project).ok
    assert run.stage_transition("plan")["policy_hash"] == pinned.hash


def test_run_ids_and_reuse(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    with pytest.raises(UsageError, match="not valid"):
        snap.start_run("../escape", tmp_path / "ws")
    snap.start_run("once", tmp_path / "ws")
    with pytest.raises(InputError, match="already exists"):
        snap.start_run("once", tmp_path / "ws")


def test_trace_errors_and_torn_tail(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    run = snap.start_run("run-7", tmp_path / "ws")
    run.stage_transition("plan")
    with open(run.dir / "events.jsonl", "ab") as fh:
        fh.write(b'{"seq": 99, "type": "Stage')  # a write cut off by a crash
    trace = trace_run(tmp_path / "ws", "run-7")
    assert trace.torn_tail and len(trace.transitions) == 1
    with pytest.raises(UsageError, match="no run `run-8`") as info:  # an unknown name: exit 2
        trace_run(tmp_path / "ws", "run-8")
    assert "did you mean `run-7`" in info.value.diagnostics[0].hint
    with open(run.dir / "events.jsonl", "ab") as fh:
        fh.write(b"\n")  # the torn line is now a complete, invalid line
    with pytest.raises(InputError) as info:
        trace_run(tmp_path / "ws", "run-7")
    assert "line 4 of `events.jsonl` is not a JSON object" in info.value.diagnostics[0].message


@pytest.mark.parametrize("damage", ["edit", "delete", "swap"])
def test_an_edited_run_log_breaks_its_chain(out_dir, tmp_path, damage):
    snap = load_snapshot(out_dir)
    run = snap.start_run("run-c", tmp_path / "ws")
    for stage in ("plan", "build", "judge"):
        run.stage_transition(stage)
    trace_run(tmp_path / "ws", "run-c")  # intact: reads
    log = run.dir / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    if damage == "edit":
        lines[3] = lines[3].replace(b'"plan"', b'"judge"')
    elif damage == "delete":
        del lines[2]
    else:
        lines[2], lines[3] = lines[3], lines[2]
    log.write_bytes(b"".join(lines))
    with pytest.raises(IntegrityError) as info:
        trace_run(tmp_path / "ws", "run-c")
    assert info.value.diagnostics[0].code == "POLC755" and info.value.exit_code == 4


def test_every_run_log_chains_from_genesis(out_dir, tmp_path):
    from compiler.jsonlog import read_rows, verify_chain

    snap = load_snapshot(out_dir)
    with snap.start_run("run-g", tmp_path / "ws") as run:
        run.stage_transition("plan")
        run.route("architect")
    for name in ("events.jsonl", "REPLAY.jsonl"):
        rows = read_rows(run.dir / name, "POLC750")
        assert len(rows) >= 2 and verify_chain(rows) is None, name


def test_tampered_captured_snapshot_is_refused(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    snap.start_run("run-9", tmp_path / "ws").finish()
    captured = tmp_path / "ws" / "policies" / f"snapshot-{snap.policy_id}.json"
    captured.write_bytes(captured.read_bytes().replace(b'"prompts_only"', b'"full_io"'))
    with pytest.raises(IntegrityError):
        governing_snapshot(tmp_path / "ws", "run-9")


def test_dual_storage_puts_the_same_bytes_in_the_capsule(out_dir, tmp_path):
    from compiler.capsule import SqliteCapsule

    snap = load_snapshot(out_dir)
    capsule = SqliteCapsule(tmp_path / "capsule.sqlite")
    run = snap.start_run("cap", tmp_path / "ws", capsule=capsule)
    uri = events(run)[1]["policy_uri"]
    assert capsule.get(uri) == (tmp_path / "ws" / "policies" / f"snapshot-{snap.policy_id}.json").read_bytes()
    capsule.close()


def test_gate_evaluations_are_recorded(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    with snap.start_run("gates", tmp_path / "ws") as run:
        result = run.gate("reflex_promotion", {"p95_latency_ms": 2500, "success_parity_percent": 91})
    assert not result.passed
    event = [e for e in events(run) if e["type"] == "GateEvaluated"][0]
    assert event["passed"] is False and "2500" in event["failures"][0]["message"]
    assert event["policy_hash"] == snap.hash


def test_concurrent_events_get_unique_contiguous_seqs(out_dir, tmp_path):
    import threading

    run = load_snapshot(out_dir).start_run("threads", tmp_path / "ws")

    def work(i):
        for j in range(50):
            run.checkpoint(f"t{i}-{j}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = events(run)
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert len([e for e in log if e["type"] == "Checkpoint"]) == 400
