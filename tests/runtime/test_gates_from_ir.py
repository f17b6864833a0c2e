"""Gates evaluated from the snapshot's expression IR: no front end in a router, old snapshots still load.

* After ``load_snapshot`` and one evaluation of every gate of examples/full, a fresh process
  holds no lark and no parser or checker module.
* A bundle built before the IR (tests/fixtures/legacy_rules_v1: examples/full built by the
  source-text compiler, rules block ``polc_rules@v1``) still loads; its gates give the results
  the same gates give from the IR, and the front end (lark) is imported then, and only then.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from compiler import build
from compiler.runtime import load_snapshot
from tests.conftest import REPO, run_polc

LEGACY = REPO / "tests" / "fixtures" / "legacy_rules_v1"
#: Modules of the compiler's front end: none may be loaded to evaluate a gate of a current snapshot.
FRONT_END = ("lark", "compiler.cel.parser", "compiler.cel.syntax_errors", "compiler.cel.literals",
             "compiler.cel.checker", "compiler.cel.cost", "compiler.rules.parser", "compiler.rules.check",
             "compiler.rules.loader", "compiler.rules.lower", "compiler.rules.legacy", "compiler.rules.syntax",
             "compiler.rules.ast", "compiler.pipeline", "compiler.frontend")
METRICS = {
    "reflex_promotion": [{"p95_latency_ms": 1800, "success_parity_percent": 91},
                         {"p95_latency_ms": 2300.5, "success_parity_percent": 80},
                         {"p95_latency_ms": "fast", "success_parity_percent": 91},
                         {"p95_latency_ms": 1800}, None],
    "prompt_quality": [{"exact_match": 0.9, "judge_pass_rate": 0.95},
                       {"exact_match": 0.5, "judge_pass_rate": 0.95},
                       {"exact_match": 0.9, "judge_pass_rate": True}, {}],
}
CHILD = """
import json, sys
from compiler.runtime import load_snapshot
snap = load_snapshot(sys.argv[1])
metrics = json.loads(sys.argv[2])
before = "lark" in sys.modules
results = {}
for name in sorted(metrics):
    results[name] = [snap.gate(name).evaluate(m).to_json() for m in metrics[name]]
print(json.dumps({"lark_before": before, "modules": sorted(sys.modules), "results": results}))
"""


def _run(head, metrics=METRICS) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(head), json.dumps(metrics)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _front_end(modules) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FRONT_END)]


@pytest.fixture(scope="module")
def full_head(tmp_path_factory):
    root = tmp_path_factory.mktemp("full") / "full"
    shutil.copytree(REPO / "examples" / "full", root)
    result = build(root, out_dir=str(root / "artifacts" / "policy"))
    assert result.ok, result.diagnostics
    return root / "artifacts" / "policy" / "policy.json"


def test_every_gate_of_examples_full_evaluates_without_the_front_end(full_head):
    gates = sorted(load_snapshot(full_head)["rules"]["gates"])
    assert gates == ["prompt_quality", "reflex_promotion"]
    out = _run(full_head)
    assert _front_end(out["modules"]) == []
    assert "compiler.cel.codegen_gate" in out["modules"]  # the code really was generated from the IR
    assert [r["passed"] for r in out["results"]["reflex_promotion"]] == [True, False, False, False, False]
    failure = out["results"]["reflex_promotion"][1]["failures"][0]
    assert failure["message"] == "p95 latency 2300.5 ms is above the 2000 ms limit"
    assert failure["span"]["file"] == "stdlib/promotion.rules" and failure["span"]["line"] == 13


def test_a_snapshot_built_before_the_ir_gives_the_same_results(full_head):
    legacy = load_snapshot(LEGACY / "policy.json")
    assert legacy["rules"]["format"] == "polc_rules@v1" and "node" not in json.dumps(legacy.to_dict()["rules"])
    old, new = _run(LEGACY / "policy.json"), _run(full_head)
    assert old["results"] == new["results"]
    assert not old["lark_before"] and "lark" in old["modules"]   # compiled from its text on first use


def test_drift_rules_of_a_snapshot_built_before_the_ir_run_in_polc_diff(full_head, tmp_path):
    legacy_dir = tmp_path / "legacy"
    shutil.copytree(LEGACY, legacy_dir)
    result = run_polc("diff", str(full_head), str(legacy_dir / "policy.json"), "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if "could not be evaluated" in f["message"]]


def test_a_damaged_ir_fails_closed_with_a_diagnostic(full_head):
    data = json.loads(full_head.with_name(json.loads(full_head.read_text())["active"]).joinpath(
        "snapshot.json").read_text())
    entry = data["rules"]["gates"]["reflex_promotion"]
    entry["conditions"][0]["node"][6] = "__import__('os')"  # an operator that is not one
    from compiler.rules.runtime import RulesRuntimeError, gate_from_snapshot

    with pytest.raises(RulesRuntimeError) as info:
        gate_from_snapshot(data, "reflex_promotion")
    assert info.value.diagnostics[0].code == "POLC271" and "unknown binary operator" in info.value.message


def test_drift_rules_of_a_snapshot_built_before_the_ir_give_the_same_findings(full_head):
    from compiler.rules.drift import drift_rules_from_block, evaluate_drift
    from tests.rules.helpers import base_snapshot
    from tests.rules.test_results_golden import _mutations

    legacy = load_snapshot(LEGACY / "policy.json").to_dict()["rules"]
    current = load_snapshot(full_head).to_dict()["rules"]
    old_rules = drift_rules_from_block(legacy)
    new_rules = [r for r in drift_rules_from_block(current) if r.rule_id in legacy["drift"]]
    assert len(old_rules) == len(new_rules) >= 20  # the stdlib may have gained rules since the fixture
    assert [r.reads for r in old_rules] == [r.reads for r in new_rules]  # computed by the upgrade, too
    base = base_snapshot()
    fired = 0
    for _, changed in _mutations(base):
        findings = [[(f.rule_id, f.severity, f.message, f.error) for f in evaluate_drift(base, changed, rules)]
                    for rules in (old_rules, new_rules)]
        assert findings[0] == findings[1]
        fired += len(findings[0])
    assert fired > 20
