"""One registry suite, two backends: every test taking ``registry_url`` runs on SQLite and on
PostgreSQL (POLC_TEST_POSTGRES_URL; each test in a schema of its own). In CI (CI=true) a missing
PostgreSQL fails the suite instead of skipping it."""

from __future__ import annotations

import os
import uuid

import pytest
from ..conftest import missing_service

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str | None:
    url = os.environ.get("POLC_TEST_POSTGRES_URL")
    if not url:
        missing_service("POLC_TEST_POSTGRES_URL is not set", ".ci/run starts PostgreSQL")
    return url


@pytest.fixture(params=BACKENDS)
def registry_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / ".polc" / "registry.db")
        return
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield base + ("&" if "?" in base else "?") + f"schema={schema}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def out_dir(tmp_path):
    path = tmp_path / "artifacts" / "policy"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def registry(registry_url, out_dir):
    from .helpers import open_test_registry

    reg = open_test_registry(registry_url, out_dir)
    yield reg
    reg.close()


@pytest.fixture(autouse=True)
def check_every_response(monkeypatch):
    """Every response the registry builds in these tests is validated against the contracts."""
    monkeypatch.setenv("POLC_REGISTRY_CHECK_RESPONSES", "1")
