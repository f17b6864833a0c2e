"""`polc diff OLD NEW --replay`: recorded decisions re-evaluated under NEW, in every format."""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from compiler.diff.review import review_args
from compiler.impact.replay import replay
from compiler.paths import SCHEMA_DIR

from ..conftest import run_polc

RUNS = 1000


def record_runs(snap, workspace: Path, count: int, seed: int = 7, prefix: str = "run") -> list[dict]:
    """Run ``count`` runs under ``snap``; what each decided, as the test saw it (not as logged)."""
    rng = random.Random(seed)
    seen = []
    for i in range(count):
        run_id = f"{prefix}-{i:04d}"
        with snap.start_run(run_id, workspace, follow=None) as run:
            architect = run.route("architect")
            metrics = {"p95_latency_ms": rng.choice((1200, 1400, 1600, 1800, 2100)),
                       "success_parity_percent": rng.choice((80, 88, 92))}
            gate = run.gate("reflex_promotion", metrics)
            key = f"session-{seed}-{i}"
            implementer = run.route("implementer", key=key)
            tokens = (rng.randint(100, 2000), rng.randint(100, 3000))
            run.charge_call("implement", implementer[0].model, input_tokens=tokens[0], output_tokens=tokens[1])
            seen.append({"run_id": run_id, "architect": architect, "key": key, "implementer": implementer,
                         "metrics": metrics, "passed": gate.passed, "tokens": tokens})
    return seen


@pytest.fixture(scope="module")
def recorded(snapshots, tmp_path_factory):
    import os

    old, _ = snapshots
    workspace = tmp_path_factory.mktemp("ws")
    fsync = os.fsync
    os.fsync = lambda fd: None   # durability is not under test: a thousand runs must not wait on the disk
    try:
        return workspace, record_runs(old, workspace, RUNS)
    finally:
        os.fsync = fsync


def direct(snapshots, seen) -> dict:
    """What re-asking the runtime itself gives: the changed decisions by (run id, kind)."""
    old, new = snapshots
    routes, gates, cost_old, cost_new = set(), set(), Decimal(0), Decimal(0)
    transitions: Counter = Counter()
    for run in seen:
        assert old.route("implementer", key=run["key"]) == run["implementer"]
        before, after = run["implementer"][0].model, new.route("implementer", key=run["key"])[0].model
        if before != after:
            routes.add(run["run_id"])
            transitions[(before, after)] += 1
        if new.route("architect")[0].model != run["architect"][0].model:
            routes.add(run["run_id"] + "/architect")
        if new.gate("reflex_promotion").evaluate(run["metrics"]).passed != run["passed"]:
            gates.add(run["run_id"])
        for snap, model, total in ((old, before, "old"), (new, after, "new")):
            config = snap.model(model)
            price = (run["tokens"][0] * Decimal(repr(config.input_price_per_mtok)) +
                     run["tokens"][1] * Decimal(repr(config.output_price_per_mtok))) / 1_000_000
            if total == "old":
                cost_old += price
            else:
                cost_new += price
    return {"routes": routes, "gates": gates, "transitions": transitions, "cost_old": cost_old, "cost_new": cost_new}


def test_replay_reports_exactly_what_a_direct_re_evaluation_changes(pair, snapshots, recorded):
    workspace, seen = recorded
    expected = direct(snapshots, seen)
    assert 100 < len(expected["routes"]) < 1000 and 10 < len(expected["gates"]) < 1000   # the change matters

    done = run_polc("diff", str(pair[0]), str(pair[1]), "--replay", str(workspace), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rp = report["impact"]["replay"]
    assert (rp["runs"], rp["decisions"]) == (RUNS, 4 * RUNS)   # 2 routes, 1 gate, 1 charge per run
    assert rp["routes"]["replayed"] == 2 * RUNS and rp["gates"]["replayed"] == RUNS
    assert {c["run_id"] for c in rp["changed_decisions"]["routes"]} == expected["routes"]
    assert {c["run_id"] for c in rp["changed_decisions"]["gates"]} == expected["gates"]
    assert rp["routes"]["changed"] == len(expected["routes"]) and rp["gates"]["flipped"] == len(expected["gates"])
    assert {(t["old_model"], t["new_model"]): t["count"] for t in rp["routes"]["transitions"]} == \
        dict(expected["transitions"])
    assert rp["routes"]["by_role"] == [{"role": "architect", "replayed": RUNS, "changed": 0},
                                       {"role": "implementer", "replayed": RUNS, "changed": len(expected["routes"])}]
    # The tighter latency limit is the condition that flips them (PASS → FAIL only).
    (flip,) = rp["gates"]["flips"]
    assert (flip["gate"], flip["direction"], flip["count"]) == ("reflex_promotion", "PASS → FAIL", len(expected["gates"]))
    assert flip["conditions"][0]["condition"] == "metrics.p95_latency_ms <= params.p95_latency_ms"
    # Every call repriced at NEW's price of NEW's pick; no limit is reached either way.
    budgets = rp["budgets"]
    assert (budgets["runs"], budgets["charges"], budgets["repriced"], budgets["earlier"], budgets["later"]) == \
        (RUNS, RUNS, RUNS, 0, 0)
    assert Decimal(budgets["cost_old"]) == expected["cost_old"] and Decimal(budgets["cost_new"]) == expected["cost_new"]
    assert rp["skipped"]["total"] == 0 and rp["unreproducible"]["total"] == 0
    assert report["notes"] == []
    assert rp["summary"]["route_change_rate"] == len(expected["routes"]) / (2 * RUNS)


def test_the_report_with_a_replay_matches_its_schema(pair, recorded, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    report = json.loads(run_polc("diff", str(pair[0]), str(pair[1]), "--replay", str(recorded[0] / "runs" / "run-000*"),
                                 "--format", "json").stdout)
    assert report["impact"]["replay"]["runs"] == 10
    jsonschema.validate(report, json.loads((SCHEMA_DIR / "diff_report.schema.json").read_text()))


def test_every_format_shows_the_replay(pair, recorded):
    from compiler.cli.diff_cmd import _render   # the command's own rendering, without a process per format

    report = review_args(str(pair[0]), str(pair[1]), replay=[str(recorded[0] / "runs" / "run-00[0-4]*")])
    text = _render(report, "text", "block", False)
    assert "Impact" in text and "routes: " in text and "would pick another model" in text
    assert "implementer: claude-sonnet-4-20250514 → gpt-4o" in text
    markdown = _render(report, "markdown", "block", False)
    assert "#### What this change will do" in markdown and "| Routes | 100 |" in markdown
    assert "Route changes by role and model" in markdown and "`reflex_promotion` | PASS → FAIL" in markdown
    sarif = json.loads(_render(report, "sarif", "block", False))
    notes = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "POLC459"]
    assert notes and all(r["level"] == "note" for r in notes)
    assert sarif["runs"][0]["properties"]["impact"]["replay"]["routes"]["replayed"] == 100
    github = _render(report, "github", "block", False)
    assert "::notice title=polc impact::routes: " in github


def test_drift_rules_can_gate_merges_on_the_replay(pair, recorded, tmp_path):
    """A team's own rule: BLOCK when more than 20% of recorded route decisions change."""
    from .conftest import CHANGES, copy_example

    project = copy_example(tmp_path / "new", CHANGES, build_it=False)
    (project / "churn.rules").write_text(
        'drift ROUTES_CHURN BLOCK {\n'
        '  when impact.replay != null && impact.replay.routes_changed > impact.replay.routes * 0.1\n'
        '  message "{impact.replay.routes_changed} of {impact.replay.routes} recorded route decisions would change"\n'
        '}\n', encoding="utf-8")
    policy = project / "policy.toml"
    policy.write_text(policy.read_text().replace('rules = ["gates.rules"]', 'rules = ["gates.rules", "churn.rules"]'))
    args = ("diff", str(pair[0]), str(project), "--format", "json")
    blocked = run_polc(*args, "--replay", str(recorded[0]))
    assert blocked.returncode == 1, blocked.stderr
    finding = [f for f in json.loads(blocked.stdout)["findings"] if f["rule_id"] == "ROUTES_CHURN"][0]
    assert finding["severity"] == "BLOCK" and "of 2000 recorded route decisions would change" in finding["message"]
    assert run_polc(*args).returncode == 0   # without --replay the rule has nothing to read


def test_decisions_under_another_policy_are_skipped_and_counted(pair, snapshots, tmp_path, no_fsync):
    old, new = snapshots
    record_runs(old, tmp_path / "ws", 3)
    record_runs(new, tmp_path / "ws", 2, prefix="other")
    result = replay(old, new, [str(tmp_path / "ws")])
    assert result.runs == {"run-0000", "run-0001", "run-0002"}
    assert dict(result.skipped) == {"route": 4, "gate": 2, "charge": 2}
    assert result.skipped_policies == Counter({new.hash: 8})
    report = review_args(str(pair[0]), str(pair[1]), replay=[str(tmp_path / "ws")])
    assert [d.code for d in report.notes] == ["POLC453"] and "8 recorded decision(s)" in report.notes[0].message


def test_torn_and_damaged_records_are_diagnostics_never_a_crash(pair, snapshots, tmp_path, no_fsync):
    old, _ = snapshots
    record_runs(old, tmp_path / "ws", 2)
    replay_log = tmp_path / "ws" / "runs" / "run-0000" / "REPLAY.jsonl"
    lines = replay_log.read_bytes().split(b"\n")
    lines[1] = b'{"type": "RouteDecision", "role": 7}'        # damaged: a role that is not a string
    lines.insert(2, b"\x00garbage")                            # damaged: not JSON
    lines.insert(3, b"[" * 100_000 + b"]" * 100_000)          # damaged: nested past any parser's recursion
    replay_log.write_bytes(b"\n".join(lines) + b'{"type": "RouteDec')   # torn: no newline at the end
    done = run_polc("diff", str(pair[0]), str(pair[1]), "--replay", str(tmp_path / "ws"), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    notes = {(n["code"], n["line"]) for n in report["notes"] if "line" in n}
    assert notes == {("POLC452", 2), ("POLC452", 3), ("POLC452", 4), ("POLC451", len(lines))}
    assert report["impact"]["replay"]["routes"]["replayed"] == 3   # the other records still count


def test_edited_records_are_unreproducible_not_changes(pair, snapshots, tmp_path, no_fsync):
    old, _ = snapshots
    record_runs(old, tmp_path / "ws", 1)
    log = tmp_path / "ws" / "runs" / "run-0000" / "REPLAY.jsonl"
    log.write_text(log.read_text().replace('"candidates":["claude-sonnet-4-20250514","gpt-4o"]',
                                           '"candidates":["gpt-4o","claude-sonnet-4-20250514"]', 1))
    result = replay(old, snapshots[1], [str(log)])
    assert result.unreproducible == [("run-0000", 1, "route")]
    assert all(c.role != "architect" for c in result.route_changes)


@pytest.mark.parametrize("arg, code, exit_code", [
    ("missing-dir", "POLC450", 3),
    ("nothing-*", "POLC456", 3),
    ("capsule.sqlite", "POLC455", 3),
    ("empty", "POLC455", 3),
    ("fifo", "POLC450", 3),              # refused at once: opening it must not wait for a writer
    ("ws", "POLC450", 3),                # a run whose REPLAY.jsonl is a FIFO
])
def test_bad_replay_paths_exit_3_with_a_diagnostic(pair, tmp_path, arg, code, exit_code):
    import os

    (tmp_path / "capsule.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(100))
    (tmp_path / "empty").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "ws" / "runs" / "r1").mkdir(parents=True)
    os.mkfifo(tmp_path / "ws" / "runs" / "r1" / "REPLAY.jsonl")
    done = run_polc("diff", str(pair[0]), str(pair[1]), "--replay", arg, cwd=tmp_path)
    assert done.returncode == exit_code and code in done.stderr and "Traceback" not in done.stderr


def test_single_files_globs_and_duplicates(pair, snapshots, recorded):
    workspace = recorded[0]
    run_dir = workspace / "runs" / "run-0003"
    old, new = snapshots
    both = replay(old, new, [str(run_dir / "REPLAY.jsonl"), str(run_dir / "events.jsonl"), str(run_dir)])
    assert (both.routes, both.gates, both.charges) == (2, 1, 1)   # each file read once
    assert replay(old, new, [str(run_dir / "events.jsonl")]).gates == 1
    assert replay(old, new, [str(workspace / "runs" / "run-001*")]).routes == 20


def test_gate_evaluations_recorded_without_metrics_are_counted_not_replayed(snapshots, tmp_path):
    old, new = snapshots
    run = tmp_path / "r"
    run.mkdir()
    (run / "events.jsonl").write_text(json.dumps({"type": "GateEvaluated", "gate": "reflex_promotion",
                                                  "passed": True, "policy_hash": old.hash, "run_id": "r"}) + "\n")
    result = replay(old, new, [str(run)])
    assert (result.gates, result.not_replayable) == (0, 1)


@pytest.mark.parametrize("key", ["user-7", 42, b"\x00\xff bytes", "ünïcode"])
def test_keys_decode_to_what_the_runtime_recorded(key):
    from compiler.impact.replay import decode_key
    from compiler.runtime.records import encode_key

    assert decode_key(json.loads(json.dumps(encode_key(key)))) == key
