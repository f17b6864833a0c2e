"""The server as an operator runs it: racing clients, bad input, observability, OIDC, SIGTERM,
and ``polc serve`` in a project with no configuration file."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import threading
import time

import httpx
import pytest

from compiler.registry import RegistryError, Scope

from .conftest import polc_cli, registry_env, start_server
from .test_routers_and_checkpoints import walk

PROD = Scope("prod", "router")


def race(args) -> str:
    """One client process: promote its bundle if nothing is promoted yet (compare-and-set)."""
    url, token, bundle_id = args
    from compiler.registry.client import RemoteRegistry

    with RemoteRegistry(url, token=token) as reg:
        try:
            reg.promote(bundle_id, PROD, expect_active=None, reason="race")
            return "promoted"
        except RegistryError as exc:
            return exc.code


def test_eight_client_processes_racing_to_promote_leave_exactly_one(server, built):
    for n in range(8):
        walk(server, built, n)
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        outcomes = pool.map(race, [(server.url, server.tokens["alice"], built.hashes[n]) for n in range(8)])
    assert sorted(outcomes) == ["POLC632"] * 7 + ["promoted"], outcomes
    with server.client() as alice:
        listing = alice.get("/v1/bundles").json()["bundles"]
        promoted = [b["ref"]["bundle_id"] for b in listing for s in b["states"] if s["state"] == "promoted"]
        assert len(promoted) == 1
        assert alice.get("/v1/scopes/prod/-/router/active").json()["active_bundle_ref"]["bundle_id"] == promoted[0]
        verified = alice.get("/v1/verify").json()
        assert verified["ok"] and verified["head_seq"] == 8 * 3 + 1


def test_bad_input_gets_a_4xx_error_response_never_a_500(server, built):
    a = built.hashes[0]
    walk(server, built, 0)
    with server.client() as alice:
        cases = [
            (alice.post("/v1/scopes/prod/-/router/promote", content=b"{not json",
                        headers={"Content-Type": "application/json"}), 400, "POLC801"),
            (alice.post("/v1/scopes/prod/-/router/promote", content=b"[1, 2]",
                        headers={"Content-Type": "application/json"}), 400, "POLC801"),
            (alice.post("/v1/scopes/prod/-/router/promote", content=b'{"bundle_id": "x"}',
                        headers={"Content-Type": "text/plain"}), 415, "POLC801"),
            (alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": a, "sneaky": True}), 422, "POLC600"),
            (alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": "not-a-hash"}), 422, "POLC600"),
            (alice.post("/v1/scopes/pr od/-/router/promote", json={"bundle_id": a}), 422, "POLC600"),
            (alice.post("/v1/bundles", content=b"x" * (2 * 1024 * 1024),
                        headers={"Content-Type": "application/json"}), 413, "POLC801"),
            (alice.post("/v1/bundles", json={"bundle_files": {"../x": "AA==", "b": "AA=="},
                                             "gate_receipt": {}, "provenance": {}}), 422, "POLC600"),
            (alice.post("/v1/bundles", json={"bundle_files": {"snapshot.json": "***", "policy.manifest.json": "AA=="},
                                             "gate_receipt": json.loads(open(built.receipt(0)).read()),
                                             "provenance": {"evaluation_report_ref": "r"}}), 400, "POLC801"),
            (alice.get("/v1/scopes/prod/-/router/active", params={"wait": "soon"}), 400, "POLC801"),
            (alice.get("/v1/scopes/prod/-/router/active", params={"wait": "100000"}), 400, "POLC801"),
            (alice.get("/v1/scopes/prod/-/router/active", params={"pin": "zz"}), 404, "POLC612"),
            (alice.get("/v1/bundles/ffff"), 404, "POLC612"),
            (alice.get(f"/v1/bundles/{a}/files/..%2Fetc%2Fpasswd"), 404, "POLC809"),
            (alice.get(f"/v1/bundles/{a}/files/secret.key"), 404, "POLC612"),
            (alice.delete("/v1/bundles"), 405, "POLC809"),
            (alice.get("/v2/anything"), 404, "POLC809"),
            (alice.post("/v1/scopes/prod/-/router/rollback", json={"reason": "x"},
                        headers={"Idempotency-Key": "k" * 500}), 400, "POLC805"),
        ]
        for response, status, code in cases:
            assert response.status_code == status, (response.request.url, response.text)
            body = response.json()
            assert body["error"]["code"] == code and "Traceback" not in response.text, body
    assert "Traceback" not in server.log_text()


def test_health_readiness_metrics_openapi_and_the_access_log(server, built):
    walk(server, built, 0)
    with server.client() as alice:
        alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[0]})
        first = alice.get("/v1/scopes/prod/-/router/active")
        assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
        again = alice.get("/v1/scopes/prod/-/router/active", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]
        manifest = alice.get(f"/v1/bundles/{built.hashes[0]}/files/policy.manifest.json")
        assert manifest.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert manifest.content == (built.bundle_dir(0) / "policy.manifest.json").read_bytes()
        alice.get("/v1/scopes/dev/-/router/active")  # a resolution error
        me = alice.get("/v1/whoami", headers={"X-Request-Id": "trace-me-42"})
        assert me.json()["principal"] == "alice" and me.headers["x-request-id"] == "trace-me-42"
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["events"] == 4
    metrics = httpx.get(server.url + "/metrics").text
    for line in ("polc_promotions_total 1.0", "polc_audit_chain_length 4.0", 'polc_refusals_total{category="UNKNOWN_BUNDLE"}',
                 'polc_resolution_errors_total{category="UNKNOWN_BUNDLE"} 1.0', "polc_resolve_seconds_bucket",
                 'polc_http_requests_total{method="GET",route="resolve",status="304"} 1.0'):
        assert line in metrics, line
    spec = httpx.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/v1/scopes/{environment}/{tenant}/{policy_name}/active" in spec["paths"]
    assert "PublishBundleResponse" in spec["components"]["schemas"]
    assert "#/$defs/" not in json.dumps(spec)
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith('{"ts"')]
    traced = [line for line in lines if line["request_id"] == "trace-me-42"]
    assert traced and traced[0]["principal"] == "alice" and traced[0]["status"] == 200


def test_sigterm_lets_in_flight_requests_finish(tmp_path, built):
    server = start_server(tmp_path / "server", str(tmp_path / "registry.db"), built)
    try:
        walk(server, built, 0)
        answers, (waiter,) = long_polls_after_promoting(server, built.hashes[0], wait=3)
        # SIGTERM: stop accepting, finish the long-poll, then exit (uvicorn re-raises the signal it
        # caught once drained, so the process ends by SIGTERM, not by a crash)
        assert server.stop() in (0, -15)
        waiter.join(timeout=30)
        assert [a.status_code for a in answers] == [304]
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/healthz", timeout=2)
    finally:
        server.stop()


def test_oidc_tokens_verified_against_a_jwks_file(tmp_path, built):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}))
    extra = ('\n[server.oidc]\njwks_file = "jwks.json"\nissuer = "https://idp.example"\naudience = "polc-registry"\n'
             '\n[[server.grants]]\nprincipal = "oidc:repo:acme/policies:ref:refs/heads/main"\nroles = ["submitter"]\n')
    server = start_server(tmp_path / "server", str(tmp_path / "registry.db"), built,
                          extra=extra.replace("\n[[server.grants]]", "\n[[server.grants]]", 1))
    try:
        now = int(time.time())
        claims = {"iss": "https://idp.example", "aud": "polc-registry", "sub": "repo:acme/policies:ref:refs/heads/main",
                  "iat": now, "exp": now + 300}

        def token(**changes):
            return jwt.encode({**claims, **changes}, key, algorithm="RS256", headers={"kid": "k1"})

        me = httpx.get(server.url + "/v1/whoami", headers={"Authorization": f"Bearer {token()}"}).json()
        assert me == {"principal": "oidc:repo:acme/policies:ref:refs/heads/main", "via": "oidc",
                      "grants": [{"roles": ["submitter"], "policy": None, "environment": None, "tenant": None}]}
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for bad in (token(aud="someone-else"), token(iss="https://evil.example"), token(exp=now - 600),
                    jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "k1"}),
                    jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256",
                               headers={"kid": "k1"})):
            r = httpx.get(server.url + "/v1/whoami", headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "POLC803", r.text
        # the OIDC principal publishes: the audit log names it
        out = polc_cli("registry", "publish", built.hashes[0], "--receipt", built.receipt(0), "--evaluation-report", "r",
                       "--json", env={**registry_env(server), "POLC_TOKEN": token()}, cwd=built.root)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["record"]["submitted_by"] == "oidc:repo:acme/policies:ref:refs/heads/main"
    finally:
        server.stop()


def test_polc_serve_in_a_project_just_works(tmp_path, built):
    """No polc-server.toml: the project's registry, trusted keys and [registry.actors] as grants."""
    import os
    import signal
    import subprocess
    import sys

    from .conftest import free_port

    project = tmp_path / "project"
    shutil.copytree(built.root, project, ignore=shutil.ignore_patterns("receipt-*"))
    with open(project / "policy.toml", "a") as fh:
        fh.write('trusted_keys = ["keys/gate.pub"]\n[registry.actors]\nalice = ["submitter", "approver", "operator"]\n')
    out = polc_cli("registry", "token", "create", "--principal", "alice", cwd=project)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--port", str(port)], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        env = {"POLC_REGISTRY": url, "POLC_TOKEN": token, "POLC_REGISTRY_URL": ""}
        out = polc_cli("registry", "publish", built.hashes[0], "--receipt", built.receipt(0), "--evaluation-report",
                       "r", env=env, cwd=project)
        assert out.returncode == 0 and "ACCEPTED" in out.stdout, out.stderr
        assert (project / ".polc" / "registry.db").exists() and (project / ".polc" / "checkpoint.key").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)


def test_two_server_processes_share_one_store_and_long_polls_see_each_others_writes(tmp_path, built, store_url):
    server = start_server(tmp_path / "server", store_url, built, args=("--workers", "2"))
    try:
        walk(server, built, 0)
        walk(server, built, 1)
        answers, waiters = long_polls_after_promoting(server, built.hashes[0], wait=20, count=4)  # both processes
        with server.client() as alice:
            assert alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[1]}).status_code == 200
        for waiter in waiters:
            waiter.join(timeout=40)
        assert [a.status_code for a in answers] == [200] * 4
        assert {a.json()["active_bundle_ref"]["bundle_id"] for a in answers} == {built.hashes[1]}
        pids = {json.loads(line)["pid"] for line in server.log_text().splitlines() if '"event": "started"' in line}
        assert len(pids) == 2
    finally:
        server.stop()


def test_a_bad_server_configuration_is_a_diagnostic(tmp_path, built):
    from compiler.errors import InputError
    from compiler.server.config import load_server_config

    cases = {
        "[server]\nstore = 'r.db'\ntrusted_keys = []\n": "trusts no receipt keys",
        "[server]\nstore = 'r.db'\ntrusted_keyz = ['k.pub']\n": "did you mean `trusted_keys`",
        "[server]\nstore = 'r.db'\nallow_unsigned_receipts = true\n[[server.grants]]\nprincipal = 'a'\nroles = ['admin']\n":
            "roles must be a non-empty list",
        "[server]\nstore = 'r.db'\nallow_unsigned_receipts = true\n[server.oidc]\njwks_file = 'j'\nissuer = 'i'\n"
        "audience = 'a'\nalgorithms = ['HS256']\n": "asymmetric",
        "[serve]\n": "expected one [server] table",
        "[server\n": "not valid TOML",
    }
    for text, expected in cases.items():
        (tmp_path / "bad.toml").write_text(text)
        with pytest.raises(InputError) as err:
            load_server_config(str(tmp_path / "bad.toml"))
        assert expected in err.value.message and err.value.diagnostics[0].code == "POLC800", text
    out = polc_cli("serve", "--config", str(tmp_path / "bad.toml"))
    assert out.returncode == 3 and "POLC800" in out.stderr and "Traceback" not in out.stderr
    out = polc_cli("registry", "token", "create", "--principal", "x", "--registry", "http://127.0.0.1:9")
    assert out.returncode == 2 and "database" in out.stderr
    out = polc_cli("registry", "token", "create", "--principal", "bad name", "--registry", str(tmp_path / "t.db"))
    assert out.returncode == 2 and "POLC810" in out.stderr
    out = polc_cli("registry", "token", "create", "--principal", "x", "--expires", "soon",
                   "--registry", str(tmp_path / "t.db"))
    assert out.returncode == 2 and "lifetime" in out.stderr


def long_polls_after_promoting(server, bundle_id: str, *, wait: float, count: int = 1):
    """Promote ``bundle_id`` in prod/-/router, then start ``count`` long-polls of ``wait`` seconds
    for a change from it; returns (the list their responses land in, the started threads)."""
    with server.client() as alice:
        alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": bundle_id})
        etag = alice.get("/v1/scopes/prod/-/router/active").headers["etag"]
    answers = []

    def long_poll():
        with server.client() as client:
            answers.append(client.get("/v1/scopes/prod/-/router/active", params={"wait": wait},
                                      headers={"If-None-Match": etag}))

    waiters = [threading.Thread(target=long_poll) for _ in range(count)]
    for waiter in waiters:
        waiter.start()
    time.sleep(1.0)
    return answers, waiters
