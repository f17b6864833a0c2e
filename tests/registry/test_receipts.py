"""Gate receipts: DSSE/Ed25519 signatures checked against [registry] trusted_keys, and
``polc gate run`` producing them from the runtime's gate evaluation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compiler.registry import RegistryError
from compiler.registry.contracts import contract_errors
from compiler.registry.receipts import check_receipt, sign

from .helpers import receipt
from .test_cli import built_hash, polc, project  # noqa: F401  (the fixture)

BUNDLE = "ab" * 32


def test_signature_checks():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    envelope = receipt(BUNDLE, key=key)
    assert contract_errors(envelope, "GateReceipt") == []
    assert check_receipt(envelope, BUNDLE, [other.public_key(), key.public_key()])["signature"] == "verified"
    assert check_receipt(envelope, BUNDLE, [])["signature"] == "signed_not_checked"
    assert check_receipt(receipt(BUNDLE), BUNDLE, [])["signature"] == "unsigned"
    for bad in (receipt(BUNDLE, key=other), receipt(BUNDLE)):
        with pytest.raises(RegistryError) as err:
            check_receipt(bad, BUNDLE, [key.public_key()])
        assert (err.value.category, int(err.value.exit_code)) == ("INTEGRITY", 4)


def test_an_edited_payload_breaks_the_signature():
    key = Ed25519PrivateKey.generate()
    fail = json.loads(json.dumps(sign(receipt(BUNDLE, "FAIL"), key)))
    statement = json.loads(base64.b64decode(fail["payload"]))
    statement["predicate"]["verdict"] = "PASS"
    fail["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(RegistryError) as err:
        check_receipt(fail, BUNDLE, [key.public_key()])
    assert err.value.code == "POLC623"


def test_gate_run_writes_receipts_the_registry_accepts(project, capsys):  # noqa: F811
    a = built_hash(project)
    Path("good.json").write_text(json.dumps({"p95_latency_ms": 1800, "success_parity_percent": 91}))
    Path("bad.yaml").write_text("p95_latency_ms: 2800\nsuccess_parity_percent: 50\n")
    code, _, err = polc(capsys, "gate", "run", "reflex_promotion", "--bundle", a, "--metrics", "good.json",
                        "--key", "keys/gate.key", "--out", "pass.json")
    assert code == 0 and "PASS" in err
    written = json.loads(Path("pass.json").read_text())
    assert contract_errors(written, "GateReceipt") == []
    code, _, err = polc(capsys, "gate", "run", "reflex_promotion", "--bundle", a, "--metrics", "bad.yaml",
                        "--key", "keys/gate.key", "--out", "fail.json")
    assert code == 1 and "2800" in err
    assert polc(capsys, "registry", "publish", a, "--receipt", "fail.json", "--evaluation-report", "r")[0] == 1
    code, out, _ = polc(capsys, "registry", "publish", a, "--receipt", "pass.json", "--evaluation-report", "r", "--json")
    assert code == 0 and json.loads(out)["record"]["receipt_check"]["signature"] == "verified"
    assert polc(capsys, "gate", "run", "reflex_promotion", "--bundle", a, "--metrics", "good.json")[0] == 2  # no key
    Path("list.json").write_text("[1, 2]")
    assert polc(capsys, "gate", "run", "reflex_promotion", "--bundle", a, "--metrics", "list.json", "--unsigned")[0] == 3
