"""Snapshot paths map back to lines of the NEW sources (documented in docs/diff.md)."""

from __future__ import annotations

from compiler.diff.spans import SourceMap, rebase_span, yaml_index

TOML = """\
[routing.cloud]
architect = ["a", "b"]

[routing.reflex]
enabled = true

[capture]
mode = "full_io"
"""

SURFACE = """\
surface_version: policy_surface@v1
curvature_controls:
  max_gradient_norm: 0.5
deployment_constraints:
  safe_modes:
    - name: shadow
      toggle_env: POLICY_SHADOW_MODE=1
"""


def smap(prefix=""):
    return SourceMap.build({"m.toml": TOML, "s.yaml": SURFACE}, {"model_policy": "m.toml", "surface": "s.yaml"},
                           prefix)


def where(path, prefix=""):
    span = smap(prefix).locate(path)
    return None if span is None else (span.file, span.line, span.column)


def test_model_policy_paths_are_the_toml_paths():
    assert where(("routing", "cloud", "architect")) == ("m.toml", 2, 13)
    assert where(("routing", "cloud", "architect", 1)) == ("m.toml", 2, 19)
    assert where(("capture", "mode")) == ("m.toml", 8, 8)


def test_defaults_and_removed_keys_point_at_the_nearest_enclosing_key():
    assert where(("routing", "reflex", "gate")) == ("m.toml", 4, 1)       # a default: its table
    assert where(("routing", "cloud", "judge")) == ("m.toml", 1, 1)       # a removed role: [routing.cloud]


def test_surface_paths_map_onto_the_yaml():
    assert where(("surface", "curvature_controls", "max_gradient_norm")) == ("s.yaml", 3, 22)
    assert where(("surface", "deployment_constraints", "safe_modes", 0, "toggle_env")) == ("s.yaml", 7, 19)
    assert where(("surface", "reward_signals")) == ("s.yaml", 1, 1)       # not in the file: the document


def test_blocks_without_a_source_have_no_location():
    assert where(("rules", "gates", "x")) is None and where(()) is None
    assert SourceMap().locate(("routing", "cloud")) is None


def test_prefix_makes_names_relative_to_the_current_directory():
    assert where(("capture", "mode"), "policies/prod") == ("policies/prod/m.toml", 8, 8)
    assert rebase_span(None, "x") is None


def test_broken_or_hostile_yaml_gives_no_positions_rather_than_failing():
    assert yaml_index("s.yaml", "a: [1, 2\n") == {}
    # composing never constructs: a python tag is just a node with a position
    assert list(yaml_index("s.yaml", "!!python/object/apply:os.system ['true']\n")) == [(), (0,)]
    deep = "a:\n" + "".join("  " * i + " - \n" for i in range(1, 50))
    assert isinstance(yaml_index("s.yaml", deep), dict)
