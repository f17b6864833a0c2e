"""Routers load from OCI: load_snapshot("oci://…"), the blob cache, and a watcher following a tag
(a tag that moves is a new policy, verified before the switch; a bad one is refused and the
last known good stays live)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from compiler.errors import PolcError
from compiler.runtime import OciSnapshotWatcher, load_oci_snapshot, load_snapshot

from ..conftest import run_polc
from ..runtime.conftest import RICH_POLICY, build_project
from ..runtime.test_import_cost import heavy_in, imported_after
from .conftest import unique_bundle


def push(bundle, ref):
    result = run_polc("push", str(bundle), ref, "--plain-http")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def plain_http(oci_registry, monkeypatch):
    monkeypatch.setenv("POLC_OCI_PLAIN_HTTP", oci_registry.host)


def test_load_snapshot_from_a_tag_routes_like_the_bundle(oci_registry, docker_config, plain_http, repo, tmp_path):
    out = build_project(tmp_path / "proj")
    push(out / "policy.json", oci_registry.ref(repo, "prod"))
    cache = tmp_path / "cache"
    snap = load_snapshot(oci_registry.ref(repo, "prod"), root=cache)
    local = load_snapshot(out / "policy.json")
    assert snap.hash == local.hash
    assert [c.model for c in snap.route("architect")] == [c.model for c in local.route("architect")]
    assert sorted(p.name for p in (cache / "blobs" / "sha256").iterdir()) == sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / snap.hash).iterdir())


def test_cached_blobs_are_used_and_verified_on_read(oci_registry, docker_config, repo, tmp_path, out_dir, monkeypatch):
    from .test_push_pull import count_requests

    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    cache = tmp_path / "cache"
    load_oci_snapshot(oci_registry.ref(repo), plain_http=True, cache_dir=cache)
    seen = count_requests(monkeypatch)
    assert load_oci_snapshot(oci_registry.ref(repo), plain_http=True, cache_dir=cache).hash == bundle.name
    assert not [path for method, path in seen if "/blobs/" in path]  # every layer came from the cache
    weights = cache / "blobs" / "sha256" / hashlib.sha256((bundle / "policy.weights.bin").read_bytes()).hexdigest()
    weights.write_bytes(b"\0" * weights.stat().st_size)  # a damaged cache entry is dropped and fetched again
    del seen[:]
    assert load_oci_snapshot(oci_registry.ref(repo), plain_http=True, cache_dir=cache).hash == bundle.name
    assert [path for method, path in seen if "/blobs/" in path] == [f"/v2/{repo}/blobs/sha256:{weights.name}"]


def test_tls_is_the_default_for_the_runtime_too(oci_registry, docker_config, repo, tmp_path, out_dir):
    push(unique_bundle(out_dir), oci_registry.ref(repo))
    with pytest.raises(PolcError) as info:
        load_snapshot(oci_registry.ref(repo), root=tmp_path / "cache")
    assert info.value.exit_code == 3 and info.value.diagnostics[0].code == "POLC901"


def test_the_watcher_follows_a_tag_and_keeps_the_last_known_good(oci_registry, docker_config, repo, tmp_path,
                                                                 out_dir):
    first, second, third = (unique_bundle(out_dir / name) for name in ("a", "b", "c"))
    ref = oci_registry.ref(repo, "prod")
    push(first, ref)
    switches, refused = [], []
    watcher = OciSnapshotWatcher(ref, plain_http=True, cache_dir=tmp_path / "cache", env={},
                                 on_switch=lambda old, new: switches.append((old.hash, new.hash)),
                                 on_refused=refused.append)
    assert watcher.current.hash == first.name and watcher.poll() is False

    push(second, ref)  # the tag moves: a new policy, verified, goes live
    assert watcher.poll() is True
    assert watcher.current.hash == second.name and switches == [(first.name, second.name)]

    push(third, ref)  # the tag moves to a bundle whose blob the registry serves altered
    data = (third / "policy.weights.bin").read_bytes()
    blob = oci_registry.blob_path("sha256:" + hashlib.sha256(data).hexdigest())
    blob.write_bytes(bytes([blob.read_bytes()[0] ^ 1]) + blob.read_bytes()[1:])
    good = watcher.current
    assert watcher.poll() is False and watcher.current is good
    assert len(refused) == 1 and refused[0].error.exit_code == 4 and "POLC906" in refused[0].error.diagnostics[0].code
    assert watcher.poll() is False and len(refused) == 1  # the same refused digest is not fetched again

    push(first, ref)  # back to a good bundle: it goes live again
    assert watcher.poll() is True and watcher.current.hash == first.name


def test_the_watcher_reports_an_unreachable_registry_once_and_keeps_serving(oci_registry, docker_config, repo,
                                                                            tmp_path, out_dir, monkeypatch):
    import requests

    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    watcher = OciSnapshotWatcher(oci_registry.ref(repo), plain_http=True, cache_dir=tmp_path / "cache")
    good = watcher.current

    def refused(*args, **kwargs):  # the network goes away under the router
        raise requests.exceptions.ConnectionError("[Errno 111] Connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(requests.adapters.HTTPAdapter, "send", refused)
        assert watcher.poll() is False and watcher.poll() is False
        assert watcher.current is good
        assert [r.error.diagnostics[0].code for r in watcher.refusals] == ["POLC901"]
    assert watcher.poll() is False and len(watcher.refusals) == 1  # answering again: nothing new to report


def test_a_missing_tag_at_start_is_a_usage_error(oci_registry, docker_config, repo, tmp_path):
    with pytest.raises(PolcError) as info:
        OciSnapshotWatcher(oci_registry.ref(repo, "nope"), plain_http=True, cache_dir=tmp_path / "cache")
    assert info.value.exit_code == 2 and info.value.diagnostics[0].code == "POLC903"


OCI_LIBRARIES = ("oras", "requests", "jsonschema", "urllib3")


def test_importing_the_runtime_loads_no_oci_library():
    modules = imported_after("import compiler.runtime; from compiler.runtime import load_snapshot")
    assert {m for m in modules if m.split(".")[0] in OCI_LIBRARIES} == set()


def test_loading_from_oci_stays_light(oci_registry, docker_config, repo, tmp_path):
    out = build_project(tmp_path / "proj", RICH_POLICY.replace("hard_limit = 25.0", "hard_limit = 24.0"))
    push(out / "policy.json", oci_registry.ref(repo))
    statement = (f"import os; os.environ['POLC_OCI_PLAIN_HTTP'] = {oci_registry.host!r}; "
                 "from compiler.runtime import load_snapshot; "
                 f"s = load_snapshot({oci_registry.ref(repo)!r}, root={str(tmp_path / 'cache')!r}); "
                 "s.route('judge')")
    modules = imported_after(statement)
    # oras brings requests and jsonschema (its manifest schemas); nothing of the compiler's front end.
    assert heavy_in(modules) <= {m for m in modules if m.split(".")[0] == "jsonschema"}
    assert "oras" in modules


def test_the_cli_and_runtime_agree_on_exit_codes_for_a_closed_port(tmp_path):
    code = ("from compiler.runtime import load_snapshot\n"
            "try:\n    load_snapshot('oci://127.0.0.1:9/x/y:z', root='cache')\n"
            "except Exception as e:\n    print(type(e).__name__, int(e.exit_code), e.diagnostics[0].code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                         env={"POLC_OCI_PLAIN_HTTP": "127.0.0.1:9", "DOCKER_CONFIG": str(tmp_path),
                              "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.stdout.split() == ["InputError", "3", "POLC901"], out.stderr
