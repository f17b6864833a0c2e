"""Compatibility is declared in policy.toml [build] and enforced: the runtime refuses a bundle
for another runner version or needing features it lacks (naming both), the registry reads the
runner a scope declares, and a manifest's rollout_state is validated on load."""

from __future__ import annotations

import json

import pytest

from compiler.bundle import open_head
from compiler.errors import IntegrityError, InputError
from compiler.runtime import load_snapshot
from compiler.version import __version__

from ..conftest import example_project, run_polc

BOUNDS = '\n[build.feature_groups]\ndepth = ">=2"\n'


def built(tmp_path, build: str, extra: str = ""):
    root = example_project(tmp_path / "example")
    text = (root / "policy.toml").read_text()
    (root / "policy.toml").write_text(text.replace('[build]\nout_dir = "artifacts/policy"\n',
                                                   '[build]\nout_dir = "artifacts/policy"\n' + build) + extra)
    checked = run_polc("check", cwd=root)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # the keys are part of the project schema
    result = run_polc("build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, root / "artifacts" / "policy"


def test_declared_compatibility_reaches_the_manifest(tmp_path):
    _, out = built(tmp_path, 'required_features = ["atoms", "depth"]\nmin_runner_version = "0.1.0"\n'
                             'max_runner_version = "9.0"\n', BOUNDS)
    compat = open_head(out).compatibility
    assert compat["required_features"] == ["atoms", "depth"] and compat["feature_groups"] == {"depth": ">=2"}
    assert (compat["min_runner_version"], compat["max_runner_version"]) == ("0.1.0", "9.0")


def test_a_bundle_for_a_newer_runner_is_refused_naming_both_versions(tmp_path):
    root, out = built(tmp_path, 'min_runner_version = "99.1"\n')
    with pytest.raises(InputError) as info:
        load_snapshot(out / "policy.json")
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.code == "POLC742" and "99.1" in diagnostic.message and __version__ in diagnostic.message
    routed = run_polc("route", "architect", cwd=root)
    assert routed.returncode == 3 and "POLC742" in routed.stderr
    shown = run_polc("show", open_head(out).hash[:12], cwd=root)  # inspecting is not serving
    assert shown.returncode == 0, shown.stderr


def test_a_bundle_needing_features_the_runner_lacks_is_refused(tmp_path):
    root, out = built(tmp_path, 'required_features = ["atoms"]\n', BOUNDS)
    with pytest.raises(InputError) as info:
        load_snapshot(out / "policy.json")
    message = info.value.diagnostics[0].message
    assert info.value.diagnostics[0].code == "POLC743" and "`atoms`" in message and "`depth` >=2" in message
    assert "routing" in message  # what the runner does provide
    with pytest.raises(InputError):
        load_snapshot(out / "policy.json", features={"atoms": "1", "depth": "1"})  # depth too old
    assert load_snapshot(out / "policy.json", features={"atoms": "1", "depth": "2"}).route("architect")
    refused = run_polc("route", "architect", cwd=root)
    assert refused.returncode == 3 and "POLC743" in refused.stderr
    allowed = run_polc("route", "architect", cwd=root, env={"POLC_RUNNER_FEATURES": "atoms, depth=2.1"})
    assert allowed.returncode == 0, allowed.stderr


def test_inverted_or_malformed_runner_bounds_are_project_errors(tmp_path):
    root = example_project(tmp_path / "example")
    policy = root / "policy.toml"
    text = policy.read_text()
    policy.write_text(text.replace('out_dir = "artifacts/policy"\n', 'out_dir = "artifacts/policy"\n'
                                   'min_runner_version = "2.0"\nmax_runner_version = "1.9"\n'))
    checked = run_polc("check", "--format", "json", cwd=root)
    assert checked.returncode == 1
    found = json.loads(checked.stdout)["diagnostics"]
    assert [d["code"] for d in found] == ["POLC031"] and (found[0]["file"], found[0]["line"]) == ("policy.toml", 16)
    policy.write_text(text.replace('out_dir = "artifacts/policy"\n',
                                   'out_dir = "artifacts/policy"\nmin_runner_version = "next week"\n'))
    assert "POLC031" in run_polc("check", cwd=root).stdout


def test_the_registry_reads_the_runner_a_scope_declares(tmp_path):
    from compiler.project import load_project
    from compiler.registry import RegistryConfig, Scope

    root = example_project(tmp_path / "example", extra='\n[[registry.scopes]]\nenvironment = "prod"\n'
                                                       'runner_version = "0.0.1"\n')
    assert run_polc("check", cwd=root).returncode == 0
    config = RegistryConfig.from_project(load_project(root))
    assert config.scope_features(Scope("prod", "polc-example")).runner_version == "0.0.1"


def test_an_unknown_rollout_state_is_refused_on_load(tmp_path):
    from compiler.bundle import manifest_digest
    from compiler.canonical import canonical_json

    _, out = built(tmp_path, "")
    bundle = open_head(out)
    manifest = {k: v for k, v in bundle.manifest.items() if k != "sha256"}
    manifest["rollout_state"] = "live"
    manifest["sha256"] = manifest_digest(manifest)
    (bundle.path / "policy.manifest.json").write_bytes(canonical_json(manifest))
    with pytest.raises(IntegrityError) as info:
        load_snapshot(bundle.path)
    assert info.value.diagnostics[0].code == "POLC703" and "rollout_state 'live'" in info.value.diagnostics[0].message
