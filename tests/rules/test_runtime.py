"""Gates built from a compiled snapshot: pass/fail, failures with spans and observed values, fail closed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from compiler import build
from compiler.rules.runtime import RulesRuntimeError, gate_from_snapshot
from tests.rules.helpers import rules_project


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    root = rules_project(tmp_path_factory.mktemp("rt") / "p", {"rules/mine.rules": '''
// a project gate with an object input, a let and a string/list input
gate canary {
  input metrics: {error_rate: double, samples: int}
  input models: list(string)
  let limit = params.max_error_rate
  require metrics.samples >= 100 message "only {metrics.samples} samples"
  require metrics.error_rate <= limit
    message "error rate {metrics.error_rate} above {limit}"
  require models.exists(m, m.startsWith("claude")) message "no claude model in {models}"
}
'''}, policy=open("examples/model_policy.toml").read() + "\n[gates.canary]\nmax_error_rate = 0.02\n")
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    return json.loads((result.bundle_dir / "snapshot.json").read_text())


def test_stdlib_reflex_promotion_from_the_snapshot(snapshot):
    gate = gate_from_snapshot(snapshot, "reflex_promotion")
    assert gate.evaluate({"p95_latency_ms": 1800, "success_parity_percent": 91}).passed
    result = gate.evaluate({"p95_latency_ms": 2300.5, "success_parity_percent": 91})
    assert not result.passed and len(result.failures) == 1
    failure = result.failures[0]
    assert failure.message == "p95 latency 2300.5 ms is above the 2000 ms limit"
    assert str(failure.span) == "stdlib/promotion.rules:13:11"
    assert failure.observed == {"metrics.p95_latency_ms": 2300.5, "params.p95_latency_ms": 2000.0}
    assert failure.error is None
    assert result.to_json()["failures"][0]["span"]["line"] == 13


def test_both_conditions_fail_and_are_reported(snapshot):
    result = gate_from_snapshot(snapshot, "reflex_promotion").evaluate(
        {"p95_latency_ms": 2500, "success_parity_percent": 80})
    assert [f.message for f in result.failures] == [
        "p95 latency 2500 ms is above the 2000 ms limit",
        "success parity 80% is below the required 85%"]


def test_missing_and_mistyped_metrics_fail_closed_naming_the_metric(snapshot):
    gate = gate_from_snapshot(snapshot, "reflex_promotion")
    missing = gate.evaluate({"p95_latency_ms": 1800})
    assert not missing.passed
    assert missing.failures[0].message == "input metrics.success_parity_percent is missing (expected double)"
    wrong = gate.evaluate({"p95_latency_ms": "fast", "success_parity_percent": 90})
    assert not wrong.passed and 'metrics.p95_latency_ms is a string ("fast"), expected a number' in wrong.failures[0].message
    boolean = gate.evaluate({"p95_latency_ms": True, "success_parity_percent": 90})
    assert not boolean.passed and "is a bool" in boolean.failures[0].message
    assert not gate.evaluate(None).passed


def test_project_gate_with_lets_lists_and_several_inputs(snapshot):
    gate = gate_from_snapshot(snapshot, "canary")
    ok = gate.evaluate({"error_rate": 0.01, "samples": 500}, models=["claude-x", "gpt-4o"])
    assert ok.passed and ok.conditions == 3
    bad = gate.evaluate({"error_rate": 0.05, "samples": 50}, models=["gpt-4o"])
    assert [f.message for f in bad.failures] == [
        "only 50 samples", "error rate 0.05 above 0.02", 'no claude model in ["gpt-4o"]']
    assert bad.failures[1].observed == {"metrics.error_rate": 0.05, "limit": 0.02}
    missing_input = gate.evaluate({"error_rate": 0.01, "samples": 500})
    assert not missing_input.passed and "input `models` was not given" in missing_input.failures[0].message


def test_a_map_input_missing_key_fails_closed_with_the_key(tmp_path):
    from compiler.rules.runtime import build_gate
    block = {"gates": {"g": {"file": "g.rules", "span": [1, 1, 3, 2], "params": None,
                             "inputs": [{"name": "metrics", "type": "map(string, double)", "span": [1, 10, 1, 40]}],
                             "lets": [], "conditions": [{"expr": "metrics.p95 <= 10.0", "span": [2, 11, 2, 30],
                                                         "message": None}]}}}
    result = build_gate(block, "g").evaluate({"p99": 3})
    assert not result.passed and result.failures[0].error
    assert "p95" in result.failures[0].message and str(result.failures[0].span) == "g.rules:2:11"


def test_unknown_gate_names_the_known_ones(snapshot):
    with pytest.raises(RulesRuntimeError) as info:
        gate_from_snapshot(snapshot, "reflex_promo")
    assert info.value.diagnostics[0].code == "POLC266"
    assert "did you mean `reflex_promotion`" in info.value.diagnostics[0].hint


def test_gates_are_thread_safe(snapshot):
    gate = gate_from_snapshot(snapshot, "reflex_promotion")
    results = []

    def work(i):
        for j in range(50):
            latency = 1500 + (i * 50 + j) % 1000
            results.append((latency <= 2000) == gate.evaluate(
                {"p95_latency_ms": latency, "success_parity_percent": 90}).passed)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and all(results)


def test_snapshot_rules_block_is_deterministic_and_holds_no_python(snapshot):
    text = json.dumps(snapshot["rules"], sort_keys=True)
    assert "def " not in text and "lambda" not in text
    assert snapshot["rules"]["format"] == "polc_rules@v2"
    assert snapshot["rules"]["ir"]["version"] == "polc-cel-ir@1"
    condition = snapshot["rules"]["gates"]["canary"]["conditions"][1]
    assert condition["expr"] == "metrics.error_rate <= limit" and condition["node"][:7] == \
        ["bin", 8, 11, 8, 38, condition["node"][5], "<="]
    assert condition["node"][-8:] == ["let", 8, 33, 8, 38, condition["node"][-3], "limit", 0]
    assert snapshot["rules"]["gates"]["canary"]["params"] == "canary"
    assert set(snapshot["rules"]["drift"]) >= {"DR_CAPTURE_WIDENED", "DR_COST_HARD_LIMIT_RAISED"}


def test_importing_the_runtime_is_cheap():
    code = ("import sys, compiler.rules.runtime, compiler.rules.drift; "
            "print(sorted(m for m in ('lark', 'jsonschema', 'jinja2', 'numpy', 'tomlkit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_explain_gate_prints_the_declaration_and_the_generated_code(tmp_path):
    from tests.conftest import run_polc

    root = rules_project(tmp_path / "p", {})
    result = run_polc("explain", "gate", "reflex_promotion", "--codegen", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "gate reflex_promotion  (stdlib/promotion.rules:10:1)" in result.stdout
    assert "require #1 metrics.p95_latency_ms <= params.p95_latency_ms" in result.stdout
    assert "def " in result.stdout or "interpreter" in result.stdout
    result = run_polc("explain", "gate", "nope", cwd=root)
    assert result.returncode == 2 and "POLC266" in result.stderr  # an unknown name typed: usage error
    result = run_polc("explain", "drift", "DR_CAPTURE_WIDENED", cwd=root)
    assert result.returncode == 0 and "when CAPTURE_RANK[new.capture.mode]" in result.stdout


def test_rules_block_is_byte_identical_across_processes_seeds_and_source_order(tmp_path):
    files = {"rules/a.rules": "const K = {'x': 1, 'y': 2}\ngate ga { require K.x < K.y }\n",
             "rules/b.rules": "drift DR_B WARN { when new.capture != old.capture }\n"
                              "gate gb { input m: map(string, double) require m.all(k, m[k] > 0.0) }\n"}
    code = ("import sys; from compiler.pipeline import run_pipeline; from compiler.canonical import canonical_json; "
            "r = run_pipeline(sys.argv[1], until='lower_rules'); "
            "sys.stdout.write(canonical_json(r.compilation['snapshot_blocks']['rules']).decode())")
    outputs = []
    for seed, order in (("1", ["rules/a.rules", "rules/b.rules"]), ("2", ["rules/b.rules", "rules/a.rules"])):
        root = rules_project(tmp_path / f"p{seed}", files, patterns=order)
        env = {**__import__("os").environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and '"DR_B"' in outputs[0]


def test_stdlib_local_memory_sunset(snapshot):
    gate = gate_from_snapshot(snapshot, "local_memory_sunset")
    assert gate.evaluate({"retrieval_p95_parity": True, "stable_days": 30}).passed
    result = gate.evaluate({"retrieval_p95_parity": False, "stable_days": 12})
    assert [f.message for f in result.failures] == [
        "retrieval p95 is not at parity yet, and [gates.local_memory_sunset] requires parity",
        "stable for 12 days; the sunset needs 30"]
    assert not gate.evaluate({"retrieval_p95_parity": "yes", "stable_days": 40}).passed


def test_lets_are_stored_and_evaluated_once_however_often_they_are_used(tmp_path):
    """Thirty lets, each using the one before three times: copied into their users, the last
    condition would hold 3^30 nodes; shared, the snapshot and the evaluation stay small."""
    lets = "".join(f"  let a{i} = a{i - 1} + a{i - 1} - a{i - 1}\n" for i in range(1, 31))
    root = rules_project(tmp_path / "p", {"rules/chain.rules": "gate chain {\n  input metrics: {a: int}\n"
                                          "  let a0 = metrics.a\n" + lets +
                                          '  require a30 == metrics.a message "a30 is {a30}"\n}\n'},
                         policy=open("examples/model_policy.toml").read() + "\n[gates.chain]\nx = 1\n")
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    snapshot = json.loads((result.bundle_dir / "snapshot.json").read_text())
    entry = snapshot["rules"]["gates"]["chain"]
    assert len(entry["lets"]) == 31 and len(json.dumps(entry)) < 40_000
    gate = gate_from_snapshot(snapshot, "chain")
    assert gate.evaluate({"a": 7}).passed
    gate._fast = None  # the full path too, with its message
    assert gate.evaluate({"a": 2 ** 62}).failures[0].error == "integer overflow in `+` at rules/chain.rules:4:12"


def test_constants_reached_through_other_constants_are_kept(tmp_path):
    files = {"rules/c.rules": "const A = 2.0\nconst B = A * 2.0\nconst C = B + 1.0\nconst UNUSED = 7\n"
                              "gate gc {\n  input metrics: {x: double}\n  let limit = C\n"
                              "  require metrics.x <= limit message \"{metrics.x} above {limit}\"\n}\n"}
    root = rules_project(tmp_path / "p", files,
                         policy=open("examples/model_policy.toml").read() + "\n[gates.gc]\nx = 1\n")
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    entry = json.loads((result.bundle_dir / "snapshot.json").read_text())["rules"]["gates"]["gc"]
    assert [let["name"] for let in entry["lets"]] == ["A", "B", "C", "limit"]
    gate = gate_from_snapshot(json.loads((result.bundle_dir / "snapshot.json").read_text()), "gc")
    assert gate.evaluate({"x": 5.0}).passed
    assert gate.evaluate({"x": 6.0}).failures[0].message == "6 above 5"
