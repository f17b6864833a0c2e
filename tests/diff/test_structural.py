"""The structural diff: every added/removed/changed path, element-level list changes, linear walk."""

from __future__ import annotations

from compiler.diff.model import ListDelta
from compiler.diff.structural import diff_snapshots, element_delta, same

from .helpers import EXAMPLE_POLICY, edit, snapshot_of


def paths(changes):
    return [(c.dotted, c.kind) for c in changes]


def test_identical_snapshots_have_no_changes(tmp_path):
    snap = snapshot_of(tmp_path)
    assert diff_snapshots(snap, dict(snap)) == []


def test_identity_fields_are_not_changes():
    assert diff_snapshots({"hash": "a", "policy_id": "x", "created_at": "1", "k": 1},
                          {"hash": "b", "policy_id": "y", "created_at": "2", "k": 1}) == []


def test_every_kind_of_change_with_old_and_new_values(tmp_path):
    old = snapshot_of(tmp_path, EXAMPLE_POLICY, "old")
    new = snapshot_of(tmp_path, edit(
        EXAMPLE_POLICY,
        ('mode = "prompts_only"', 'mode = "full_io"'),
        ("[gates.local_memory_sunset]\nretrieval_p95_parity = true\nstability_days = 30\n", ""),
        ("plan = 8000", "plan = 8000\nreview = 1000"),
    ) + "\n[routing.fallback]\njudge = [\"gpt-4o\"]\n", "new")
    changes = {c.dotted: c for c in diff_snapshots(old, new)}
    assert (changes["capture.mode"].kind, changes["capture.mode"].old, changes["capture.mode"].new) == \
        ("changed", "prompts_only", "full_io")
    assert changes["gates.local_memory_sunset"].kind == "removed"
    assert changes["gates.local_memory_sunset"].old == {"retrieval_p95_parity": True, "stability_days": 30}
    assert changes["budgets.tokens.review"].kind == "added" and changes["budgets.tokens.review"].new == 1000
    assert changes["routing.fallback.judge"].kind == "added"
    assert changes["capture.mode"].block == "capture" and changes["gates.local_memory_sunset"].block == "gates"


def test_model_lists_show_element_adds_removes_and_reorders():
    old = {"routing": {"cloud": {"a": ["m1", "m2", "m3"], "b": ["x", "y"], "c": ["p"]}}}
    new = {"routing": {"cloud": {"a": ["m3", "m1", "m4"], "b": ["y", "x"], "c": ["p"]}}}
    changes = {c.dotted: c for c in diff_snapshots(old, new)}
    assert changes["routing.cloud.a"].elements == ListDelta(("m4",), ("m2",), True)
    assert changes["routing.cloud.b"].elements == ListDelta((), (), True)
    assert "routing.cloud.c" not in changes


def test_json_equality_keeps_booleans_apart_from_numbers():
    assert same(1, 1.0) and not same(True, 1) and not same(0, False) and not same("1", 1)
    assert paths(diff_snapshots({"g": {"x": 1}}, {"g": {"x": True}})) == [("g.x", "changed")]
    assert element_delta([1, True], [True, 1]) == ListDelta((), (), True)


def test_type_change_and_null_are_changes():
    assert paths(diff_snapshots({"b": {"cost": None}}, {"b": {"cost": {"hard_limit": 3}}})) == [("b.cost", "changed")]
    assert paths(diff_snapshots({"b": [1]}, {"b": {"x": 1}})) == [("b", "changed")]


def test_named_tables_are_matched_by_name_not_position():
    old = {"surface": {"safe_modes": [{"name": "a", "t": 1}, {"name": "b", "t": 2}]}}
    new = {"surface": {"safe_modes": [{"name": "b", "t": 3}]}}
    assert paths(diff_snapshots(old, new)) == [("surface.safe_modes[0].t", "changed"),
                                               ("surface.safe_modes[0]", "removed")]
    assert diff_snapshots(old, new)[1].old == {"name": "a", "t": 1}


def test_lists_of_tables_of_another_length_change_as_a_whole():
    changes = diff_snapshots({"x": [{"a": 1}]}, {"x": [{"a": 1}, {"a": 2}]})
    assert paths(changes) == [("x", "changed")]


def test_quoted_keys_in_dotted_paths():
    assert paths(diff_snapshots({"gates": {"a.b": 1}}, {"gates": {"a.b": 2}})) == [('gates."a.b"', "changed")]


def test_large_snapshots_diff_without_recursion_trouble():
    old = {"routing": {"cloud": {f"r{i}": [f"m{i}", "base"] for i in range(20_000)}}}
    new = {"routing": {"cloud": {f"r{i}": ["base", f"m{i}"] for i in range(20_000)}}}
    changes = diff_snapshots(old, new)
    assert len(changes) == 20_000 and all(c.elements.reordered for c in changes)
