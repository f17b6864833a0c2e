"""``polc registry`` end to end: a real ``polc build``, signed receipts, JSON outputs that match the
contracts, and the exit codes of DESIGN.md §4 for every kind of refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.registry.contracts import contract_errors
from compiler.registry.receipts import load_private_key, sign

from .helpers import drop_guards, receipt, write_bundle

REPO = Path(__file__).resolve().parents[2]


def polc(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def polc_json(capsys, definition, *argv, expect=0):
    code, out, err = polc(capsys, *argv, "--json")
    assert code == expect, (code, out, err)
    data = json.loads(out)
    assert contract_errors(data, "ErrorResponse" if "error" in data else definition) == []
    return data


@pytest.fixture
def project(tmp_path, monkeypatch, registry_url, capsys):
    """A copy of the example project, built, with a signing key trusted by [registry]."""
    shutil.copy(REPO / "policy.toml", tmp_path / "policy.toml")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLC_REGISTRY_URL", registry_url)
    monkeypatch.setenv("POLC_ACTOR", "ops-alice")
    assert polc(capsys, "registry", "keygen", "--out", "keys/gate")[0] == 0
    with open("policy.toml", "a") as fh:
        fh.write('\n[registry]\ndefault_policy = "router"\ntrusted_keys = ["keys/gate.pub"]\n')
    code, out, err = polc(capsys, "build")
    assert code == 0, err
    return tmp_path


def signed_receipt(path: Path, bundle_id: str, verdict: str = "PASS") -> str:
    key = load_private_key(str(path.parent / "keys" / "gate.key") if (path.parent / "keys").exists() else "keys/gate.key")
    Path(path).write_text(json.dumps(sign(receipt(bundle_id, verdict), key)))
    return str(path)


def built_hash(project: Path) -> str:
    return json.loads((project / "artifacts/policy/policy.json").read_text())["active"]


def test_cli_walkthrough(project, capsys):
    a = built_hash(project)
    signed_receipt(project / "a.receipt.json", a)
    first = polc_json(capsys, "PublishBundleResponse", "registry", "publish", a, "--receipt", "a.receipt.json",
                      "--evaluation-report", "reports/eval-1.json")
    assert first["status"] == "ACCEPTED" and first["record"]["receipt_check"]["signature"] == "verified"
    again = polc_json(capsys, "PublishBundleResponse", "registry", "publish", f"artifacts/policy/{a}",
                      "--receipt", "a.receipt.json", "--evaluation-report", "reports/eval-1.json")
    assert again["status"] == "DUPLICATE"
    b = write_bundle(project / "artifacts/policy", {"n": 2}, version="2026.11.24")
    signed_receipt(project / "b.receipt.json", b)
    polc_json(capsys, "PublishBundleResponse", "registry", "publish", b, "--receipt", "b.receipt.json",
              "--evaluation-report", "reports/eval-2.json")
    for bundle in (a, b):
        for state in ("staged", "shadow"):
            polc_json(capsys, "TransitionResponse", "registry", "transition", bundle[:10], "--to", state, "--env", "prod")
        polc_json(capsys, "PromoteResponse", "registry", "promote", bundle, "--env", "prod", "--reason", "go")
    stale = polc_json(capsys, "ErrorResponse", "registry", "promote", a, "--env", "prod", "--expect-active", a, expect=1)
    assert stale["error"]["category"] in ("CONFLICT",)
    resolved = polc_json(capsys, "ResolveActiveResponse", "registry", "resolve", "--env", "prod")
    assert resolved["active_bundle_ref"]["bundle_id"] == b
    back = polc_json(capsys, "RollbackResponse", "registry", "rollback", "--env", "prod", "--reason", "p95 up")
    assert back["restored"] == a
    code, out, _ = polc(capsys, "registry", "resolve", "--env", "prod")
    assert code == 0 and out.splitlines()[0] == a
    pinned = polc_json(capsys, "ResolveActiveResponse", "registry", "pin", b, "--env", "prod", "--out", "pin.json")
    assert pinned["selection"] == "pinned" and json.loads(Path("pin.json").read_text()) == pinned
    history = polc_json(capsys, "HistoryResponse", "registry", "history", "--env", "prod")
    assert [e["event_type"] for e in history["events"]][-2:] == ["bundle_rolled_back", "bundle_restored"]
    assert all(e["actor"]["name"] == "ops-alice" for e in history["events"])
    polc_json(capsys, "ListBundlesResponse", "registry", "list")
    polc_json(capsys, "ShowBundleResponse", "registry", "show", a[:8])
    assert polc_json(capsys, "VerifyResponse", "registry", "verify")["ok"]
    for text_command in (["history"], ["list"], ["show", a], ["verify"]):
        assert polc(capsys, "registry", *text_command)[0] == 0


def test_cli_refusals_and_exit_codes(project, capsys):
    a = built_hash(project)
    Path("unsigned.json").write_text(json.dumps(receipt(a)))
    assert polc_json(capsys, "ErrorResponse", "registry", "publish", a, "--receipt", "unsigned.json",
                     "--evaluation-report", "r", expect=4)["error"]["category"] == "INTEGRITY"
    signed_receipt(project / "fail.json", a, "FAIL")
    failed = polc_json(capsys, "ErrorResponse", "registry", "publish", a, "--receipt", "fail.json", "--evaluation-report", "r",
                       expect=1)
    assert failed["error"]["category"] == "GATE_NOT_PASS" and failed["error"]["retryable"] is False
    assert polc(capsys, "registry", "publish", a, "--receipt", "missing.json", "--evaluation-report", "r")[0] == 3
    Path("garbage.json").write_text("{not json")
    assert polc(capsys, "registry", "publish", a, "--receipt", "garbage.json", "--evaluation-report", "r")[0] == 3
    assert polc(capsys, "registry", "publish", "f" * 64, "--receipt", "fail.json",
                "--evaluation-report", "r")[0] == 2  # unknown id: usage
    assert polc(capsys, "registry", "publish", a, "--receipt", "fail.json")[0] == 2  # no provenance
    assert polc(capsys, "registry", "transition", a, "--to", "live", "--env", "prod")[0] == 2
    assert polc(capsys, "registry", "resolve")[0] == 2  # --env is required
    # an unknown name on the command line is a usage error (exit 2), as in every polc command
    unknown = polc_json(capsys, "ErrorResponse", "registry", "promote", "abcdef12", "--env", "prod", expect=2)
    assert unknown["error"]["category"] == "UNKNOWN_BUNDLE"
    code, _, err = polc(capsys, "registry", "resolve", "--env", "prod")
    assert code == 2 and "POLC616" in err and "Traceback" not in err  # a scope nobody used
    bad_scope = polc_json(capsys, "ErrorResponse", "registry", "resolve", "--env", "pr od", expect=2)
    assert bad_scope["error"]["category"] == "INVALID_PAYLOAD"
    assert polc(capsys, "registry", "verify", "--registry", "mysql://x")[0] == 2


def test_cli_edited_bundle_exits_4(project, capsys):
    a = built_hash(project)
    signed_receipt(project / "a.json", a)
    manifest = project / "artifacts/policy" / a / "policy.manifest.json"
    manifest.write_text(manifest.read_text().replace('"version":', '"version":"x","old_version":', 1))
    code, _, err = polc(capsys, "registry", "publish", a, "--receipt", "a.json", "--evaluation-report", "r")
    assert code == 4 and "POLC703" in err


def test_cli_verify_exits_4_on_tampering(project, capsys):
    from compiler.registry import open_registry

    a = built_hash(project)
    signed_receipt(project / "a.json", a)
    assert polc(capsys, "registry", "publish", a, "--receipt", "a.json", "--evaluation-report", "r")[0] == 0
    with open_registry() as reg:
        s = reg.store
        drop_guards(s)
        with s.write():
            s._q("UPDATE polc_events SET body = replace(body, 'published', 'forged') WHERE seq = 1")
    code, _, err = polc(capsys, "registry", "verify")
    assert code == 4 and "POLC641" in err
    assert polc_json(capsys, "VerifyResponse", "registry", "verify", expect=4)["ok"] is False


def test_registry_path_in_policy_toml_is_relative_to_the_project(tmp_path, monkeypatch, capsys):
    shutil.copy(REPO / "policy.toml", tmp_path / "policy.toml")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    with open(tmp_path / "policy.toml", "a") as fh:
        fh.write('\n[registry]\nurl = "state/reg.db"\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv("POLC_REGISTRY_URL", raising=False)
    code, _, err = polc(capsys, "registry", "verify")
    assert code == 3 and str(tmp_path / "state" / "reg.db") in err  # resolved against policy.toml's directory
    assert not (tmp_path / "state").exists() and not (tmp_path / "sub" / "state").exists()  # verify creates nothing


def test_cli_names_bundles_by_4_hex_prefixes_and_hints_only_what_fits(project, capsys):
    a = built_hash(project)
    signed_receipt(project / "a.json", a)
    assert polc(capsys, "registry", "publish", a[:4], "--receipt", "a.json", "--evaluation-report", "r")[0] == 0
    b = write_bundle(project / "artifacts/policy", {"n": 2}, version="2026.11.24")
    code, _, err = polc(capsys, "registry", "show", b[:6])
    assert code == 2 and "built but not registered: publish it first" in err  # in the out dir, not published
    code, out, _ = polc(capsys, "registry", "show", a[:4])
    assert code == 0 and out.startswith(f"bundle     {a}")
    code, _, err = polc(capsys, "registry", "show", "abc")
    assert code == 2 and "too short" in err and "publish it first" not in err
    code, _, err = polc(capsys, "registry", "show", "0000")
    assert code == 2 and "publish it first" not in err and "polc registry list" in err


def test_publish_says_how_each_receipt_signature_was_checked(tmp_path, monkeypatch, registry_url, capsys):
    shutil.copy(REPO / "policy.toml", tmp_path / "policy.toml")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLC_REGISTRY_URL", registry_url)
    with open("policy.toml", "a") as fh:
        fh.write('\n[registry]\ndefault_policy = "router"\n')  # no trusted keys
    assert polc(capsys, "build")[0] == 0
    a = built_hash(tmp_path)
    Path("unsigned.json").write_text(json.dumps(receipt(a)))
    code, out, _ = polc(capsys, "registry", "publish", a, "--receipt", "unsigned.json", "--evaluation-report", "r")
    assert code == 0
    assert "signature not checked: the receipt is unsigned and no trusted keys are configured" in out


def test_submitted_at_is_the_registrys_clock(registry, out_dir):
    from compiler.registry.canon import utc_now

    from .helpers import PROV

    a = write_bundle(out_dir, {"n": 1})
    before = utc_now()
    with pytest.raises(TypeError):  # the caller cannot set it
        registry.publish(a, receipt(a), submitted_by="ci", provenance=PROV, submitted_at="2000-01-01T00:00:00Z")
    record = registry.publish(a, receipt(a), submitted_by="ci", provenance=PROV)["record"]
    assert before <= record["submitted_at_utc"] <= utc_now()
