"""A real ``polc serve`` with its web console over a seeded SQLite registry, and one headless
Chromium (Debian's, POLC_TEST_CHROMIUM; under CI=true a missing one fails instead of skipping)
driven by Playwright, for the whole session.

The registry is seeded with the server's own service functions (compiler/server/service.py: the
code behind every mutating route) in this process, under a fixed clock and fixed ids and keys, so
hashes, times, signatures and the screenshots in docs/console/ are the same on every run. Every
text field an operator can write carries markup that would run if it were not escaped."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from ..server.conftest import REPO, Built, Server, polc_cli, start_server
from ..conftest import missing_service

SOURCE_DATE_EPOCH = "1795939200"            # 2026-11-28T00:00:00Z: the bundles' created_at
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = REPO / "docs" / "console"
PUBLIC_URL = "https://registry.example"

# Markup in every field an operator can write; each payload calls alert(), so a dialog means it ran.
EVIL_ACTOR = "oidc:<img src=x onerror=alert('actor')>"
EVIL_REASON = "promote <script>alert('reason')</script> now"
EVIL_ROLLBACK = "p95 regression <img src=x onerror=alert('rollback')>"
EVIL_NOTE = "<script>alert('note')</script>console reader"
EVIL_REPORT = "reports/eval.json<img src=x onerror=alert('report')>"
EVIL_PROMPT = "Answer: {{ answer }}\n<script>alert('prompt')</script><img src=x onerror=alert('prompt-img')>\n"
INJECTED = (EVIL_ACTOR, EVIL_REASON, EVIL_ROLLBACK, EVIL_NOTE, EVIL_REPORT)

# A fixed token (the test's own; `polc registry token create` makes random ones).
VIEWER_TOKEN = "polc_00000000c0de_" + "v" * 43
VIEWER_TOKEN_ID = "00000000c0de"
OUTSIDER_TOKEN = "polc_00000000beef_" + "o" * 43

# No public_url: the browser talks plain HTTP to 127.0.0.1 (an https public_url marks the cookies
# Secure); the seeding names the bundles' URIs by PUBLIC_URL so no port shows in a screenshot.
EXTRA = f'''
[[server.grants]]
principal = "vera"
roles = ["viewer"]

[[server.grants]]
principal = "{EVIL_ACTOR}"
roles = ["approver", "operator"]
'''


@dataclass
class ConsoleServer:
    server: Server
    versions: dict[str, str]        # version -> bundle id

    @property
    def url(self) -> str:
        return self.server.url


def _fixed_key(path: Path, seed: int, *, public: bool = False) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    if public:
        path.with_suffix(".pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _build_versions(root: Path) -> dict[str, str]:
    """Three builds of examples/full: as shipped, with markup in a prompt and a bigger budget, and
    with another plan template."""
    shutil.copytree(REPO / "examples" / "full", root)
    policy, project = (root / "model_policy.toml").read_text(), (root / "policy.toml").read_text()
    plan = (root / "prompts" / "plan.j2").read_text()
    judge_answer = "Answer: {{ answer }}\n"
    assert judge_answer in policy
    # v2 also raises a token budget and shifts traffic to gpt-4o: drift rules fire (WARN findings).
    changed = (policy.replace(judge_answer, EVIL_PROMPT).replace("plan = 8000", "plan = 17000")
               .replace('"claude-sonnet-4-20250514" = 90\ngpt-4o = 10', '"claude-sonnet-4-20250514" = 60\ngpt-4o = 40'))
    assert "plan = 17000" in changed and "gpt-4o = 40" in changed
    edits = {
        "2026.11.23": (policy, plan),
        "2026.12.1": (changed, plan),
        "2026.12.2": (changed, plan.replace("Number the steps.", "Number the steps and name the files each step "
                                                                "touches.")),
    }
    versions = {}
    for version, (policy_text, plan_text) in edits.items():
        (root / "model_policy.toml").write_text(policy_text)
        (root / "prompts" / "plan.j2").write_text(plan_text)
        (root / "policy.toml").write_text(project.replace('version = "2026.11.23"', f'version = "{version}"'))
        done = polc_cli("build", cwd=root, env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
        assert done.returncode == 0, done.stderr
        versions[version] = done.stdout.split()[0]
    return versions


class FixedClock:
    """Registry timestamps a minute apart from 2026-12-01T09:00Z, and ids counted up: what the seeding
    records is the same on every run."""

    def __init__(self):
        self.ticks = itertools.count()
        self.ids = itertools.count(1)

    def now(self) -> str:
        n = next(self.ticks)
        return f"2026-12-01T{9 + n // 60:02d}:{n % 60:02d}:00.000000Z"

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=next(self.ids), version=4)


def _seed(config_path: Path, project: Path, versions: dict[str, str], gate_key: Path) -> None:
    from compiler.registry import Scope, open_store
    from compiler.registry.receipts import load_private_key, sign, statement
    from compiler.server.auth import Principal, token_digest
    from compiler.server.config import load_server_config
    from compiler.server.service import RegistryService
    import compiler.registry.service as registry_service
    import compiler.server.service as server_service

    clock = FixedClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry_service, "utc_now", clock.now)
        patch.setattr(server_service, "utc_now", clock.now)
        patch.setattr(registry_service, "uuid", SimpleNamespace(uuid4=clock.uuid4))
        svc = RegistryService(load_server_config(str(config_path)))
        alice, evil = Principal("alice", "token"), Principal(EVIL_ACTOR, "oidc")
        key = load_private_key(str(gate_key))
        try:
            with svc.pool.registry() as reg:
                def do(principal, fn):
                    svc.mutate(reg, principal, None, "seed", fn)

                for n, (version, bundle_id) in enumerate(versions.items()):
                    directory = project / "artifacts" / "policy" / bundle_id
                    receipt = sign(statement("reflex_promotion", "PASS", bundle_id,
                                             evaluated_at=f"2026-11-30T12:0{n}:00.000000Z"), key)
                    body = {"bundle_files": {p.name: base64.b64encode(p.read_bytes()).decode()
                                             for p in sorted(directory.iterdir())},
                            "gate_receipt": receipt, "provenance": {"evaluation_report_ref": EVIL_REPORT}}
                    do(alice, lambda r, body=body: svc.publish(r, alice, body, PUBLIC_URL))
                v1, v2, v3 = versions.values()
                prod, staging, acme = Scope("prod", "router"), Scope("staging", "router"), Scope("prod", "router", "acme")

                def move(principal, bundle, scope, *states, reason=""):
                    for state in states:
                        do(principal, lambda r, state=state: svc.transition(
                            r, principal, scope, {"bundle_id": bundle, "to_state": state, "reason": reason}))

                move(alice, v1, prod, "staged", "shadow")
                do(alice, lambda r: svc.promote(r, alice, prod, {"bundle_id": v1, "reason": "first release"}))
                move(alice, v2, prod, "staged", "shadow")
                do(evil, lambda r: svc.promote(r, evil, prod, {"bundle_id": v2, "reason": EVIL_REASON}))
                do(alice, lambda r: svc.rollback(r, alice, prod, {"reason": EVIL_ROLLBACK}))
                move(alice, v3, prod, "staged", "shadow", reason="next candidate")
                move(alice, v3, staging, "staged", "shadow")
                do(alice, lambda r: svc.promote(r, alice, staging, {"bundle_id": v3, "reason": "try the new plan"}))
                move(alice, v1, acme, "staged")
                svc.checkpoint(reg)
        finally:
            svc.close()
    store = open_store(load_server_config(str(config_path)).store)
    try:
        with store.write() as s:
            s.insert_token(VIEWER_TOKEN_ID, "vera", token_digest(VIEWER_TOKEN), "2026-12-01T08:00:00.000000Z",
                           None, EVIL_NOTE)
            s.insert_token("00000000beef", "otto", token_digest(OUTSIDER_TOKEN), "2026-12-01T08:00:00.000000Z",
                           None, "no grant")
    finally:
        store.close()


@pytest.fixture(scope="session")
def console_server(tmp_path_factory) -> ConsoleServer:
    root = tmp_path_factory.mktemp("console")
    project = root / "project"
    versions = _build_versions(project)
    _fixed_key(project / "keys" / "gate.key", 1, public=True)
    _fixed_key(root / "server" / "checkpoint.key", 2)
    built = Built(project, list(versions.values()), project / "keys" / "gate.key")
    server = start_server(root / "server", str(root / "server" / "registry.db"), built, extra=EXTRA, principals=(),
                          env={"POLC_REGISTRY_CHECK_RESPONSES": "1"})
    try:
        _seed(server.config, project, versions, built.gate_key)
        yield ConsoleServer(server, versions)
    finally:
        server.stop()
    assert "Traceback" not in server.log_text(), server.log_text()[-4000:]


def chromium_path() -> str:
    path = os.environ.get("POLC_TEST_CHROMIUM")
    if not path or not os.access(path, os.X_OK):
        missing_service(f"POLC_TEST_CHROMIUM ({path!r}) is not an executable Chromium",
                        "set POLC_TEST_CHROMIUM=/usr/bin/chromium")
    return path


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("playwright is not installed", "pip install -e '.[test]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path)
        yield chromium
        chromium.close()


class Watch:
    """What a page must not do: log a console error, throw, fail a request, answer >= 400, or open a
    dialog (every injected payload calls alert())."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # net::ERR_ABORTED is the browser cancelling a request itself (the favicon of a page the test
        # already left); a request the server fails shows as a status >= 400 or another net error.
        page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
                and self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()
        page.on("dialog", dialog)

    def clean(self) -> None:
        assert self.problems == [] and self.dialogs == [], (self.problems, self.dialogs)


def sign_in(page, base: str, token: str = VIEWER_TOKEN) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_load_state()  # let the page load before the test navigates on (else: an aborted request)


def screenshot(page, name: str) -> Path:
    """The page at the fixed viewport, into docs/console/ (referenced from docs/registry.md)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    data = page.screenshot(animations="disabled", caret="hide")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, f"no screenshot of {name}"
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def injected_texts() -> tuple[str, ...]:
    return INJECTED


def as_json(text: str) -> dict:
    return json.loads(text)
