"""Gate receipts travelling with a bundle: attached on push, required on pull.

A receipt is the registry's (compiler/registry/receipts.py): an in-toto Statement naming the
bundle, usually in a DSSE envelope signed with Ed25519 (``polc gate run --key``). ``polc push
--receipt`` attaches it as a referrer of the bundle's manifest; ``polc pull --require-receipt
GATE --trusted-key K`` accepts the bundle only when one attached receipt of GATE verifies with
a trusted key, is PASS and names this bundle. The referrer list only says where to look: every
receipt is fetched by digest, its subject must be this manifest and its bytes are checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..canonical import canonical_json
from ..errors import PolcError
from .artifact import CREATED, GATE, RECEIPT_ARTIFACT_TYPE, VERDICT, layer_files, parse_manifest
from .client import MANIFEST_TYPE, RegistryClient
from .errors import oci_error
from .referrers import attach, list_referrers

DSSE_TYPE = "application/vnd.dsse.envelope.v1+json"
STATEMENT_TYPE = "application/vnd.in-toto+json"
MAX_RECEIPT_BYTES = 1024 * 1024
RECEIPT_FILE = "receipt.json"


@dataclass(frozen=True)
class Receipt:
    """A receipt file about to be attached: its canonical bytes and what it says."""

    data: bytes
    gate: str
    verdict: str
    signed: bool
    evaluated_at: str | None


def read_receipt_for(path: str, bundle_hash: str) -> Receipt:
    """The receipt at ``path``, refused unless it names ``bundle_hash`` (checked before any upload)."""
    from ..registry.gate_receipt import read_receipt

    receipt = read_receipt(path)
    statement, envelope = _statement(receipt, f"the receipt {path}")
    predicate = statement["predicate"]
    subjects = {s["digest"]["sha256"] for s in statement["subject"]}
    if predicate["bundle_id"] != bundle_hash or bundle_hash not in subjects:
        raise oci_error("POLC922", f"the receipt {path} is for bundle {predicate['bundle_id']}, not {bundle_hash}",
                        "attach the receipt that `polc gate run` wrote for this bundle")
    return Receipt(canonical_json(receipt), predicate["gate"], predicate["verdict"], envelope is not None,
                   predicate.get("evaluated_at_utc"))


def attach_receipt(client: RegistryClient, subject: dict, receipt: Receipt, workdir: Path) -> tuple[str, str]:
    annotations = {GATE: receipt.gate, VERDICT: receipt.verdict}
    if receipt.evaluated_at:
        annotations[CREATED] = receipt.evaluated_at
    return attach(client, subject, RECEIPT_ARTIFACT_TYPE, receipt.data, DSSE_TYPE if receipt.signed else STATEMENT_TYPE,
                  annotations, workdir, title=RECEIPT_FILE)


def load_trusted_keys(paths: Iterable[str | Path]) -> list:
    from ..registry.receipts import load_public_key

    return [load_public_key(Path(p)) for p in paths]


def require_receipts(client: RegistryClient, manifest_digest: str, bundle_hash: str, gates: Iterable[str],
                     trusted: list) -> list[dict]:
    """One verified check per gate in ``gates``; raises for a gate no attached receipt satisfies."""
    gates = sorted(set(gates))
    if not gates:
        return []
    verified: dict[str, dict] = {}
    refused: dict[str, list[PolcError]] = {}
    for entry in list_referrers(client, manifest_digest, RECEIPT_ARTIFACT_TYPE):
        try:
            check = _check_referrer(client, entry, manifest_digest, bundle_hash, trusted)
        except PolcError as exc:
            gate = (entry.get("annotations") or {}).get(GATE, "?")
            refused.setdefault(gate, []).append(exc)
            continue
        verified.setdefault(check["gate"], {**check, "receipt_digest": entry["digest"]})
    for gate in gates:
        if gate not in verified:
            raise _missing(gate, refused.get(gate, []), manifest_digest)
    return [verified[g] for g in gates]


def _check_referrer(client: RegistryClient, entry: dict, manifest_digest: str, bundle_hash: str,
                    trusted: list) -> dict:
    from ..registry.receipts import check_receipt

    digest = str(entry.get("digest"))
    fetched = client.get_manifest(digest, (MANIFEST_TYPE,), what="receipt manifest")
    if fetched is None:
        raise oci_error("POLC921", f"the receipt {digest} is listed but missing", "push the receipt again")
    manifest = parse_manifest(fetched.raw, f"receipt {digest}", RECEIPT_ARTIFACT_TYPE)
    if (manifest.get("subject") or {}).get("digest") != manifest_digest:
        raise oci_error("POLC921", f"the receipt {digest} refers to another manifest",
                        "the referrers index lists a receipt of another bundle; push the receipt again")
    layers = layer_files(manifest, max_layer_bytes=MAX_RECEIPT_BYTES, where=f"receipt {digest}")
    if list(layers) != [RECEIPT_FILE]:
        raise oci_error("POLC921", f"the receipt {digest} does not hold one {RECEIPT_FILE} layer",
                        "push the receipt with polc push --receipt")
    layer = layers[RECEIPT_FILE]
    data = client.get_blob(layer["digest"], layer["size"], MAX_RECEIPT_BYTES)
    try:
        receipt = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise oci_error("POLC921", f"the receipt {digest} is not JSON: {exc}", "push the receipt again") from None
    if not isinstance(receipt, dict):
        raise oci_error("POLC921", f"the receipt {digest} is not a JSON object", "push the receipt again")
    _statement(receipt, f"the receipt {digest}")
    return check_receipt(receipt, bundle_hash, trusted)


def _statement(receipt: dict, where: str) -> tuple[dict, dict | None]:
    """(in-toto Statement, DSSE envelope or None) of a receipt, the Statement checked against its schema."""
    from ..registry.contracts import require
    from ..registry.errors import RegistryError
    from ..registry.receipts import unwrap

    try:
        statement, envelope = unwrap(receipt)
        return require(statement, "InTotoStatement"), envelope
    except RegistryError as exc:
        raise oci_error("POLC921", f"{where} is not a gate receipt: {exc.message}",
                        "attach the receipt file that `polc gate run` wrote") from None


def _missing(gate: str, refusals: list[PolcError], manifest_digest: str) -> PolcError:
    if refusals:  # the most serious refusal says best why (a bad signature is an integrity failure)
        return max(refusals, key=lambda exc: int(exc.exit_code))
    return oci_error("POLC920", f"no receipt of gate `{gate}` is attached to {manifest_digest}",
                     f"run `polc gate run {gate} --key ...` on the bundle and push it with --receipt")
