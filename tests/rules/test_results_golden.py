"""Evaluation results never change by accident: every stdlib, example and test gate, and every
stdlib drift rule, over a fixed set of inputs, against results recorded in
tests/fixtures/gate_results/golden.json.

The golden file was first written by the source-text runtime (the rules block of format
``polc_rules@v1``, whose expressions were parsed and checked again on first use); the
runtime that generates code from the snapshot's expression IR must give the same results,
byte for byte. Regenerate for review (``git diff`` shows what moved) with
``POLC_REGEN_FIXTURES=1 .venv/bin/python -m pytest tests/rules/test_results_golden.py``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
from pathlib import Path

import pytest

from compiler import build
from compiler.rules.drift import evaluate_drift, load_drift_rules
from compiler.rules.runtime import gate_from_snapshot
from tests.conftest import REPO
from tests.rules.helpers import base_snapshot, rules_project

GOLDEN = REPO / "tests" / "fixtures" / "gate_results" / "golden.json"

RULES = '''
const FLOOR = 0.5
const NAMES = ["claude", "gpt"]

gate g_map {
  input metrics: map(string, double)
  require metrics.p95 <= params.p95 message "p95 {metrics.p95} above {params.p95}"
  require "p50" in metrics && metrics.p50 < metrics.p95 || metrics.p95 < 10.0
}

gate g_mixed {
  input metrics: {count: int, name: string, ok: bool, ratio: double}
  let floor = params.min_ratio
  let twice = floor * 2.0
  require metrics.ratio >= floor && metrics.ok message "ratio {metrics.ratio} below {floor} (twice {twice})"
  require metrics.count >= 3 || metrics.name == "canary"
  require !(metrics.name == params.banned) && metrics.ratio < 1000000.0 && twice > 0.0
}

gate g_nested {
  input metrics: {tags: list(string), scores: map(string, double), p95: double}
  require metrics.tags.exists(t, t == params.tag) message "no {params.tag} tag in {metrics.tags}"
  require metrics.scores.all(k, metrics.scores[k] >= FLOOR)
  require metrics.p95 <= params.p95 && size(metrics.tags) < 5
}

gate g_inputs {
  input metrics: {error_rate: double, samples: int}
  input models: list(string)
  let limit = params.max_error_rate
  require metrics.samples >= 100 message "only {metrics.samples} samples"
  require metrics.error_rate <= limit message "error rate {metrics.error_rate} above {limit}"
  require models.exists(m, NAMES.exists(n, m.startsWith(n))) message "no known model in {models}"
}

gate g_dyn {
  input metrics: {values: list(double), label: dyn}
  require metrics.values.map(v, v * 2.0).filter(v, v > 1.0).size() >= 1 || metrics.label == "skip"
  require double(size(metrics.values)) / 2.0 <= params.p95 message "{metrics.values} {metrics.label}"
}
'''
PARAMS = '''
[gates.g_map]
p95 = 2000

[gates.g_mixed]
min_ratio = 0.5
banned = "bad"

[gates.g_nested]
tag = "blue"
p95 = 2000

[gates.g_inputs]
max_error_rate = 0.02

[gates.g_dyn]
p95 = 3

[gates.prompt_quality]
min_exact_match = 0.8
min_judge_pass_rate = 0.9
'''
#: gate -> (input names, the field names and kinds of the first input)
GATES = {
    "reflex_promotion": ({"p95_latency_ms": "num", "success_parity_percent": "num"}, ()),
    "local_memory_sunset": ({"retrieval_p95_parity": "bool", "stable_days": "num"}, ()),
    "prompt_quality": ({"exact_match": "num", "judge_pass_rate": "num"}, ()),
    "g_map": ({"p95": "num", "p50": "num"}, ()),
    "g_mixed": ({"count": "int", "name": "str", "ok": "bool", "ratio": "num"}, ()),
    "g_nested": ({"tags": "strs", "scores": "nums", "p95": "num"}, ()),
    "g_inputs": ({"error_rate": "num", "samples": "int"}, ("models",)),
    "g_dyn": ({"values": "nums_list", "label": "any"}, ()),
}
CASES_PER_GATE = 40


def _value(rng: random.Random, kind: str):
    roll = rng.random()
    if roll < 0.08:
        return rng.choice([None, "fast", True, [1], {"a": 1}, 2 ** 70, float("nan"), float("inf"), -0.0])
    if kind == "num":
        return rng.choice([rng.randint(0, 4000), round(rng.uniform(0, 4000), 3), rng.random(), 85, 2000])
    if kind == "int":
        return rng.choice([rng.randint(0, 300), 100, 3])
    if kind == "bool":
        return rng.random() < 0.6
    if kind == "str":
        return rng.choice(["canary", "bad", "blue", "", "x"])
    if kind == "strs":
        return rng.sample(["blue", "red", "claude-x", "gpt-4o", "green"], rng.randint(0, 4))
    if kind == "nums":
        return {k: rng.choice([rng.random(), 0.75, -1.0, 3]) for k in rng.sample(["a", "b", "c"], rng.randint(0, 3))}
    if kind == "nums_list":
        return [rng.choice([0.1, 0.6, 2.0, 5]) for _ in range(rng.randint(0, 3))]
    return rng.choice([1, "skip", None, [1, 2], {"k": "v"}, 2.5])


def _metrics(rng: random.Random, fields: dict) -> object:
    data = {}
    for name, kind in fields.items():
        if rng.random() < 0.07:
            continue  # missing
        data[name] = _value(rng, kind)
    if rng.random() < 0.1:
        data["extra"] = _value(rng, "any")
    if rng.random() < 0.03:
        return rng.choice([None, [data], "metrics"])
    return data


def _plain(value):
    """JSON-safe and NaN-stable: floats by repr, everything else as JSON or repr."""
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, int) or abs(value) < 2 ** 53 else repr(value)
    return repr(value)


def _outcome(gate, metrics, keywords):
    try:
        return _plain(gate.evaluate(metrics, **keywords).to_json())
    except Exception as err:  # noqa: BLE001 - a raised error is a result to keep too
        return {"raised": type(err).__name__, "message": str(err)}


def gate_results(snapshot: dict) -> dict:
    out = {}
    for name, (fields, extra_inputs) in GATES.items():
        rng = random.Random(f"golden:{name}")
        gate = gate_from_snapshot(snapshot, name)
        rows = []
        for _ in range(CASES_PER_GATE):
            metrics = _metrics(rng, fields)
            keywords = {n: _value(rng, "strs") for n in extra_inputs}
            rows.append({"metrics": _plain(metrics), "keywords": _plain(keywords),
                         "result": _outcome(gate, metrics, keywords)})
        out[name] = rows
    return out


def _mutations(base: dict) -> list[tuple[str, dict]]:
    """Named NEW snapshots, each a few edits away from ``base``."""
    rng = random.Random("golden:drift")
    edits = [
        ("capture", ("capture", "mode"), ["none", "prompts_only", "full_io"]),
        ("embeddings", ("capture", "store_embeddings"), [True, False]),
        ("lr", ("surface", "symbolic_descent", "learning_rate"), [0.01, 0.05, 0.2, 1, "x", None]),
        ("clip", ("surface", "curvature_controls", "max_gradient_norm"), [None, 0.1, 0.5, 2.0]),
        ("latency", ("gates", "reflex_promotion", "p95_latency_ms"), [1000, 2000, 2500, "slow"]),
        ("parity", ("gates", "reflex_promotion", "success_parity_percent"), [50, 85, 99]),
        ("cost", ("budgets", "cost"), [None, {"warn_threshold": 5, "hard_limit": 80, "currency": "USD"}]),
        ("tokens", ("budgets", "tokens", "plan"), [1, 8000, 40000]),
        ("reflex", ("routing", "reflex", "enabled"), [True, False]),
        ("endpoint", ("routing", "reflex", "endpoint"), [None, "http://localhost:9000"]),
        ("cloud", ("routing", "cloud", "architect"), [[], ["m-new"], ["claude-sonnet-4-20250514", "m-new"]]),
        ("modes", ("surface", "deployment_constraints", "safe_modes"), [[]]),
        ("version", ("surface", "surface_version"), ["policy_surface@v2"]),
        ("features", ("surface", "feature_space"), [[]]),
    ]
    out = []
    for i in range(40):
        new = copy.deepcopy(base)
        label = []
        for name, path, values in rng.sample(edits, rng.randint(1, 3)):
            node = new
            for key in path[:-1]:
                node = node.setdefault(key, {}) if isinstance(node, dict) else node
            if isinstance(node, dict):
                node[path[-1]] = copy.deepcopy(rng.choice(values))
                label.append(name)
        out.append((f"{i}:{'+'.join(label)}", new))
    return out


def drift_results() -> dict:
    rules, problems = load_drift_rules({}, {})
    assert [p for p in problems if p.is_error] == []
    base = base_snapshot()
    out = {}
    for label, new in _mutations(base):
        findings = evaluate_drift(base, new, rules)
        out[label] = [[f.rule_id, f.severity.value, f.message, f.error] for f in findings]
    return out


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    example = (REPO / "examples" / "full" / "gates.rules").read_text(encoding="utf-8")
    root = rules_project(tmp_path_factory.mktemp("golden") / "p",
                         {"rules/example.rules": example, "rules/tests.rules": RULES},
                         policy=(REPO / "examples" / "model_policy.toml").read_text(encoding="utf-8") + PARAMS)
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    return json.loads((result.bundle_dir / "snapshot.json").read_text(encoding="utf-8"))


def test_gate_and_drift_results_match_the_golden_file(snapshot):
    got = {"gates": gate_results(snapshot), "drift": drift_results()}
    if os.environ.get("POLC_REGEN_FIXTURES"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for name in GATES:
        for i, (want, have) in enumerate(zip(expected["gates"][name], got["gates"][name])):
            assert have == want, f"{name} case {i}: {want['metrics']}"
    assert got["drift"] == expected["drift"]
    assert not math.isnan(len(got["gates"]))
