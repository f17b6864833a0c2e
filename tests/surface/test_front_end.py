"""The surface front end: safe YAML with positions, schema and semantic checks, normalization."""

from __future__ import annotations

import math

import pytest
import yaml

from compiler.errors import InputError
from compiler.sources import Source
from compiler.surface import checks
from compiler.surface.normalize import meaning, normalize, to_yaml
from compiler.surface.yaml_front import parse_yaml

from ..conftest import REPO

EXAMPLE = (REPO / "examples" / "policy.surface.yaml").read_text(encoding="utf-8")


def doc(text: str):
    return parse_yaml(Source("s.yaml", None, text, "", len(text)))


def diagnose(text: str) -> list[tuple[str, str]]:
    d = doc(text)
    found = checks.check_schema(d)
    if not any(x.is_error for x in found):
        found += checks.check_semantics(d)
    return [(x.code, str(x.span)) for x in found]


def test_example_is_clean_and_positions_are_exact():
    d = doc(EXAMPLE)
    assert diagnose(EXAMPLE) == []
    assert str(d.index.value(("feature_space", 0, "bounds"))) == "s.yaml:7:13"
    assert str(d.index.key(("curvature_controls", "damping_factor"))) == "s.yaml:22:3"


@pytest.mark.parametrize("text, code, where", [
    ("x: !!python/object/apply:os.system ['echo owned']\n", "POLC301", "s.yaml:1:4"),
    ("x: !!python/name:os.system\n", "POLC301", "s.yaml:1:4"),
    ("x: !custom 1\n", "POLC301", "s.yaml:1:4"),
    ("a: &anchor [1, 2]\nb: *anchor\n", "POLC301", None),
    ("base: {a: 1}\nx:\n  <<: {a: 2}\n", "POLC301", "s.yaml:3:3"),
    ("a: 1\na: 2\n", "POLC302", "s.yaml:2:1"),
    ("feature_space: [\n", "POLC300", None),
    ("a: 1\n---\nb: 2\n", "POLC300", None),
    ("a:\n\tb: 1\n", "POLC300", "s.yaml:2:1"),
])
def test_unsafe_or_malformed_yaml_is_an_input_error(text, code, where):
    with pytest.raises(InputError) as info:
        doc(text)
    first = info.value.diagnostics[0]
    assert first.code == code
    if where:
        assert str(first.span) == where


def test_unsafe_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "owned"
    with pytest.raises(InputError):
        doc(f"x: !!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()


def test_billion_laughs_is_refused_before_expansion():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    with pytest.raises(InputError) as info:
        doc("\n".join(lines) + "\n")
    assert info.value.diagnostics[0].code == "POLC301"


def edit(old: str, new: str) -> str:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1)


@pytest.mark.parametrize("text, expected", [
    (edit("bounds: [1, 64]", "bounds: [5, 1]"), [("POLC311", "s.yaml:7:13")]),
    (edit("bounds: [1, 64]", "bounds: [1, .inf]"), [("POLC311", "s.yaml:7:13")]),
    (edit("bounds: [1, 64]", "bounds: [-2, 64]"), [("POLC311", "s.yaml:7:13")]),   # log1p undefined at -2
    (edit("transform: log1p", "transform: log2"), [("POLC310", "s.yaml:6:16")]),
    (edit("  - name: depth", "  - name: atoms"), [("POLC312", "s.yaml:8:11")]),
    (edit("weight: -0.8", "weight: .nan"), [("POLC314", "s.yaml:15:29")]),
    (edit("window: 16", "window: 0"), [("POLC314", "s.yaml:16:37")]),
    (edit("abstention_gradient)", "abstention_gradiant)"), [("POLC315", "s.yaml:19:13")]),
    (edit("concat(policy_gradient", "stack(policy_gradient"), [("POLC315", "s.yaml:19:13")]),
    (edit("concat(policy_gradient, abstention_gradient)", "concat(policy_gradient,"), [("POLC315", "s.yaml:19:13")]),
    (edit("max_gradient_norm: 0.5", "max_gradient_norm: -1"), [("POLC316", "s.yaml:21:22")]),
    (edit("damping_factor: 0.2", "damping_factor: 1.5"), [("POLC316", "s.yaml:22:19")]),
    (edit("toggle_env: POLICY_SAFE_MODE=1", "toggle_env: POLICY_SAFE_MODE"), [("POLC317", "s.yaml:27:19")]),
    (edit("surface_version: policy_surface@v1", "surface_version: v1"), [("POLC303", "s.yaml:3:18")]),
    # a misspelled required key is one error at the misspelling (no "missing `transform`" besides)
    (edit("    transform: identity\n", "    transfrom: identity\n"), [("POLC305", "s.yaml:9:5")]),
    (edit("bounds: [1, 8]", "bounds: [1, \"8\"]"), [("POLC304", "s.yaml:10:17")]),
    ("- 1\n- 2\n", [("POLC304", "s.yaml:1:1")]),
])
def test_semantic_and_schema_errors_point_at_the_value(text, expected):
    assert sorted(diagnose(text)) == sorted(expected)


def test_throughput_gradient_of_declared_signal_is_known():
    text = edit("concat(policy_gradient, abstention_gradient)", "sum(throughput_gradient, abstention_mass_gradient)")
    assert diagnose(text) == []


def test_minmax_without_bounds_warns_and_normalizes_to_unit_range():
    text = edit("    transform: minmax\n    bounds: [0, 1]\n", "    transform: minmax\n")
    d = doc(text)
    warnings = checks.check_semantics(d)
    assert [(w.code, w.severity.value) for w in warnings] == [("POLC313", "warning")]
    assert normalize(d.data)["feature_space"][2]["bounds"] == [0.0, 1.0]


def test_normalized_yaml_is_deterministic_and_round_trips():
    surface = normalize(doc(EXAMPLE).data)
    data = to_yaml(surface)
    assert data == to_yaml(normalize(doc(EXAMPLE).data))
    assert yaml.safe_load(data) == surface
    # The normalized file is itself a valid surface that normalizes to the same thing.
    again = doc(data.decode())
    assert diagnose(data.decode()) == []
    assert normalize(again.data) == surface


def test_equal_meaning_gives_equal_bytes():
    reordered = edit("  abstention_mass: {weight: -0.8, window: 32}\n  throughput: {weight: 0.3, window: 16}\n",
                     "  throughput: {window: 16, weight: 0.3}\n  abstention_mass: {weight: -0.80, window: 32}\n")
    spaced = reordered.replace("concat(policy_gradient, abstention_gradient)", "concat( policy_gradient,abstention_gradient )")
    assert to_yaml(normalize(doc(spaced).data)) == to_yaml(normalize(doc(EXAMPLE).data))


def test_tricky_floats_survive_normalization():
    text = edit("weight: 0.3", "weight: 1.0e-7").replace("weight: -0.8", "weight: 12345678901234567.0")
    surface = normalize(doc(text).data)
    back = yaml.safe_load(to_yaml(surface))
    assert back["reward_signals"]["throughput"]["weight"] == 1e-7
    assert back["reward_signals"]["abstention_mass"]["weight"] == 12345678901234567.0


def test_descriptions_are_cosmetic_but_bounds_are_not():
    base = normalize(doc(EXAMPLE).data)
    described = normalize(doc(edit("Disable stochastic tie-breakers.", "No randomness.")).data)
    widened = normalize(doc(edit("bounds: [1, 8]", "bounds: [1, 9]")).data)
    assert meaning(described) == meaning(base)
    assert meaning(widened) != meaning(base)
    assert not math.isnan(base["curvature_controls"]["damping_factor"])


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(text=st.text(), number=st.floats(allow_nan=False, allow_infinity=False))
def test_any_string_and_finite_number_round_trip_through_the_yaml_writer(text, number):
    from compiler.surface.normalize import scalar

    assert yaml.safe_load("x: " + scalar(text))["x"] == text
    assert yaml.safe_load("x: " + scalar(number))["x"] == number


@pytest.mark.parametrize("name", ["yes", "No", "null", "on", "OFF", "y", "true"])
def test_reward_signals_named_like_yaml_keywords_round_trip(name):
    text = edit("throughput: {weight: 0.3, window: 16}", f'"{name}": {{weight: 0.3, window: 16}}')
    surface = normalize(doc(text).data)
    assert name in surface["reward_signals"]
    assert yaml.safe_load(to_yaml(surface)) == surface
