"""polc route / polc trace: decisions with reasons, and DESIGN.md §4 exit codes (never a traceback)."""

from __future__ import annotations

import json

from compiler.runtime import load_snapshot
from tests.conftest import run_polc


def test_route_text_and_json(out_dir):
    project = out_dir.parent.parent
    text = run_polc("route", "implementer", "--passed-gate", "reflex_promotion", cwd=project)
    assert text.returncode == 0, text.stderr
    assert "1. qwen2.5-coder-7b-instruct" in text.stdout and "[reflex]" in text.stdout
    data = json.loads(run_polc("route", "judge", "--format", "json", cwd=project).stdout)
    assert [c["model"] for c in data["candidates"]] == ["claude-sonnet-4-20250514"]
    pinned = run_polc("route", "judge", "--pin", data["policy_hash"][:8], "--policy", str(out_dir), cwd=project)
    assert pinned.returncode == 0, pinned.stderr


def test_route_exit_codes(out_dir):
    project = out_dir.parent.parent
    unknown = run_polc("route", "architekt", cwd=project)
    assert unknown.returncode == 2 and "did you mean `architect`" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    bundle = out_dir / json.loads((out_dir / "policy.json").read_text())["active"]
    raw = (bundle / "snapshot.json").read_bytes()
    (bundle / "snapshot.json").write_bytes(raw.replace(b'"judge"', b'"judgE"'))
    tampered = run_polc("route", "judge", cwd=project)
    assert tampered.returncode == 4 and "mismatch" in tampered.stderr and "Traceback" not in tampered.stderr
    missing = run_polc("route", "judge", "--policy", str(project / "nope.json"), cwd=project)
    assert missing.returncode == 3 and "does not exist" in missing.stderr


def test_trace(out_dir, tmp_path):
    snap = load_snapshot(out_dir / "policy.json")
    with snap.start_run("r-1", tmp_path / "ws") as run:
        run.stage_transition("plan")
        run.stage_transition("implement")
    out = run_polc("trace", "r-1", "--workspace", str(tmp_path / "ws"), "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["policy_bundle_id"] == snap.hash and data["verified"] is True
    assert [t["to_stage"] for t in data["transitions"]] == ["plan", "implement"]
    text = run_polc("trace", "r-1", "--workspace", str(tmp_path / "ws"))
    assert "plan -> implement" in text.stdout
    captured = tmp_path / "ws" / "policies" / f"snapshot-{snap.policy_id}.json"
    captured.write_bytes(captured.read_bytes().replace(b'"judge"', b'"judgE"'))
    assert run_polc("trace", "r-1", "--workspace", str(tmp_path / "ws")).returncode == 4
    absent = run_polc("trace", "r-2", "--workspace", str(tmp_path / "ws"))
    assert absent.returncode == 2 and "did you mean `r-1`" in absent.stderr  # an unknown name: usage

