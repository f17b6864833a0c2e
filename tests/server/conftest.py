"""A real ``polc serve`` (uvicorn, in a subprocess, on a random loopback port) per test, on SQLite
and on PostgreSQL (POLC_TEST_POSTGRES_URL, a schema per test; CI=true fails instead of skipping),
with real bundles built from the example project and receipts signed by a trusted key."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from compiler.registry.receipts import generate_keypair, load_private_key, sign, statement
from compiler.registry.canon import utc_now

from ..registry.conftest import postgres_base_url

REPO = Path(__file__).resolve().parents[2]
BUNDLES = 10


@dataclass
class Built:
    """A copy of the example project with BUNDLES real bundles, and the gate key the server trusts."""

    root: Path
    hashes: list[str]
    gate_key: Path

    def bundle_dir(self, n: int) -> Path:
        return self.root / "artifacts" / "policy" / self.hashes[n]

    def receipt(self, n: int, *, gate: str = "reflex_promotion", verdict: str = "PASS", key=None,
                signed: bool = True, name: str | None = None) -> str:
        """A receipt file for bundle ``n``; its path."""
        st = statement(gate, verdict, self.hashes[n], evaluated_at=utc_now(),
                       failing=() if verdict == "PASS" else ("p95 latency 2400 ms is above the 1900 ms limit",))
        body = sign(st, key or load_private_key(str(self.gate_key))) if signed else st
        path = self.root / (name or f"receipt-{n}-{gate}-{verdict}-{uuid.uuid4().hex[:6]}.json")
        path.write_text(json.dumps(body))
        return str(path)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    from compiler.cli import main

    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "policy.toml", root / "policy.toml")
    shutil.copytree(REPO / "examples", root / "examples")
    generate_keypair(root / "keys" / "gate")
    policy = (root / "examples" / "model_policy.toml").read_text()
    project = (root / "policy.toml").read_text()
    hashes = []
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for n in range(BUNDLES):
            (root / "examples" / "model_policy.toml").write_text(policy.replace("plan = 8000", f"plan = {8000 + n}"))
            (root / "policy.toml").write_text(project.replace('version = "2026.11.23"', f'version = "2026.12.{n + 1}"'))
            with pytest.raises(SystemExit) as done:
                main(["build"])
            assert done.value.code == 0
            hashes.append(json.loads((root / "artifacts/policy/policy.json").read_text())["active"])
    finally:
        os.chdir(cwd)
    assert len(set(hashes)) == BUNDLES
    # The client's project names the policy; it trusts no key: trust is the server's to decide.
    with open(root / "policy.toml", "a") as fh:
        fh.write('\n[registry]\ndefault_policy = "router"\n')
    return Built(root, hashes, root / "keys" / "gate.key")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    config: Path
    store: str
    process: subprocess.Popen
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = "alice", **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def token(self, principal: str) -> str:
        """A token made with local database access, as `polc registry token create` makes it."""
        from compiler.registry import open_store
        from compiler.server.auth import create_token

        store = open_store(self.store)
        try:
            self.tokens[principal] = create_token(store, principal, expires="1d")[0]
        finally:
            store.close()
        return self.tokens[principal]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def polc_cli(*argv: str, env: dict | None = None, cwd: str | Path | None = None, timeout: float = 120):
    """``polc ARGV`` in a subprocess (the installed entry point, as a user runs it)."""
    return subprocess.run([sys.executable, "-m", "compiler", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


SERVER_TOML = """[server]
store = "{store}"
bundle_dir = "bundles"
checkpoint_key = "checkpoint.key"
trusted_keys = ["{gate_pub}"]
default_policy = "router"
origin = "test-registry"
max_body_bytes = 1048576
long_poll_interval_seconds = 0.1
{extra}

[[server.grants]]
principal = "alice"
roles = ["submitter", "approver", "operator"]

[[server.grants]]
principal = "bob"
roles = ["submitter"]

[[server.grants]]
principal = "carol"
roles = ["approver", "operator"]
environment = "staging"

[server.required_gates.router]
publish = ["reflex_promotion"]
promote = ["reflex_promotion"]
"""


def start_server(directory: Path, store: str, built: Built, *, extra: str = "", args: tuple = (),
                 env: dict | None = None, principals: tuple = ("alice", "bob", "carol")) -> Server:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "polc-server.toml"
    config.write_text(SERVER_TOML.format(store=store, gate_pub=built.root / "keys" / "gate.pub", extra=extra))
    port = free_port()
    log = directory / "server.log"
    with open(log, "wb") as fh:
        process = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--config", str(config),
                                    "--port", str(port), *args], stdout=fh, stderr=subprocess.STDOUT,
                                   cwd=directory, env={**os.environ, **(env or {})})
    server = Server(f"http://127.0.0.1:{port}", config, store, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"polc serve did not start:\n{server.log_text()}")
        time.sleep(0.1)
    for principal in principals:
        server.token(principal)
    return server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "server" / "registry.db")
        return
    base = postgres_base_url()
    schema = f"s_{uuid.uuid4().hex[:16]}"
    yield base + ("&" if "?" in base else "?") + f"schema={schema}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def server(tmp_path, store_url, built):
    srv = start_server(tmp_path / "server", store_url, built)
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log_text(), srv.log_text()[-4000:]


@pytest.fixture(autouse=True)
def check_every_response(monkeypatch):
    """The server subprocesses validate every response they build against the contracts."""
    monkeypatch.setenv("POLC_REGISTRY_CHECK_RESPONSES", "1")


def registry_env(server: Server, who: str = "alice", **extra) -> dict:
    return {"POLC_REGISTRY": server.url, "POLC_TOKEN": server.tokens.get(who, ""), "POLC_REGISTRY_URL": "", **extra}


HASH_LINE = re.compile(r"^[0-9a-f]{64}$")
