"""The worked example (examples/full) end to end: build, load, route by key, model, prompt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from compiler import build
from compiler.runtime import load_snapshot

from ..conftest import run_polc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "full"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "out"
    result = build(EXAMPLE, out_dir=out)
    assert result.ok, [f"{d.location()} {d.code} {d.message}" for d in result.diagnostics]
    return out


def test_the_example_builds_with_the_cli(tmp_path):
    done = run_polc("build", str(EXAMPLE), "--out", str(tmp_path / "out"), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(json.loads(done.stdout)["hash"]) == 64


def test_every_block_is_in_the_snapshot_and_manifest(bundle):
    snap = load_snapshot(bundle / "policy.json")
    assert set(snap["model_config"]) >= {"claude-sonnet-4-20250514", "gpt-4o", "gpt-4o-mini", "default"}
    assert dict(snap["weights"]["implementer"]) == {"claude-sonnet-4-20250514": 0.9, "gpt-4o": 0.1}
    assert set(snap["prompts"]) == {"plan", "judge"}
    assert snap["optimizer"]["scorecard"]["exact_match"] == 0.83
    manifest = snap.manifest
    assert manifest["optimizer"]["name"] == "MIPROv2"
    assert manifest["training_context"]["runner"] == "MIPROv2@2.6.1"
    assert {"prompts/plan.j2", "optimizer/mipro-run.json"} <= {s["path"] for s in manifest["source_files"]}


def test_route_by_key_follows_the_weights(bundle):
    snap = load_snapshot(bundle / "policy.json")
    firsts = Counter(snap.route("implementer", key=f"session-{i}")[0].model for i in range(20_000))
    assert abs(firsts["gpt-4o"] / 20_000 - 0.10) < 0.01
    route = snap.route("implementer", key="session-7")
    assert route[0].reason.startswith("weights.implementer:")
    assert sorted(c.model for c in route) == sorted(c.model for c in snap.route("implementer"))
    assert route[-1].model == "gpt-4o-mini"  # the fallback stays last
    # a role without weights keeps its written order, whatever the key
    assert snap.route("architect", key="x") == snap.route("architect")
    assert snap.explain_route("implementer", key="session-7")["candidates"][0]["model"] == route[0].model


def test_same_key_same_model_in_a_fresh_process(bundle):
    snap = load_snapshot(bundle / "policy.json")
    keys = [f"user-{i}" for i in range(300)]
    here = [snap.route("implementer", key=k)[0].model for k in keys]
    assert set(here) == {"claude-sonnet-4-20250514", "gpt-4o"}
    code = ("from compiler.runtime import load_snapshot\n"
            f"snap = load_snapshot({str(bundle / 'policy.json')!r})\n"
            f"print(','.join(snap.route('implementer', key=k)[0].model for k in {keys!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "987", "PATH": ""}, cwd=str(EXAMPLE.parents[1]))
    assert out.stdout.strip().split(",") == here


def test_model_and_prompt_from_the_loaded_snapshot(bundle):
    snap = load_snapshot(bundle / "policy.json")
    assert snap.model("gpt-4o").provider == "openai"
    assert snap.model("gpt-4o").max_output_tokens == 4096          # from [model_config.default]
    assert snap.model("qwen2.5-coder-7b-instruct").cost(input_tokens=10**6) == 0
    assert snap.model("some-new-model").from_default
    text = snap.prompt("plan").render(request="Add --json.", max_steps=3, constraints=["no new deps"])
    assert "at most 3 steps" in text and "- no new deps" in text
    assert snap.prompt("plan") is snap.prompt("plan")  # compiled once per snapshot
    with pytest.raises(LookupError, match="did you mean `plan`"):
        snap.prompt("plna")


def test_building_twice_in_separate_processes_gives_identical_bytes(tmp_path):
    copies = []
    for name, seed in (("one", "1"), ("two", "2")):
        root = tmp_path / name
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("artifacts"))
        done = run_polc("build", str(root), "--out", str(root / "out"), env={"PYTHONHASHSEED": seed,
                                                                             "SOURCE_DATE_EPOCH": "1795000000"})
        assert done.returncode == 0, done.stdout + done.stderr
        copies.append((root / "out" / done.stdout.strip() / "snapshot.json").read_bytes())
    assert copies[0] == copies[1]


def test_a_gate_reads_the_optimizer_scorecard(bundle):
    snap = load_snapshot(bundle / "policy.json")
    if "prompt_quality" not in (snap.get("rules") or {}).get("gates", {}):
        pytest.skip("the gate/rule language is not in this build: gates.rules was not compiled")
    assert dict(snap.scorecard) == {"exact_match": 0.83, "judge_pass_rate": 0.91, "p95_latency_ms": 1840}
    gate = snap.gate("prompt_quality")
    assert gate.evaluate(scorecard=snap.scorecard).passed
    result = gate.evaluate(scorecard={**snap.scorecard, "exact_match": 0.79})
    assert not result.passed
    assert result.failures[0].message == "exact match 0.79 is below the required 0.8"
    assert result.failures[0].span.file == "gates.rules" and result.failures[0].span.line == 6
