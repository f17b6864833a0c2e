"""`polc push` / `polc pull` against a real distribution registry: round trips, no re-upload,
the artifact's shape, integrity (a blob tampered on disk), and every kind of bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from compiler.cli import cli
from compiler.bundle import open_bundle

from ..conftest import run_polc
from .conftest import basic_auth, tree, unique_bundle, write_docker_config

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def polc(*args, env=None):
    return run_polc(*args, env=env)


def push(bundle, ref, *extra):
    result = polc("push", str(bundle), ref, "--plain-http", *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_round_trip_gives_byte_identical_files_and_the_same_hash(oci_registry, docker_config, repo, tmp_path,
                                                                 out_dir):
    bundle = unique_bundle(out_dir)
    digest = push(bundle, oci_registry.ref(repo))
    assert digest.startswith("sha256:") and len(digest) == 71
    for source in (oci_registry.ref(repo), f"oci://{oci_registry.host}/{repo}@{digest}"):
        pulled_out = tmp_path / f"pulled-{len(source)}"
        result = polc("pull", source, "--plain-http", "--out", str(pulled_out))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == bundle.name
        assert tree(pulled_out / bundle.name) == tree(bundle)
        assert open_bundle(pulled_out / bundle.name).hash == bundle.name
        assert not (pulled_out / "policy.json").exists()  # no --set-head: the head is not touched


def test_set_head_points_the_out_dir_at_the_pulled_bundle(oci_registry, docker_config, repo, tmp_path, out_dir):
    first, second = unique_bundle(out_dir / "a"), unique_bundle(out_dir / "b")
    push(first, oci_registry.ref(repo, "one"))
    push(second, oci_registry.ref(repo, "two"))
    target = tmp_path / "router"
    for tag, bundle in (("one", first), ("two", second)):
        result = polc("pull", oci_registry.ref(repo, tag), "--plain-http", "--out", str(target), "--set-head")
        assert result.returncode == 0, result.stderr
        assert json.loads((target / "policy.json").read_bytes())["active"] == bundle.name
    from compiler.runtime import load_snapshot

    assert load_snapshot(target / "policy.json").hash == second.name


def count_requests(monkeypatch) -> list[tuple[str, str]]:
    """Every HTTP request this process sends from now on, as (method, path)."""
    from urllib.parse import urlsplit

    seen: list[tuple[str, str]] = []
    send = requests.Session.send

    def counting(self, request, **kwargs):
        seen.append((request.method, urlsplit(request.url).path))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    return seen


def report_manifest(oci_registry, repo, tag="v1") -> bytes:
    return oci_registry.get(f"{repo}/manifests/{tag}").content


def test_pushing_the_same_bundle_twice_uploads_no_blob(oci_registry, docker_config, repo, out_dir, monkeypatch):
    bundle = unique_bundle(out_dir)
    seen = count_requests(monkeypatch)
    runner = CliRunner()
    digests = []
    for attempt in range(2):
        del seen[:]
        result = runner.invoke(cli, ["push", str(bundle), oci_registry.ref(repo), "--plain-http", "--format", "json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        digests.append(report["digest"])
        uploads = [r for r in seen if r[0] in ("POST", "PATCH") or (r[0] == "PUT" and "/blobs/uploads/" in r[1])]
        manifest_puts = [r for r in seen if r[0] == "PUT" and "/manifests/" in r[1]]
        if attempt == 0:
            assert len(report["blobs_uploaded"]) == 4  # the empty config and three bundle files
            layers = json.loads(report_manifest(oci_registry, repo))["layers"]
            assert {layer["mediaType"] for layer in layers} >= {"application/vnd.polc.weights.v1"}
            assert uploads and manifest_puts
        else:
            assert report["blobs_uploaded"] == [] and len(report["blobs_present"]) == 4
            assert uploads == [] and manifest_puts == []  # every blob HEADed, nothing sent
            assert {m for m, _ in seen} <= {"GET", "HEAD"}
    assert digests[0] == digests[1]


def named_bundle(out_dir):
    """A bundle whose manifest names its policy (`[project] name`), with unique content."""
    import uuid

    from compiler.bundle import make_bundle, write_bundle

    made = make_bundle({"schema_version": "1.0", "routing": {}, "gates": {}, "budgets": {"nonce": uuid.uuid4().hex}},
                       created_at="2026-01-02T03:04:05Z", project={"name": "router", "version": "2026.11.23"})
    return write_bundle(out_dir, made)


def test_the_artifact_is_an_oci_manifest_with_a_layer_per_file(oci_registry, docker_config, repo, out_dir):
    bundle = named_bundle(out_dir)
    digest = push(bundle, oci_registry.ref(repo))
    response = oci_registry.get(f"{repo}/manifests/v1")
    raw = response.content
    assert response.headers["Content-Type"] == MANIFEST and "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    manifest = json.loads(raw)
    stored = open_bundle(bundle)
    assert manifest["artifactType"] == "application/vnd.polc.bundle.v1"
    assert manifest["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                                  "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest()}
    layers = {layer["annotations"]["org.opencontainers.image.title"]: layer for layer in manifest["layers"]}
    assert set(layers) == set(stored.files)
    assert layers["snapshot.json"]["mediaType"] == "application/vnd.polc.snapshot.v1+json"
    assert layers["policy.manifest.json"]["mediaType"] == "application/vnd.polc.manifest.v1+json"
    for name, layer in layers.items():
        assert layer["digest"] == "sha256:" + hashlib.sha256(stored.files[name]).hexdigest()
        assert layer["size"] == len(stored.files[name])
    assert manifest["annotations"] == {
        "dev.polc.bundle.hash": bundle.name, "dev.polc.policy.id": stored.policy_id,
        "dev.polc.policy.name": "router", "org.opencontainers.image.version": "2026.11.23",
        "org.opencontainers.image.created": "2026-01-02T03:04:05Z"}
    # The same bundle under another tag, pushed later: the same manifest, byte for byte.
    assert push(bundle, oci_registry.ref(repo, "again")) == digest


def test_a_registry_serving_an_altered_layer_is_an_integrity_error_and_nothing_is_written(
        oci_registry, docker_config, repo, tmp_path, out_dir):
    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    weights = (bundle / "policy.weights.bin").read_bytes()
    blob = oci_registry.blob_path("sha256:" + hashlib.sha256(weights).hexdigest())
    altered = bytearray(blob.read_bytes())
    altered[3] ^= 0x01  # same size, one bit flipped
    blob.write_bytes(bytes(altered))
    target = tmp_path / "router"
    target.mkdir()
    (target / "keep.txt").write_text("untouched")
    before = tree(target)
    result = polc("pull", oci_registry.ref(repo), "--plain-http", "--out", str(target), "--set-head")
    assert result.returncode == 4, result.stderr
    assert "POLC906" in result.stderr and "altered" in result.stderr
    assert tree(target) == before and sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_an_artifact_claiming_another_bundle_is_refused(oci_registry, docker_config, repo, tmp_path, out_dir):
    """Layers that verify as a bundle, but not the one the manifest's annotation names."""
    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    manifest = json.loads(report_manifest(oci_registry, repo))
    manifest["annotations"]["dev.polc.bundle.hash"] = "0" * 64
    response = requests.put(f"http://{oci_registry.host}/v2/{repo}/manifests/forged", data=json.dumps(manifest),
                            auth=(oci_registry.username, oci_registry.password), timeout=30,
                            headers={"Content-Type": MANIFEST})
    assert response.status_code == 201
    result = polc("pull", oci_registry.ref(repo, "forged"), "--plain-http", "--out", str(tmp_path / "router"))
    assert result.returncode == 4 and "POLC705" in result.stderr, result.stderr
    assert not (tmp_path / "router").exists() or not any((tmp_path / "router").iterdir())


@pytest.mark.parametrize("case", ["missing tag", "missing digest", "bad reference", "closed port", "tls by default",
                                  "no credentials", "wrong password", "broken docker config", "size limit"])
def test_bad_input_is_a_diagnostic_with_its_exit_code(case, oci_registry, docker_config, repo, tmp_path, out_dir):
    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    ref, extra, env = oci_registry.ref(repo), ["--plain-http"], None
    code, diagnostic, words = {
        "missing tag": (2, "POLC903", "does not exist"),
        "missing digest": (2, "POLC903", "does not exist"),
        "bad reference": (2, "POLC900", "lowercase"),
        "closed port": (3, "POLC901", "cannot be reached"),
        "tls by default": (3, "POLC901", "--plain-http"),
        "no credentials": (3, "POLC902", "401"),
        "wrong password": (3, "POLC902", "401"),
        "broken docker config": (3, "POLC909", "not JSON"),
        "size limit": (3, "POLC905", "over the limit"),
    }[case]
    if case == "missing tag":
        ref = oci_registry.ref(repo, "nope")
    elif case == "missing digest":
        ref = f"oci://{oci_registry.host}/{repo}@sha256:{'0' * 64}"
    elif case == "bad reference":
        ref = f"oci://{oci_registry.host}/{repo.upper()}:v1"
    elif case == "closed port":
        ref = f"oci://127.0.0.1:9/{repo}:v1"
    elif case == "tls by default":
        extra = []
    elif case == "no credentials":
        env = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "empty", {}))}
    elif case == "wrong password":
        env = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "wrong", {
            oci_registry.host: {"auth": basic_auth(oci_registry.username, "not-the-password")}}))}
    elif case == "broken docker config":
        (docker_config / "config.json").write_text("{not json")
    elif case == "size limit":
        extra += ["--max-layer-bytes", "100"]
    target = tmp_path / "router"
    result = polc("pull", ref, *extra, "--out", str(target), env=env)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert f"error[{diagnostic}]" in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists() or not any(target.iterdir())


def test_push_refuses_a_damaged_bundle_and_a_digest_target(oci_registry, docker_config, repo, out_dir):
    bundle = unique_bundle(out_dir)
    result = polc("push", str(bundle), f"oci://{oci_registry.host}/{repo}@sha256:{'0' * 64}", "--plain-http")
    assert result.returncode == 2 and "POLC900" in result.stderr
    (bundle / "policy.weights.bin").write_bytes(b"\0" * (bundle / "policy.weights.bin").stat().st_size)
    result = polc("push", str(bundle), oci_registry.ref(repo), "--plain-http")
    assert result.returncode == 4, result.stderr
    assert oci_registry.get(f"{repo}/manifests/v1").status_code == 404  # nothing went out


def test_push_resolves_a_hash_prefix_and_the_head_pointer(oci_registry, docker_config, repo, out_dir):
    bundle = unique_bundle(out_dir)
    by_prefix = push(bundle.name[:10], oci_registry.ref(repo, "a"), "--out", str(out_dir))
    by_head = push(out_dir / "policy.json", oci_registry.ref(repo, "b"))
    by_dir = push(bundle, oci_registry.ref(repo, "c"))
    assert by_prefix == by_head == by_dir


def test_a_manifest_of_another_artifact_type_is_refused(oci_registry, docker_config, repo, tmp_path):
    data = b'{"not": "a bundle"}'
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    auth = (oci_registry.username, oci_registry.password)
    base = f"http://{oci_registry.host}/v2/{repo}"
    for blob in (data, b"{}"):
        location = requests.post(f"{base}/blobs/uploads/", auth=auth, timeout=30).headers["Location"]
        url = location if location.startswith("http") else f"http://{oci_registry.host}{location}"
        blob_digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        assert requests.put(url, params={"digest": blob_digest}, data=blob, auth=auth, timeout=30).status_code == 201
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.example.thing.v1",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                           "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest()},
                "layers": [{"mediaType": "application/json", "size": len(data), "digest": digest,
                            "annotations": {"org.opencontainers.image.title": "thing.json"}}]}
    assert requests.put(f"{base}/manifests/v1", data=json.dumps(manifest), auth=auth, timeout=30,
                        headers={"Content-Type": MANIFEST}).status_code == 201
    result = polc("pull", oci_registry.ref(repo), "--plain-http", "--out", str(tmp_path / "router"))
    assert result.returncode == 3, result.stderr
    assert "POLC904" in result.stderr and "application/vnd.example.thing.v1" in result.stderr
    assert not (tmp_path / "router").exists() or not any((tmp_path / "router").iterdir())


def test_credentials_from_a_docker_credential_helper(oci_registry, repo, tmp_path, out_dir, monkeypatch):
    helper = tmp_path / "bin" / "docker-credential-polctest"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\nread host\n"
                      f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"{oci_registry.username}\","
                      f"\"Secret\":\"{oci_registry.password}\"}}' \"$host\"\n")
    helper.chmod(0o755)
    config = write_docker_config(tmp_path / "docker", {}, credHelpers={oci_registry.host: "polctest"})
    env = {"DOCKER_CONFIG": str(config), "PATH": f"{helper.parent}:{Path('/usr/bin')}:{Path('/bin')}"}
    bundle = unique_bundle(out_dir)
    result = polc("push", str(bundle), oci_registry.ref(repo), "--plain-http", env=env)
    assert result.returncode == 0, result.stderr
    result = polc("pull", oci_registry.ref(repo), "--plain-http", "--out", str(tmp_path / "pulled"), env=env)
    assert result.returncode == 0 and result.stdout.strip() == bundle.name, result.stderr


def test_a_pulled_bundle_goes_to_a_configured_capsule_too(oci_registry, docker_config, repo, tmp_path, out_dir):
    bundle = unique_bundle(out_dir)
    push(bundle, oci_registry.ref(repo))
    router = tmp_path / "router"
    router.mkdir()
    (router / "policy.toml").write_text('[project]\nname = "router"\n[sources]\nmodel_policy = "m.toml"\n'
                                        '[storage]\ncapsule = "capsule.sqlite"\n')
    pulled = run_polc("pull", oci_registry.ref(repo), "--plain-http", "--set-head", cwd=router)
    assert pulled.returncode == 0, pulled.stderr
    parity = run_polc("verify", "--parity", cwd=router)
    assert parity.returncode == 0, parity.stdout + parity.stderr
