"""snap.route: order, reasons, reflex behind its gate, unknown roles, safe and shadow modes."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from compiler.errors import UsageError
from compiler.runtime import UnknownName, load_snapshot

REFLEX = "qwen2.5-coder-7b-instruct"


def models(candidates):
    return [c.model for c in candidates]


def test_cloud_then_fallback_without_duplicates(out_dir):
    route = load_snapshot(out_dir).route("implementer")
    assert models(route) == ["claude-sonnet-4-20250514", "gpt-4o", "gpt-4o-mini"]
    assert [c.source for c in route] == ["cloud", "cloud", "fallback"]
    assert route[0].reason == "routing.cloud.implementer[1]"
    assert "routing.fallback.implementer[2]" in route[2].reason


def test_reflex_leads_only_when_its_gate_is_recorded_as_passed(out_dir):
    snap = load_snapshot(out_dir)
    assert REFLEX not in models(snap.route("judge"))
    via_context = snap.route("judge", {"passed_gates": ["reflex_promotion"]})
    assert models(via_context) == [REFLEX, "claude-sonnet-4-20250514"]
    assert via_context[0].source == "reflex" and "reflex_promotion" in via_context[0].reason
    recorded = snap.with_gate_results({"reflex_promotion": True})
    assert models(recorded.route("judge")) == models(via_context)
    assert snap.route("judge") != recorded.route("judge")  # the original is unchanged
    failed = snap.with_gate_results([SimpleNamespace(name="reflex_promotion", passed=False)])
    assert REFLEX not in models(failed.route("judge"))
    assert REFLEX not in models(snap.route("judge", {"passed_gates": [SimpleNamespace(
        name="reflex_promotion", passed=False)]}))


def test_reflex_never_for_roles_outside_its_list(out_dir):
    snap = load_snapshot(out_dir).with_gate_results({"reflex_promotion": True})
    assert REFLEX not in models(snap.route("architect"))
    assert "not in routing.reflex.roles" in snap.explain_route("architect")["notes"][0]


def test_reflex_disabled_in_the_example(example_out_dir):
    snap = load_snapshot(example_out_dir).with_gate_results({"reflex_promotion": True})
    assert models(snap.route("judge")) == ["claude-sonnet-4-20250514"]


def test_unknown_role_lists_the_known_ones(out_dir):
    snap = load_snapshot(out_dir)
    with pytest.raises(UnknownName) as info:
        snap.route("architekt")
    assert isinstance(info.value, (LookupError, UsageError))
    assert "architect, implementer, judge" in str(info.value)
    assert "did you mean `architect`" in info.value.diagnostics[0].hint
    with pytest.raises(UnknownName, match="unknown gate"):
        snap.with_gate_results({"reflex_promotoin": True})


def test_shadow_mode_keeps_written_order(out_dir):
    snap = load_snapshot(out_dir, env={"POLICY_SHADOW_MODE": "1"}).with_gate_results({"reflex_promotion": True})
    assert snap.modes.shadow and not snap.modes.safe
    route = snap.route("implementer")
    assert models(route)[:3] == ["claude-sonnet-4-20250514", "gpt-4o", "gpt-4o-mini"]
    assert route[-1].model == REFLEX and "shadow" in route[-1].reason


def test_safe_mode_and_bad_env_values(out_dir):
    snap = load_snapshot(out_dir, env={"POLICY_SAFE_MODE": "true"})
    assert snap.modes.safe
    assert models(snap.route("implementer")) == models(snap.route("implementer"))
    with pytest.raises(UsageError, match="POLICY_SAFE_MODE='maybe'") as info:
        load_snapshot(out_dir, env={"POLICY_SAFE_MODE": "maybe"})
    assert info.value.diagnostics[0].code == "POLC740"


def test_modes_come_from_the_environment(out_dir, monkeypatch):
    monkeypatch.setenv("POLICY_SHADOW_MODE", "1")
    assert load_snapshot(out_dir).modes.shadow
    monkeypatch.setenv("POLICY_SHADOW_MODE", "0")
    assert not load_snapshot(out_dir).modes.shadow


def test_capture_rules(out_dir, example_out_dir):
    snap = load_snapshot(out_dir)
    assert snap.capture.mode == "prompts_only"
    assert snap.capture.allows("prompts") and not snap.capture.allows("completions")
    assert snap.capture.allows("embeddings")
    with pytest.raises(UnknownName, match="capture kind"):
        snap.capture.allows("audio")


def test_route_is_safe_from_many_threads(out_dir):
    snap = load_snapshot(out_dir)
    gated = snap.with_gate_results({"reflex_promotion": True})
    expected, expected_gated = snap.route("implementer"), gated.route("implementer")
    errors = []

    def work():
        for _ in range(2000):
            if snap.route("implementer") != expected or gated.route("implementer") != expected_gated:
                errors.append("differs")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
