"""``polc explain gate NAME --metrics FILE`` and ``polc explain route ROLE``: decisions made by the
runtime on real built bundles, with their reasons, in text and JSON, and every bad-input path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compiler import build
from compiler.cli import main
from compiler.runtime import load_snapshot
from tests.conftest import make_project, run_polc
from tests.runtime.conftest import RICH_POLICY

FAILING = {"p95_latency_ms": 2500, "success_parity_percent": 80}
PASSING = {"p95_latency_ms": 1500, "success_parity_percent": 90}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project built twice: the first bundle allows 2000 ms, the head (second) 3000 ms."""
    root = make_project(tmp_path_factory.mktemp("explain") / "proj", RICH_POLICY)
    assert build(root).ok
    (root / "model_policy.toml").write_text(RICH_POLICY.replace("p95_latency_ms = 2000", "p95_latency_ms = 3000"))
    assert build(root).ok
    return root


@pytest.fixture
def proj(built, tmp_path, monkeypatch) -> Path:
    """A private copy (tests may tamper with it), as the current directory, with metrics files."""
    root = tmp_path / "proj"
    shutil.copytree(built, root)
    monkeypatch.chdir(root)
    (root / "fail.json").write_text(json.dumps(FAILING))
    (root / "pass.yaml").write_text("p95_latency_ms: 1500\nsuccess_parity_percent: 90\n")
    return root


def polc(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def head(root: Path):
    return load_snapshot(root / "artifacts" / "policy" / "policy.json")


def first_bundle(root: Path) -> Path:
    lines = (root / "artifacts" / "policy" / "policy_hash_ledger.jsonl").read_text().splitlines()
    return root / "artifacts" / "policy" / json.loads(lines[0])["hash"]  # the ledger's first build


# --- explain gate --metrics: the decision ------------------------------------------------------

def test_a_failing_gate_prints_fail_then_each_condition_with_span_message_and_observed(proj, capsys):
    old = first_bundle(proj)
    code, out, err = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json",
                          "--bundle", str(old))
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith(f"FAIL gate reflex_promotion under policy {old.name[:12]}")
    assert "2 of 2 conditions failed" in lines[0]
    expected = load_snapshot(old).gate("reflex_promotion").evaluate(FAILING)
    for failure in expected.failures:
        assert f"failed: {failure.condition}  ({failure.span})" in out
        assert f"    {failure.message}" in out
    assert "p95 latency 2500 ms is above the 2000 ms limit" in out
    assert "observed: metrics.p95_latency_ms = 2500.0, params.p95_latency_ms = 2000.0" in out
    # the span points at the condition's text in the rules file
    span = expected.failures[0].span
    rules = (Path(__file__).resolve().parent.parent / span.file).read_text().splitlines()
    assert rules[span.line - 1][span.column - 1:].startswith(expected.failures[0].condition)


def test_a_passing_gate_from_yaml_exits_0(proj, capsys):
    code, out, err = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "pass.yaml")
    assert (code, err) == (0, "")
    assert out.startswith("PASS gate reflex_promotion") and "all 2 conditions hold" in out
    assert "failed:" not in out


def test_json_carries_passed_and_failures_as_the_runtime_reports_them(proj, capsys):
    old = first_bundle(proj)
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json",
                        "--bundle", old.name[:12], "--format", "json")
    assert code == 1
    data = json.loads(out)
    result = load_snapshot(old).gate("reflex_promotion").evaluate(FAILING)
    assert data["passed"] is False and data["verdict"] == "FAIL" and data["conditions"] == 2
    assert data["policy_bundle_id"] == old.name
    assert [{k: f[k] for k in ("condition", "span", "message", "observed", "error")} for f in data["failures"]] \
        == [f.to_json() for f in result.failures]
    assert data["failures"][0]["location"] == str(result.failures[0].span)
    import hashlib
    assert data["metrics_sha256"] == hashlib.sha256((proj / "fail.json").read_bytes()).hexdigest()


def test_the_head_pointer_is_the_default_and_bundle_selects_an_older_policy(proj, capsys):
    # the head allows 3000 ms: only the parity condition fails there; the first bundle fails both
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["policy_bundle_id"] == head(proj).policy_bundle_id
    assert [f["condition"] for f in data["failures"]] == ["metrics.success_parity_percent >= params.success_parity_percent"]
    for bundle in (first_bundle(proj).name[:8], str(first_bundle(proj))):
        code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json",
                            "--bundle", bundle, "--format", "json")
        assert code == 1 and len(json.loads(out)["failures"]) == 2


def test_path_names_the_project_when_run_from_elsewhere(proj, capsys, monkeypatch):
    monkeypatch.chdir(proj.parent)
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "proj", "--metrics", "proj/pass.yaml")
    assert code == 0 and head(proj).hash[:12] in out
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "proj/policy.toml", "--metrics",
                        "proj/pass.yaml")
    assert code == 0


def test_missing_and_mistyped_metrics_fail_closed_naming_the_metric(proj, capsys):
    (proj / "partial.json").write_text('{"p95_latency_ms": "fast"}')
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "partial.json")
    assert code == 1 and out.startswith("FAIL")
    assert 'not evaluated: metrics.p95_latency_ms: is a string ("fast"), expected a number' in out
    assert "observed:" not in out
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "partial.json", "--format", "json")
    failure = json.loads(out)["failures"][0]
    assert code == 1 and "metrics.p95_latency_ms" in failure["message"] and failure["error"]
    (proj / "empty.yaml").write_text("{}\n")
    code, out, _ = polc(capsys, "explain", "gate", "local_memory_sunset", "--metrics", "empty.yaml")
    assert code == 1 and "metrics.retrieval_p95_parity" in out and "is missing" in out


def test_without_metrics_explain_gate_still_shows_the_definition(proj, capsys):
    code, out, _ = polc(capsys, "explain", "gate", "reflex_promotion")
    assert code == 0
    assert out.startswith("gate reflex_promotion  (stdlib/promotion.rules:")
    assert "require #1 metrics.p95_latency_ms <= params.p95_latency_ms" in out


# --- bad input: exit codes and diagnostics, never a traceback --------------------------------------

@pytest.mark.parametrize("name, content, expect", [
    ("missing.json", None, "cannot read the metrics file"),
    ("broken.json", "{bad", "is not valid JSON"),
    ("list.json", "[1, 2]", "must hold a mapping"),
    ("broken.yaml", ": : :\n\t- x", "is not valid YAML"),
    ("evil.yaml", "!!python/object/apply:os.system ['echo pwned']", "is not valid YAML"),
    ("latin1.json", b'{"p95_latency_ms": "\xe9"}', "is not valid JSON"),
])
def test_unreadable_metrics_exit_3(proj, capsys, name, content, expect):
    if isinstance(content, bytes):
        (proj / name).write_bytes(content)
    elif content is not None:
        (proj / name).write_text(content)
    code, out, err = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", name)
    assert code == 3 and out == ""
    assert "POLC650" in err and expect in err and "Traceback" not in err


def test_an_oversized_metrics_file_is_refused_before_parsing(proj, capsys, monkeypatch):
    import compiler.registry.gate_receipt as gate_receipt

    monkeypatch.setattr(gate_receipt, "MAX_METRICS_BYTES", 16)
    code, _, err = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json")
    assert code == 3 and "larger than 16 bytes" in err


def test_a_tampered_bundle_exits_4(proj, capsys):
    bundle = proj / "artifacts" / "policy" / head(proj).policy_bundle_id
    snapshot = bundle / "snapshot.json"
    original = snapshot.read_bytes()
    assert b"3000" in original
    snapshot.write_bytes(original.replace(b"3000", b"9000"))
    for argv in (("gate", "reflex_promotion", "--metrics", "fail.json"), ("route", "judge")):
        code, out, err = polc(capsys, "explain", *argv)
        assert code == 4 and out == "" and "Traceback" not in err, (argv, err)


def test_no_build_yet_and_a_dangling_bundle_exit_3(proj, capsys, tmp_path):
    empty = make_project(tmp_path / "empty")
    code, _, err = polc(capsys, "explain", "gate", "reflex_promotion", str(empty), "--metrics", "fail.json")
    assert code == 3 and "does not exist" in err and "polc build" in err
    code, _, err = polc(capsys, "explain", "route", "judge", str(empty))
    assert code == 3 and "polc build" in err
    code, _, err = polc(capsys, "explain", "gate", "reflex_promotion", "--metrics", "fail.json", "--bundle", "ffff")
    assert code == 2 and "POLC707" in err  # an unknown bundle id on the command line is a usage error


@pytest.mark.parametrize("argv, expect", [
    (("gate", "reflex_promot", "--metrics", "fail.json"), "did you mean `reflex_promotion`"),
    (("gate", "reflex_promotion", "--metrics", "fail.json", "--codegen"), "does not combine with --metrics"),
    (("gate", "reflex_promotion", "--bundle", "abcd"), "give --metrics FILE too"),
    (("route", "architekt"), "did you mean `architect`"),
])
def test_usage_errors_exit_2(proj, capsys, argv, expect):
    code, out, err = polc(capsys, "explain", *argv)
    assert code == 2 and out == "" and expect in err and "Traceback" not in err


# --- explain route: the same decision and rendering as polc route --------------------------------

@pytest.mark.parametrize("extra", [(), ("--passed-gate", "reflex_promotion"), ("--format", "json"),
                                   ("--passed-gate", "reflex_promotion", "--format", "json")])
def test_explain_route_prints_what_polc_route_prints(proj, capsys, extra):
    code, explained, _ = polc(capsys, "explain", "route", "implementer", *extra)
    assert code == 0
    code, routed, _ = polc(capsys, "route", "implementer", *extra)
    assert code == 0 and explained == routed


def test_explain_route_gives_reasons_and_follows_the_reflex_gate(proj, capsys):
    _, out, _ = polc(capsys, "explain", "route", "implementer", "--format", "json")
    closed = json.loads(out)
    assert [c["model"] for c in closed["candidates"]][0] == "claude-sonnet-4-20250514"
    assert any("reflex_promotion" in note for note in closed["notes"])
    assert all(c["reason"] for c in closed["candidates"])
    _, out, _ = polc(capsys, "explain", "route", "implementer", "--passed-gate", "reflex_promotion", "--format", "json")
    opened = json.loads(out)
    assert opened["candidates"][0]["model"] == "qwen2.5-coder-7b-instruct"
    assert opened == head(proj).explain_route("implementer", {"passed_gates": ["reflex_promotion"]})


def test_explain_route_with_bundle_uses_that_policy(proj, capsys):
    old = first_bundle(proj)
    _, out, _ = polc(capsys, "explain", "route", "judge", "--bundle", old.name[:10], "--format", "json")
    assert json.loads(out)["policy_hash"] == old.name != head(proj).hash
    _, out, _ = polc(capsys, "explain", "route", "judge", "--bundle", old.name[:10])
    assert out.startswith(f"route for `judge` under policy {old.name[:12]}")


def test_the_real_cli_process_explains_a_failing_gate(proj):
    done = run_polc("explain", "gate", "reflex_promotion", "--metrics", "fail.json", cwd=proj)
    assert done.returncode == 1 and done.stdout.startswith("FAIL gate reflex_promotion"), done.stderr
    done = run_polc("explain", "gate", "reflex_promotion", "--metrics", "nope.yaml", cwd=proj)
    assert done.returncode == 3 and "Traceback" not in done.stderr and "POLC650" in done.stderr
