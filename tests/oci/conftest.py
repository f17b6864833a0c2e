"""The OCI tests talk to a real CNCF distribution registry with htpasswd auth (POLC_TEST_OCI_*,
started by .ci/services.sh). In CI (CI=true) a missing registry fails the suite instead of
skipping it. Every test pushes to a repository of its own; tests that tamper with a blob on disk
push bundles no other test pushes, so the shared blob store stays sound for the others."""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from compiler.storage.seed import seed_bundle
from ..conftest import missing_service


@dataclass(frozen=True)
class TestRegistry:
    host: str
    username: str
    password: str
    storage: Path

    def ref(self, repository: str, tag: str | None = "v1") -> str:
        return f"oci://{self.host}/{repository}" + (f":{tag}" if tag else "")

    def blob_path(self, digest: str) -> Path:
        hexdigest = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def get(self, path: str, accept: str = "application/vnd.oci.image.manifest.v1+json"):
        """A plain authenticated GET of /v2/<path>, for tests to look at what the registry holds."""
        import requests

        return requests.get(f"http://{self.host}/v2/{path}", auth=(self.username, self.password),
                            headers={"Accept": accept}, timeout=30)


def registry_from_env() -> TestRegistry:
    host = os.environ.get("POLC_TEST_OCI_REGISTRY")
    if not host:
        missing_service("POLC_TEST_OCI_REGISTRY is not set", "set POLC_TEST_OCI_*; .ci/services.sh starts one")
    return TestRegistry(host, os.environ["POLC_TEST_OCI_USERNAME"], os.environ["POLC_TEST_OCI_PASSWORD"],
                        Path(os.environ["POLC_TEST_OCI_STORAGE"]))


@pytest.fixture(scope="session")
def oci_registry() -> TestRegistry:
    return registry_from_env()


def write_docker_config(directory: Path, auths: dict, **extra) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"auths": auths, **extra}))
    return directory


def basic_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def docker_config(oci_registry, tmp_path, monkeypatch) -> Path:
    """DOCKER_CONFIG holding the test registry's credentials, as `docker login` writes them."""
    directory = write_docker_config(tmp_path / "docker",
                                    {oci_registry.host: {"auth": basic_auth(oci_registry.username,
                                                                            oci_registry.password)}})
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory


@pytest.fixture
def repo() -> str:
    return f"polc-test/{uuid.uuid4().hex[:16]}"


def unique_bundle(out: Path, n: int = 8, *, point: bool = True) -> Path:
    """A bundle no other test has (random weights): its blobs are this test's alone."""
    weights = np.random.default_rng(uuid.uuid4().int).random(n)
    return seed_bundle(out, weights, created_at="2026-01-01T00:00:00Z", point=point).path


@pytest.fixture
def out_dir(tmp_path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
