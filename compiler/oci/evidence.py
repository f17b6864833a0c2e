"""Gate receipts travelling with a bundle: attached on push, found and checked on pull.

A receipt is the registry's (compiler/registry/receipts.py): an in-toto Statement naming the
bundle, usually in a DSSE envelope signed with Ed25519 (``polc gate run --key``). It is
attached as a referrer of the bundle's manifest. On pull the referrer list only says where to
look: every receipt is fetched by digest, its subject must be this manifest, its single layer
is read with a size cap, and ``check`` (the caller's: signature with a trusted key, PASS, names
this bundle) decides. The receipt's semantics stay with the registry's code; this module moves
bytes, which keeps the OCI package free of the registry (compiler/cli/oci_cmd.py joins them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

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
    """A receipt about to be attached: its bytes and what it says."""

    data: bytes
    gate: str
    verdict: str
    signed: bool
    evaluated_at: str | None


def attach_receipt(client: RegistryClient, subject: dict, receipt: Receipt, workdir: Path) -> tuple[str, str]:
    annotations = {GATE: receipt.gate, VERDICT: receipt.verdict}
    if receipt.evaluated_at:
        annotations[CREATED] = receipt.evaluated_at
    return attach(client, subject, RECEIPT_ARTIFACT_TYPE, receipt.data, DSSE_TYPE if receipt.signed else STATEMENT_TYPE,
                  annotations, workdir, title=RECEIPT_FILE)


def require_receipts(client: RegistryClient, manifest_digest: str, gates: Iterable[str],
                     check: Callable[[dict], dict]) -> list[dict]:
    """One passing check per gate in ``gates`` (``check`` returns a dict with ``gate``, or raises);
    raises for a gate that no attached receipt satisfies: the most serious refusal, else POLC920."""
    gates = sorted(set(gates))
    if not gates:
        return []
    verified: dict[str, dict] = {}
    refused: dict[str, list[PolcError]] = {}
    for entry in list_referrers(client, manifest_digest, RECEIPT_ARTIFACT_TYPE):
        try:
            result = check(fetch_receipt(client, entry, manifest_digest))
        except PolcError as exc:
            refused.setdefault((entry.get("annotations") or {}).get(GATE, "?"), []).append(exc)
            continue
        verified.setdefault(result["gate"], {**result, "receipt_digest": entry["digest"]})
    for gate in gates:
        if gate not in verified:
            raise _missing(gate, refused.get(gate, []), manifest_digest)
    return [verified[g] for g in gates]


def fetch_receipt(client: RegistryClient, entry: dict, manifest_digest: str) -> dict:
    """The receipt JSON of the referrer ``entry``, after checking it refers to ``manifest_digest``."""
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
    return receipt


def _missing(gate: str, refusals: list[PolcError], manifest_digest: str) -> PolcError:
    if refusals:  # the most serious refusal says best why (a bad signature is an integrity failure)
        return max(refusals, key=lambda exc: int(exc.exit_code))
    return oci_error("POLC920", f"no receipt of gate `{gate}` is attached to {manifest_digest}",
                     f"run `polc gate run {gate} --key ...` on the bundle and push it with --receipt")
