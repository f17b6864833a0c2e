"""``polc push`` and ``polc pull``: bundles to and from OCI registries (docs/oci.md).

Both print one line on stdout that a script can capture (push: the manifest digest; pull: the
bundle hash) and what happened on stderr; ``--format json`` prints one JSON object instead.
Exit codes: 0 ok; 1 a required receipt is missing or not PASS, or the registry refused a write;
2 usage (a bad reference, an unknown tag); 3 unreachable registry, refused credentials, a
response or file that cannot be read; 4 integrity (a digest, hash or signature mismatch).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

_plain_http = click.option("--plain-http", is_flag=True,
                           help="Speak plain HTTP, not TLS (a registry on this machine or a test network).")
_format = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                       help="Report format.")
_out = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                    help="The out dir holding bundles and policy.json (default: from policy.toml).")


def _out_dir(out_dir: Path | None) -> Path:
    from .storage_cmd import _out

    return _out(out_dir)


@click.command("push")
@click.argument("bundle")
@click.argument("target")
@click.option("--receipt", "receipts", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A gate receipt (polc gate run --out) to attach as a referrer; repeatable.")
@_plain_http
@_out
@_format
def push_cmd(bundle, target, receipts, plain_http, out_dir, fmt):
    """Push BUNDLE (hash or prefix, bundle dir, or policy.json) to TARGET oci://HOST/REPO[:TAG].

    Prints the manifest digest. Blobs the registry has already are not uploaded again.
    """
    from ..bundle import open_ref
    from ..oci.client import RegistryClient
    from ..oci.push import push_bundle
    from ..oci.reference import parse_ref

    ref = parse_ref(target)
    verified = open_ref(bundle, _out_dir(out_dir))
    attached = [_receipt_for(path, verified.hash) for path in receipts]  # all checked before anything goes out
    result = push_bundle(verified, ref, RegistryClient(ref, plain_http=plain_http, push=True), attached)
    if fmt == "json":
        click.echo(json.dumps({"ok": True, **result.to_json()}, indent=2))
        return
    click.echo(result.digest)
    click.echo(f"pushed bundle {result.bundle_hash[:12]} to {ref}: {len(result.uploaded)} blobs uploaded, "
               f"{len(result.present)} already there{'' if result.manifest_written else ', tag unchanged'}", err=True)
    for r in result.receipts:
        click.echo(f"  receipt {r['gate']} ({r['verdict']}) attached as {r['digest'][:19]} (referrers {r['via']})",
                   err=True)


@click.command("pull")
@click.argument("source")
@click.option("--set-head", is_flag=True, help="Point the out dir's policy.json at the pulled bundle.")
@click.option("--require-receipt", "gates", multiple=True, metavar="GATE",
              help="Refuse the bundle unless a PASS receipt of GATE signed by a trusted key is attached; repeatable.")
@click.option("--trusted-key", "keys", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="PEM Ed25519 public key that receipts must be signed with (polc registry keygen); repeatable.")
@click.option("--max-layer-bytes", type=click.IntRange(min=1), default=None,
              help="Refuse a layer larger than this (default 256 MiB), before downloading it.")
@_plain_http
@_out
@_format
def pull_cmd(source, set_head, gates, keys, max_layer_bytes, plain_http, out_dir, fmt):
    """Pull SOURCE oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:DIGEST into the out dir.

    Every layer and the bundle's own hashes are verified before anything is written; prints the
    bundle hash.
    """
    from ..bundle import point_head, storage_lock, write_bundle
    from ..oci.client import RegistryClient
    from ..oci.evidence import require_receipts
    from ..oci.pull import DEFAULT_MAX_LAYER_BYTES, pull_bundle
    from ..oci.reference import parse_ref
    from ..registry.receipts import load_public_key

    ref = parse_ref(source)
    if gates and not keys:
        raise click.UsageError("--require-receipt needs --trusted-key: a receipt counts only when its signature "
                               "verifies with a key you trust")
    trusted = [load_public_key(Path(k)) for k in keys]
    out = _out_dir(out_dir)
    client = RegistryClient(ref, plain_http=plain_http)
    pulled = pull_bundle(ref, client, max_layer_bytes=max_layer_bytes or DEFAULT_MAX_LAYER_BYTES)
    receipts = require_receipts(client, pulled.digest, gates, _receipt_check(pulled.bundle.hash, trusted))
    with storage_lock(out):  # only now, everything verified, does anything become visible
        path = write_bundle(out, pulled.bundle)
        if set_head:
            point_head(out, pulled.bundle)
    from .storage_cmd import _mirror

    _mirror(out, pulled.bundle.hash)  # dual storage: a configured capsule gets every bundle (docs/storage.md)
    if fmt == "json":
        click.echo(json.dumps({"ok": True, **pulled.to_json(), "receipts": receipts, "path": str(path),
                               "head_moved": set_head}, indent=2))
        return
    click.echo(pulled.bundle.hash)
    click.echo(f"pulled {pulled.ref} into {path}{' (head moved)' if set_head else ''}", err=True)
    for r in receipts:
        click.echo(f"  receipt {r['gate']}: PASS, signature {r['signature']} (keyid {str(r['keyid'])[:16]})", err=True)


def _receipt_for(path: str, bundle_hash: str):
    """The receipt file at ``path`` as it will be attached; refused unless it names ``bundle_hash``."""
    from ..canonical import canonical_json
    from ..oci.errors import oci_error
    from ..oci.evidence import Receipt
    from ..registry.gate_receipt import read_receipt

    receipt = read_receipt(path)
    statement, envelope = _statement(receipt, f"the receipt {path}")
    predicate = statement["predicate"]
    if predicate["bundle_id"] != bundle_hash or bundle_hash not in {s["digest"]["sha256"] for s in statement["subject"]}:
        raise oci_error("POLC922", f"the receipt {path} is for bundle {predicate['bundle_id']}, not {bundle_hash}",
                        "attach the receipt that `polc gate run` wrote for this bundle")
    return Receipt(canonical_json(receipt), predicate["gate"], predicate["verdict"], envelope is not None,
                   predicate.get("evaluated_at_utc"))


def _receipt_check(bundle_hash: str, trusted: list):
    """What a pulled receipt must be: a gate receipt, PASS, naming this bundle, signed by a trusted key."""
    from ..registry.receipts import check_receipt

    def check(receipt: dict) -> dict:
        _statement(receipt, "an attached receipt")
        return check_receipt(receipt, bundle_hash, trusted)

    return check


def _statement(receipt: dict, where: str) -> tuple[dict, dict | None]:
    """(in-toto Statement, DSSE envelope or None), the Statement checked against its schema."""
    from ..oci.errors import oci_error
    from ..registry.contracts import require
    from ..registry.errors import RegistryError
    from ..registry.receipts import unwrap

    try:
        statement, envelope = unwrap(receipt)
        return require(statement, "InTotoStatement"), envelope
    except RegistryError as exc:
        raise oci_error("POLC921", f"{where} is not a gate receipt: {exc.message}",
                        "attach the receipt file that `polc gate run` wrote") from None
