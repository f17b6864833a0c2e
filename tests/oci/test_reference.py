"""References, artifact checks, the docker credentials file and the doctests of compiler/oci (no registry)."""

from __future__ import annotations

import doctest
import json

import pytest

import compiler.oci.artifact
import compiler.oci.cache
import compiler.oci.errors
import compiler.oci.reference
from compiler.errors import InputError, UsageError
from compiler.oci.artifact import layer_files, parse_manifest
from compiler.oci.client import read_docker_config
from compiler.oci.reference import OciRef, parse_ref


@pytest.mark.parametrize("module", [compiler.oci.artifact, compiler.oci.cache,
                                    compiler.oci.errors, compiler.oci.reference])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("text, expected", [
    ("oci://localhost:5000/router", OciRef("localhost:5000", "router")),
    ("oci://r.example/a/b-c/d_e:v1.2", OciRef("r.example", "a/b-c/d_e", "v1.2")),
    ("oci://[::1]:5000/p@sha256:" + "a" * 64, OciRef("[::1]:5000", "p", None, "sha256:" + "a" * 64)),
    ("oci://r.example/p:tag@sha256:" + "b" * 64, OciRef("r.example", "p", "tag", "sha256:" + "b" * 64)),
])
def test_references_parse(text, expected):
    ref = parse_ref(text)
    assert ref == expected
    assert ref.reference == (expected.digest or expected.tag or "latest")


@pytest.mark.parametrize("text, words", [
    ("https://r.example/p:v1", "does not start with oci://"),
    ("oci://r.example", "repository"),
    ("oci:///p:v1", "not a registry host"),
    ("oci://r.example/p:" + "x" * 129, "1-128"),
    ("oci://r.example/p:-x", "1-128"),
    ("oci://r.example/p@sha256:abc", "64 lowercase hex"),
    ("oci://r.example/p@md5:" + "a" * 32, "64 lowercase hex"),
    ("oci://r.example/../p:v1", "lowercase path components"),
])
def test_bad_references_are_usage_errors(text, words):
    with pytest.raises(UsageError) as info:
        parse_ref(text)
    assert info.value.diagnostics[0].code == "POLC900" and words in info.value.message


def manifest(**changes) -> bytes:
    base = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.polc.bundle.v1",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:" + "4" * 64},
            "layers": [{"mediaType": "application/vnd.polc.snapshot.v1+json", "size": 10, "digest": "sha256:" + "1" * 64,
                        "annotations": {"org.opencontainers.image.title": "snapshot.json"}}]}
    base.update(changes)
    return json.dumps(base).encode()


@pytest.mark.parametrize("raw, words", [
    (b"\xff", "not JSON"),
    (b"[]", "schemaVersion 2"),
    (manifest(artifactType=None), "artifact type is application/vnd.oci.empty.v1+json"),
    (manifest(mediaType="application/vnd.oci.image.index.v1+json"), "not an image manifest"),
    (manifest(layers=[{"mediaType": "x", "size": -1, "digest": "sha256:" + "1" * 64}]), "descriptors"),
    (manifest(layers=[{"mediaType": "x", "size": 1, "digest": "sha256:../../etc"}]), "descriptors"),
])
def test_manifests_that_are_not_bundles_are_refused(raw, words):
    with pytest.raises(InputError) as info:
        parse_manifest(raw, "oci://r/p:v1")
    assert info.value.diagnostics[0].code == "POLC904" and words in info.value.message


@pytest.mark.parametrize("title, words", [("../snapshot.json", "plain file name"), (".hidden", "plain file name"),
                                          (None, "plain file name")])
def test_layer_titles_must_be_plain_file_names(title, words):
    layer = {"mediaType": "x", "size": 1, "digest": "sha256:" + "1" * 64}
    if title:
        layer["annotations"] = {"org.opencontainers.image.title": title}
    with pytest.raises(InputError, match=words):
        layer_files(parse_manifest(manifest(layers=[layer]), "m"), max_layer_bytes=10)


def test_two_layers_with_one_title_are_refused():
    layer = {"mediaType": "x", "size": 1, "digest": "sha256:" + "1" * 64,
             "annotations": {"org.opencontainers.image.title": "snapshot.json"}}
    with pytest.raises(InputError, match="two layers"):
        layer_files(parse_manifest(manifest(layers=[layer, layer]), "m"), max_layer_bytes=10)


def test_the_docker_config_is_read_from_docker_config_only(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"r.example": {"auth": "dTpw"}}}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    assert read_docker_config()["auths"] == {"r.example": {"auth": "dTpw"}}
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"auths": {}, "credsStore": "pass"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(other))
    assert read_docker_config() == {"auths": {}, "credsStore": "pass", "credHelpers": {}}


@pytest.mark.parametrize("content, words", [("{", "not JSON"), ("[]", "`auths` object"),
                                            ('{"auths": {"r": {"auth": "%%%"}}}', "not base64")])
def test_a_broken_docker_config_is_an_input_error(tmp_path, content, words):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(InputError) as info:
        read_docker_config(tmp_path / "config.json")
    assert info.value.diagnostics[0].code == "POLC909" and words in info.value.message
