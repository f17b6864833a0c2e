"""[weights.<role>] and the deterministic split of snap.route(role, key=...)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from compiler.runtime.routing import Candidate
from compiler.runtime.split import SplitTable, pick, split_table, unit_point

from .helpers import BASE, compile_ok, diagnose, findings

WEIGHTS = '\n[weights.architect]\n"claude-sonnet-4-20250514" = 90\ngpt-4o = 10\n'


def test_valid_weights_lower_as_fractions_in_candidate_order(tmp_path):
    text = BASE + '\n[weights.architect]\ngpt-4o = 1\n"claude-sonnet-4-20250514" = 3\n'
    result = compile_ok(tmp_path / "a", text)
    assert list(result.snapshot["weights"]["architect"].items()) == [("claude-sonnet-4-20250514", 0.75),
                                                                     ("gpt-4o", 0.25)]
    # the same meaning on another scale builds the same snapshot
    same = compile_ok(tmp_path / "b", text.replace("= 1", "= 25").replace("= 3", "= 75"))
    assert same.hash == result.hash


def test_huge_and_tiny_weights_normalize_without_overflow(tmp_path):
    text = BASE + '\n[weights.architect]\n"claude-sonnet-4-20250514" = 1e308\ngpt-4o = 1e308\n'
    assert compile_ok(tmp_path / "a", text).snapshot["weights"]["architect"]["gpt-4o"] == 0.5
    text = BASE + '\n[weights.architect]\n"claude-sonnet-4-20250514" = 5e-324\ngpt-4o = 0\n'
    assert compile_ok(tmp_path / "b", text).snapshot["weights"]["architect"] == {
        "claude-sonnet-4-20250514": 1.0, "gpt-4o": 0.0}


@pytest.mark.parametrize("text, expected", [
    # a model that is not a candidate of the role: at its key
    (WEIGHTS.replace("gpt-4o = 10", "gpt-4o-mini = 10"), [("POLC524", 11, 1), ("POLC521", 13, 1)]),
    # negative: at the value
    (WEIGHTS.replace("gpt-4o = 10", "gpt-4o = -10"), [("POLC522", 13, 10)]),
    # all zero: at the table
    (WEIGHTS.replace("90", "0").replace("10", "0"), [("POLC523", 11, 1)]),
    ("\n[weights.architect]\n", [("POLC523", 11, 1)]),
    # a role routing does not define
    (WEIGHTS.replace("weights.architect", "weights.architekt"), [("POLC520", 11, 1)]),
    # a candidate without a weight: a warning
    (WEIGHTS.replace("gpt-4o = 10\n", ""), [("POLC524", 11, 1)]),
])
def test_bad_weights(tmp_path, text, expected):
    found = diagnose(tmp_path, BASE + text)
    assert [(c, line, col) for c, _, line, col in findings(found)] == expected


def test_did_you_mean_for_roles_and_models(tmp_path):
    found = diagnose(tmp_path, BASE + WEIGHTS.replace("weights.architect", "weights.architekt"))
    assert "did you mean `architect`" in found[0].hint
    found = diagnose(tmp_path, BASE + WEIGHTS.replace("gpt-4o = 10", "gpt-4 = 10"))
    assert "did you mean `gpt-4o`" in next(d for d in found if d.code == "POLC521").hint


def test_weight_of_wrong_type_is_a_schema_error(tmp_path):
    found = diagnose(tmp_path, BASE + WEIGHTS.replace("= 10", '= "10%"'))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("POLC101", 13, 10)]


def test_split_of_100000_keys_is_within_one_point_of_the_weights():
    shares = (("a", 70), ("b", 20), ("c", 0), ("d", 10))
    table = SplitTable("architect", shares)
    counts = Counter(table.models[table.index(f"request-{i}")] for i in range(100_000))
    assert all(pick("architect", f"request-{i}", shares).model == table.pick(f"request-{i}").model
               for i in range(200))
    assert counts["c"] == 0
    for model, share in (("a", 70), ("b", 20), ("d", 10)):
        assert abs(counts[model] / 1000 - share) < 1.0, counts


def test_points_are_uniform_and_role_dependent():
    points = [unit_point("judge", str(i)) for i in range(20_000)]
    assert all(0 <= p < 1 for p in points)
    assert abs(sum(points) / len(points) - 0.5) < 0.01
    assert unit_point("judge", "k") != unit_point("architect", "k")  # roles split independently
    assert unit_point("judge", "k") == unit_point("judge", b"k")
    assert unit_point("judge", 42) == unit_point("judge", "42")
    with pytest.raises(TypeError):
        unit_point("judge", 4.2)


def test_same_key_same_model_in_a_fresh_process():
    shares = (("a", 50), ("b", 30), ("c", 20))
    keys = [f"user-{i}" for i in range(200)]
    here = [pick("architect", k, shares).model for k in keys]
    code = ("import sys\nfrom compiler.runtime.split import pick\n"
            f"print(','.join(pick('architect', k, {shares!r}).model for k in {keys!r}))")
    for seed in ("0", "12345"):  # a different hash seed must not matter
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": seed, "PATH": ""}, cwd=str(__import__("pathlib").Path(
                                 __file__).resolve().parents[2]))
        assert out.stdout.strip().split(",") == here


def test_known_answers_pin_the_algorithm():
    # Routers on other machines and versions must agree: changing the hash, the domain string or
    # the interval order changes these answers, and that is a breaking change of the split.
    shares = (("a", 1), ("b", 1), ("c", 2))
    assert [pick("r", k, shares).model for k in "01234567"] == ["c", "c", "a", "b", "c", "a", "b", "a"]
    assert unit_point("judge", "user-42") == 0.9136948842700228


def test_the_pick_moves_first_and_the_rest_stay_as_fallbacks():
    candidates = (Candidate("local", "reflex", "promoted"), Candidate("a", "cloud", "routing.cloud.r[1]"),
                  Candidate("b", "cloud", "routing.cloud.r[2]"), Candidate("c", "fallback", "routing.fallback.r[1]"))
    table = split_table("r", {"a": 0.5, "b": 0.5})
    key = next(k for k in map(str, range(1000)) if table.pick(k).model == "b")
    routed = table.route(candidates, key)
    assert [c.model for c in routed] == ["local", "b", "a", "c"]
    assert routed[1].reason == "weights.r: the key's hash falls in `b`'s 50% share [0.5, 1)"
    assert table.route(candidates, key) is routed  # built once, then shared
    other = next(k for k in map(str, range(1000)) if table.pick(k).model == "a")
    assert [c.model for c in table.route(candidates, other)] == ["local", "a", "b", "c"]
    assert split_table("r", {}) is None


def test_zero_weights_get_nothing_and_all_zero_is_refused():
    table = SplitTable("r", [("a", 0), ("b", 1)])
    assert {table.pick(str(i)).model for i in range(500)} == {"b"}
    with pytest.raises(ValueError, match="sum to zero"):
        SplitTable("r", [("a", 0)])


def test_a_loaded_snapshot_splits_in_candidate_order_not_json_key_order(tmp_path):
    from compiler.runtime import load_snapshot

    text = BASE.replace('judge = ["claude-sonnet-4-20250514"]', 'judge = ["zeta", "alpha"]') + \
        "\n[weights.judge]\nzeta = 1\nalpha = 3\n"
    result = compile_ok(tmp_path, text)
    snap = load_snapshot(result.bundle_dir)
    written = SplitTable("judge", [("zeta", 0.25), ("alpha", 0.75)])
    keys = [f"k{i}" for i in range(400)]
    assert [snap.route("judge", key=k)[0].model for k in keys] == [written.pick(k).model for k in keys]
    sorted_order = SplitTable("judge", [("alpha", 0.75), ("zeta", 0.25)])
    assert any(written.pick(k).model != sorted_order.pick(k).model for k in keys)  # the order matters
