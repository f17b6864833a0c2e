"""``polc registry`` against a real ``polc serve``: spec 003's acceptance scenario over HTTP with the
same commands and output as the local mode, authentication, authorization by the server's grants,
trust decided by the server whatever the client's policy.toml says, and idempotent retries."""

from __future__ import annotations

import json

from compiler.registry.contracts import contract_errors
from compiler.registry.receipts import generate_keypair, load_private_key

from .conftest import HASH_LINE, polc_cli, registry_env


def run(server, built, *argv, who="alice", expect=0, **env):
    out = polc_cli("registry", *argv, env=registry_env(server, who, **env), cwd=built.root)
    assert out.returncode == expect, (argv, out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    return out


def as_json(server, built, definition, *argv, expect=0, who="alice"):
    data = json.loads(run(server, built, *argv, "--json", expect=expect, who=who).stdout)
    assert contract_errors(data, "ErrorResponse" if "error" in data else definition) == []
    return data


def test_acceptance_scenario_over_http(server, built):
    a, b = built.hashes[0], built.hashes[1]
    out = run(server, built, "publish", a, "--receipt", built.receipt(0), "--evaluation-report", "reports/a.json")
    assert out.stdout.splitlines()[0].startswith(f"ACCEPTED  {a}  version 2026.12.1  policy router")
    assert "signature verified by trusted key" in out.stdout
    again = as_json(server, built, "PublishBundleResponse", "publish", a, "--receipt", built.receipt(0),
                    "--evaluation-report", "reports/a.json")
    assert again["status"] == "DUPLICATE" and again["record"]["submitted_by"] == "alice"
    assert again["record"]["ref"]["uri"] == f"{server.url}/v1/bundles/{a}"
    failed = as_json(server, built, "ErrorResponse", "publish", b, "--receipt", built.receipt(1, verdict="FAIL"),
                     "--evaluation-report", "r", expect=1)
    assert failed["error"]["code"] == "POLC621"
    run(server, built, "publish", b, "--receipt", built.receipt(1), "--evaluation-report", "reports/b.json")
    for bundle in (a, b):
        run(server, built, "transition", bundle[:6], "--to", "staged", "--env", "prod")
        run(server, built, "transition", bundle[:6], "--to", "shadow", "--env", "prod")
    run(server, built, "promote", a[:4], "--env", "prod", "--expect-active", "none", "--reason", "first release")
    stale = as_json(server, built, "ErrorResponse", "promote", b, "--env", "prod", "--expect-active", b, expect=1)
    assert stale["error"]["code"] == "POLC632" and stale["error"]["retryable"] is True
    out = run(server, built, "promote", b, "--env", "prod", "--expect-active", a, "--reason", "faster p95")
    assert out.stdout.startswith(f"promoted {b[:12]} in prod/-/router (previous: {a[:12]})")
    resolved = run(server, built, "resolve", "--env", "prod").stdout.splitlines()
    assert resolved[0] == b and "promoted  state promoted  by event" in resolved[1] and "alice" in resolved[1]
    back = as_json(server, built, "RollbackResponse", "rollback", "--env", "prod", "--reason", "p95 regression",
                   "--expect-active", b)
    assert (back["rolled_back"], back["restored"]) == (b, a)
    assert HASH_LINE.match(run(server, built, "resolve", "--env", "prod").stdout.splitlines()[0])
    assert as_json(server, built, "ResolveActiveResponse", "resolve", "--env", "prod")["active_bundle_ref"][
        "bundle_id"] == a
    pinned = as_json(server, built, "ResolveActiveResponse", "pin", b[:8], "--env", "prod")
    assert pinned["selection"] == "pinned" and pinned["rollout_state"] == "rolled_back"
    history = as_json(server, built, "HistoryResponse", "history", "--env", "prod")
    assert [e["event_type"] for e in history["events"]][-2:] == ["bundle_rolled_back", "bundle_restored"]
    assert {e["actor"]["name"] for e in history["events"]} == {"alice"}
    assert "bundle_restored" in run(server, built, "history", "--env", "prod").stdout
    listing = run(server, built, "list").stdout
    assert f"{a[:12]}  2026.12.1" in listing and "prod/-/router=promoted" in listing
    shown = run(server, built, "show", a[:4]).stdout
    assert f"bundle     {a}" in shown and "signature verified by trusted key" in shown
    assert run(server, built, "verify").stdout.startswith("ok: 11 events, chain intact")


def test_the_audit_log_records_the_authenticated_principal_never_a_claim(server, built):
    a = built.hashes[0]
    run(server, built, "publish", a, "--receipt", built.receipt(0), "--evaluation-report", "r",
        "--submitter", "mallory", POLC_ACTOR="mallory")
    run(server, built, "transition", a, "--to", "staged", "--env", "prod", "--actor", "mallory")
    events = as_json(server, built, "HistoryResponse", "history")["events"]
    assert [e["actor"]["name"] for e in events] == ["alice", "alice"]
    assert events[1]["actor"]["role"] == "submitter"  # the first role the transition allows that alice holds


def test_no_token_is_401_and_the_wrong_role_is_403(server, built):
    a = built.hashes[0]
    with server.client(None) as anonymous:
        for path in ("/v1/bundles", "/v1/scopes/prod/-/router/active", "/v1/verify", f"/v1/bundles/{a}/files/x"):
            r = anonymous.get(path)
            assert r.status_code == 401 and r.json()["error"]["category"] == "UNAUTHENTICATED", path
            assert r.headers["www-authenticate"].startswith("Bearer")
        for header in ("Bearer polc_000000000000_" + "A" * 43, "Bearer nonsense", "Basic YWxpY2U6eA==", "Bearer"):
            r = anonymous.get("/v1/whoami", headers={"Authorization": header})
            assert r.status_code == 401 and r.json()["error"]["code"] == "POLC802", header
    out = run(server, built, "list", who="nobody", expect=1)
    assert "POLC802" in out.stderr and "POLC_TOKEN" in out.stderr
    run(server, built, "publish", a, "--receipt", built.receipt(0), "--evaluation-report", "r", who="bob")
    refused = as_json(server, built, "ErrorResponse", "transition", a, "--to", "staged", "--env", "prod",
                      "--role", "operator", expect=1, who="bob")
    assert refused["error"]["category"] == "FORBIDDEN"
    run(server, built, "transition", a, "--to", "staged", "--env", "prod", who="bob")  # as submitter: allowed
    denied = as_json(server, built, "ErrorResponse", "transition", a, "--to", "shadow", "--env", "prod", expect=1,
                     who="bob")
    assert denied["error"]["code"] == "POLC631" and "bob" in denied["error"]["message"]
    with server.client("bob") as bob:
        r = bob.post("/v1/scopes/prod/-/router/rollback", json={"reason": "bob wants it"})
        assert r.status_code == 403 and r.json()["error"]["category"] == "FORBIDDEN"
    # carol is approver and operator in staging only
    run(server, built, "transition", a, "--to", "staged", "--env", "staging", who="carol")
    run(server, built, "transition", a, "--to", "shadow", "--env", "staging", who="carol")
    run(server, built, "transition", a, "--to", "shadow", "--env", "prod", who="carol", expect=1)
    # a revoked token is refused from the next request on
    listed = polc_cli("registry", "token", "list", "--config", str(server.config), "--json")
    token_id = next(t["token_id"] for t in json.loads(listed.stdout)["tokens"] if t["principal"] == "carol")
    assert polc_cli("registry", "token", "revoke", token_id, "--config", str(server.config)).returncode == 0
    out = run(server, built, "list", who="carol", expect=1)
    assert "revoked" in out.stderr
    assert polc_cli("registry", "token", "revoke", "ffffffffffff", "--config", str(server.config)).returncode == 2


def test_trust_is_the_servers_whatever_the_clients_policy_toml_says(server, built, tmp_path):
    a = built.hashes[0]
    # the client's project trusts no key and requires no gate; the server requires a signed
    # reflex_promotion receipt
    unsigned = as_json(server, built, "ErrorResponse", "publish", a, "--receipt", built.receipt(0, signed=False),
                       "--evaluation-report", "r", expect=4)
    assert (unsigned["error"]["category"], unsigned["error"]["code"]) == ("INTEGRITY", "POLC623")
    generate_keypair(tmp_path / "forger")
    forged = built.receipt(0, key=load_private_key(str(tmp_path / "forger.key")))
    assert as_json(server, built, "ErrorResponse", "publish", a, "--receipt", forged, "--evaluation-report", "r",
                   expect=4)["error"]["code"] == "POLC623"
    for gate in ("made_up", "local_memory_sunset"):
        other = as_json(server, built, "ErrorResponse", "publish", a, "--receipt", built.receipt(0, gate=gate),
                        "--evaluation-report", "r", expect=1)
        assert (other["error"]["category"], other["error"]["code"]) == ("GATE_NOT_PASS", "POLC636"), gate
    # a receipt of another bundle, properly signed
    assert as_json(server, built, "ErrorResponse", "publish", a, "--receipt", built.receipt(1),
                   "--evaluation-report", "r", expect=1)["error"]["code"] == "POLC622"
    assert as_json(server, built, "ListBundlesResponse", "list")["bundles"] == []


def test_an_upload_the_server_cannot_verify_is_refused(server, built):
    import base64

    a = built.hashes[0]
    files = {p.name: p.read_bytes() for p in built.bundle_dir(0).iterdir()}
    files["snapshot.json"] = files["snapshot.json"].replace(b'"plan":8000', b'"plan":9999')
    body = {"bundle_files": {k: base64.b64encode(v).decode() for k, v in files.items()},
            "gate_receipt": json.loads(open(built.receipt(0)).read()), "provenance": {"evaluation_report_ref": "r"}}
    with server.client() as alice:
        r = alice.post("/v1/bundles", json=body)
    assert r.status_code == 422 and r.json()["error"]["category"] == "INTEGRITY", r.text
    assert not (server.config.parent / "bundles" / a).exists()


def test_another_bundle_version_of_a_registered_bundle_is_a_conflict(server, built):
    a = built.hashes[0]
    run(server, built, "publish", a, "--receipt", built.receipt(0), "--evaluation-report", "r")
    conflict = as_json(server, built, "ErrorResponse", "publish", a, "--receipt", built.receipt(0),
                       "--evaluation-report", "r", "--bundle-version", "9.9.9", expect=1)
    assert (conflict["error"]["category"], conflict["error"]["code"]) == ("CONFLICT", "POLC618")
    missing = run(server, built, "publish", a, "--receipt", built.receipt(0), expect=2)
    assert "--evaluation-report" in missing.stderr


def test_an_idempotent_retry_writes_nothing(server, built):
    a, b = built.hashes[0], built.hashes[1]
    for n, bundle in enumerate((a, b)):
        run(server, built, "publish", bundle, "--receipt", built.receipt(n), "--evaluation-report", "r")
        for state in ("staged", "shadow"):
            run(server, built, "transition", bundle, "--to", state, "--env", "prod")
    with server.client() as alice:
        promote = {"bundle_id": a, "reason": "first"}
        first = alice.post("/v1/scopes/prod/-/router/promote", json=promote, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == 200 and "idempotent-replayed" not in first.headers
        length = alice.get("/v1/verify").json()["head_seq"]
        retry = alice.post("/v1/scopes/prod/-/router/promote", json=promote, headers={"Idempotency-Key": "k-1"})
        assert retry.status_code == 200 and retry.json() == first.json()
        assert retry.headers["idempotent-replayed"] == "true"
        assert alice.get("/v1/verify").json()["head_seq"] == length
        other = alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": b}, headers={"Idempotency-Key": "k-1"})
        assert other.status_code == 409 and other.json()["error"]["code"] == "POLC804"
        alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": b}, headers={"Idempotency-Key": "k-2"})
        # a retried rollback returns the first answer instead of going back a second step
        back = {"reason": "bad"}
        once = alice.post("/v1/scopes/prod/-/router/rollback", json=back, headers={"Idempotency-Key": "rb"})
        twice = alice.post("/v1/scopes/prod/-/router/rollback", json=back, headers={"Idempotency-Key": "rb"})
        assert once.status_code == twice.status_code == 200 and once.json() == twice.json()
        assert alice.get("/v1/scopes/prod/-/router/active").json()["active_bundle_ref"]["bundle_id"] == a
        # keys are per principal: bob's "rb" is his own
        with server.client("bob") as bob:
            assert bob.post("/v1/scopes/prod/-/router/rollback", json=back,
                            headers={"Idempotency-Key": "rb"}).status_code == 403
        assert alice.get("/v1/verify").json()["ok"]
