"""Gate receipts travel with the bundle as OCI referrers (the `subject` field; the referrers-tag
fallback on this distribution 2.x registry) and `polc pull --require-receipt` checks them."""

from __future__ import annotations

import io
import json

import pytest
import requests

from ..conftest import run_polc
from ..runtime.conftest import RICH_POLICY, build_project

PASSING = {"p95_latency_ms": 1500, "success_parity_percent": 90}
FAILING = {"p95_latency_ms": 2500, "success_parity_percent": 90}


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A built bundle with the gate reflex_promotion, two key pairs, and receipts signed with them."""
    root = tmp_path_factory.mktemp("gated")
    out = build_project(root / "proj")
    bundle = json.loads((out / "policy.json").read_bytes())["active"]
    other = build_project(root / "other", RICH_POLICY.replace("hard_limit = 25.0", "hard_limit = 26.0"))
    for name in ("ci", "rogue"):
        assert run_polc("registry", "keygen", "--out", str(root / name)).returncode == 0
    for name, metrics in (("pass", PASSING), ("fail", FAILING)):
        (root / f"{name}.json").write_text(json.dumps(metrics))
    receipts = {}
    for label, key, metrics, target in (("pass", "ci", "pass", out), ("fail", "ci", "fail", out),
                                        ("rogue", "rogue", "pass", out), ("other", "ci", "pass", other)):
        path = root / f"receipt-{label}.json"
        result = run_polc("gate", "run", "reflex_promotion", "--bundle", str(target / "policy.json"),
                          "--metrics", str(root / f"{metrics}.json"), "--key", str(root / f"{key}.key"),
                          "--out", str(path))
        assert result.returncode in (0, 1), result.stderr
        receipts[label] = path
    return {"out": out, "bundle": bundle, "root": root, "receipts": receipts,
            "ci_pub": root / "ci.pub", "rogue_pub": root / "rogue.pub"}


def push(gated, ref, *receipts):
    args = [arg for label in receipts for arg in ("--receipt", str(gated["receipts"][label]))]
    return run_polc("push", str(gated["out"] / "policy.json"), ref, "--plain-http", "--format", "json", *args)


def pull(gated, ref, tmp_path, *extra):
    return run_polc("pull", ref, "--plain-http", "--out", str(tmp_path / "router"), "--format", "json", *extra)


def test_a_signed_pass_receipt_is_attached_and_required(oci_registry, docker_config, repo, gated, tmp_path):
    result = push(gated, oci_registry.ref(repo), "pass")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [attached] = report["receipts"]
    assert attached["gate"] == "reflex_promotion" and attached["verdict"] == "PASS"
    assert attached["via"] == "tag"  # distribution 2.8 has no referrers API
    # The fallback: the tag sha256-<hex> holds an image index listing the receipt manifest.
    index = oci_registry.get(f"{repo}/manifests/{report['digest'].replace(':', '-')}",
                             accept="application/vnd.oci.image.index.v1+json").json()
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [
        (attached["digest"], "application/vnd.polc.gate-receipt.v1")]
    referrer = oci_registry.get(f"{repo}/manifests/{attached['digest']}").json()
    assert referrer["subject"]["digest"] == report["digest"]
    assert referrer["layers"][0]["mediaType"] == "application/vnd.dsse.envelope.v1+json"

    result = pull(gated, oci_registry.ref(repo), tmp_path, "--require-receipt", "reflex_promotion",
                  "--trusted-key", str(gated["ci_pub"]))
    assert result.returncode == 0, result.stderr
    [check] = json.loads(result.stdout)["receipts"]
    assert check["gate"] == "reflex_promotion" and check["signature"] == "verified"
    assert (tmp_path / "router" / gated["bundle"]).is_dir()


def test_pushing_a_receipt_again_adds_no_second_entry(oci_registry, docker_config, repo, gated):
    first = json.loads(push(gated, oci_registry.ref(repo), "pass").stdout)
    second = json.loads(push(gated, oci_registry.ref(repo), "pass", "fail").stdout)
    assert first["digest"] == second["digest"]
    index = oci_registry.get(f"{repo}/manifests/{first['digest'].replace(':', '-')}",
                             accept="application/vnd.oci.image.index.v1+json").json()
    assert len(index["manifests"]) == 2  # pass once, fail once


@pytest.mark.parametrize("attached, key, code, diagnostic", [
    ((), "ci_pub", 1, "POLC920"),               # no receipt at all
    (("fail",), "ci_pub", 1, "POLC621"),        # attached, signed, but FAIL
    (("rogue",), "ci_pub", 4, "POLC623"),       # PASS but signed by a key we do not trust
    (("pass",), "rogue_pub", 4, "POLC623"),     # our receipt, but we trust another key
])
def test_a_required_receipt_that_does_not_hold_refuses_the_bundle(oci_registry, docker_config, repo, gated, tmp_path,
                                                                  attached, key, code, diagnostic):
    assert push(gated, oci_registry.ref(repo), *attached).returncode == 0
    result = pull(gated, oci_registry.ref(repo), tmp_path, "--require-receipt", "reflex_promotion",
                  "--trusted-key", str(gated[key]))
    assert result.returncode == code, result.stderr
    assert diagnostic in result.stderr
    assert not (tmp_path / "router").exists() or not any((tmp_path / "router").iterdir())


def test_a_receipt_for_another_bundle_is_refused_before_anything_is_pushed(oci_registry, docker_config, repo, gated):
    result = push(gated, oci_registry.ref(repo), "other")
    assert result.returncode == 1 and "POLC922" in result.stderr
    assert oci_registry.get(f"{repo}/manifests/v1").status_code == 404


def test_require_receipt_needs_a_trusted_key(oci_registry, docker_config, repo, gated, tmp_path):
    result = pull(gated, oci_registry.ref(repo), tmp_path, "--require-receipt", "reflex_promotion")
    assert result.returncode == 2 and "--trusted-key" in result.stderr


def test_a_receipt_listed_under_another_bundle_does_not_count(oci_registry, docker_config, repo, gated, tmp_path):
    """Whoever may push may edit the fallback index: listing another bundle's receipt there proves nothing."""
    import requests

    other = json.loads(push(gated, oci_registry.ref(repo, "first"), "pass").stdout)
    seeded = tmp_path / "seeded"
    from .conftest import unique_bundle

    bundle = unique_bundle(seeded)
    target = json.loads(run_polc("push", str(bundle), oci_registry.ref(repo, "second"), "--plain-http",
                                 "--format", "json").stdout)
    index = oci_registry.get(f"{repo}/manifests/{other['digest'].replace(':', '-')}",
                             accept="application/vnd.oci.image.index.v1+json")
    response = requests.put(f"http://{oci_registry.host}/v2/{repo}/manifests/{target['digest'].replace(':', '-')}",
                            data=index.content, auth=(oci_registry.username, oci_registry.password), timeout=30,
                            headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    assert response.status_code == 201
    result = pull(gated, oci_registry.ref(repo, "second"), tmp_path, "--require-receipt", "reflex_promotion",
                  "--trusted-key", str(gated["ci_pub"]))
    assert result.returncode == 3 and "POLC921" in result.stderr and "another manifest" in result.stderr


def test_the_referrers_api_path(oci_registry, docker_config, repo, gated, tmp_path, monkeypatch):
    """Distribution 2.8 has no referrers API and no 1.1 registry is packaged here, so the API answers
    are simulated on top of the real registry: a 200 index from /referrers/ is used as is (filtered
    by artifact type), and a push answered with OCI-Subject writes no fallback tag."""
    from compiler.oci.artifact import RECEIPT_ARTIFACT_TYPE
    from compiler.oci.client import RegistryClient
    from compiler.oci.reference import parse_ref
    from compiler.oci.referrers import list_referrers

    report = json.loads(push(gated, oci_registry.ref(repo), "pass").stdout)
    index = oci_registry.get(f"{repo}/manifests/{report['digest'].replace(':', '-')}",
                             accept="application/vnd.oci.image.index.v1+json").json()
    served = {**index, "manifests": [*index["manifests"], {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                           "artifactType": "application/vnd.example.sbom",
                                                           "digest": "sha256:" + "5" * 64, "size": 10}]}
    real_request = RegistryClient.request
    asked = []

    def referrers_api(self, method, path, **kwargs):
        if path.startswith("referrers/"):
            asked.append(path)
            response = requests.Response()
            response.status_code, response._content = 200, json.dumps(served).encode()
            response.raw = io.BytesIO(response._content)
            return response
        return real_request(self, method, path, **kwargs)

    monkeypatch.setattr(RegistryClient, "request", referrers_api)
    client = RegistryClient(parse_ref(oci_registry.ref(repo)), plain_http=True)
    entries = list_referrers(client, report["digest"], RECEIPT_ARTIFACT_TYPE)
    assert [e["digest"] for e in entries] == [report["receipts"][0]["digest"]]
    assert asked == [f"referrers/{report['digest']}?artifactType=application%2Fvnd.polc.gate-receipt.v1"]

    real_put = RegistryClient.put_manifest

    def put_with_subject(self, reference, raw, media_type):
        response = real_put(self, reference, raw, media_type)
        subject = json.loads(raw).get("subject")
        if subject:
            response.headers["OCI-Subject"] = subject["digest"]
        return response

    monkeypatch.setattr(RegistryClient, "put_manifest", put_with_subject)
    other = f"{repo}-api"  # attached in-process, where the patched responses are seen
    from compiler.bundle import open_ref
    from compiler.cli.oci_cmd import _receipt_for
    from compiler.oci.push import push_bundle

    bundle = open_ref(str(gated["out"] / "policy.json"))
    ref = parse_ref(oci_registry.ref(other))
    pushed = push_bundle(bundle, ref, RegistryClient(ref, plain_http=True, push=True),
                         [_receipt_for(str(gated["receipts"]["pass"]), bundle.hash)])
    assert [r["via"] for r in pushed.receipts] == ["api"]
    assert oci_registry.get(f"{other}/manifests/{pushed.digest.replace(':', '-')}",
                            accept="application/vnd.oci.image.index.v1+json").status_code == 404
