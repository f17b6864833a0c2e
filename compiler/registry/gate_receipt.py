"""Reading receipt and metrics files, and running a gate into a receipt (``polc gate run``).

The gate itself is evaluated by the runtime (``load_snapshot(b).gate(name).evaluate(metrics)``);
this module turns its result into an in-toto Statement, signed when a key is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canon import sha256_hex, utc_now
from .errors import invalid
from .receipts import sign, statement

MAX_RECEIPT_BYTES = 1024 * 1024
MAX_METRICS_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class GateRun:
    receipt: dict
    result: Any          # the runtime's GateResult: passed, conditions, failures
    bundle_id: str


def run_gate(bundle: str, gate: str, metrics_path: str, key, out_dir: Path | None) -> GateRun:
    from ..runtime import load_snapshot
    from ..version import __version__

    raw, metrics = read_metrics(metrics_path)
    snap = load_snapshot(bundle, root=out_dir, check_compatibility=False)  # the registry is not a runner
    result = snap.gate(gate).evaluate(metrics)
    st = statement(gate, "PASS" if result.passed else "FAIL", snap.policy_bundle_id, evaluated_at=utc_now(),
                   metrics_sha256=sha256_hex(raw), failing=[f.message for f in result.failures],
                   evaluator={"name": "polc", "version": __version__})
    return GateRun(sign(st, key) if key is not None else st, result, snap.policy_bundle_id)


def read_receipt(path: str) -> dict:
    raw = _read(path, MAX_RECEIPT_BYTES, "POLC620", "gate receipt")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("POLC620", f"{path} is not a JSON gate receipt: {exc}", unreadable=True) from None
    if not isinstance(value, dict):
        raise invalid("POLC620", f"{path} is not a JSON object", unreadable=True)
    return value


def read_metrics(path: str) -> tuple[bytes, dict]:
    """The raw bytes (their sha256 goes into the receipt) and the mapping of a JSON or YAML file."""
    raw = _read(path, MAX_METRICS_BYTES, "POLC650", "metrics file")
    is_yaml = path.endswith((".yaml", ".yml"))
    try:
        text = raw.decode("utf-8")
        if is_yaml:
            import yaml

            value = yaml.safe_load(text)
        else:
            value = json.loads(text)
    except Exception as exc:  # UnicodeDecodeError, JSONDecodeError, yaml.YAMLError
        raise invalid("POLC650", f"{path} is not valid {'YAML' if is_yaml else 'JSON'}: {exc}", unreadable=True) from None
    if not isinstance(value, dict):
        raise invalid("POLC650", f"{path} must hold a mapping of metric names to values", unreadable=True)
    return raw, value


def _read(path: str, limit: int, code: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise invalid(code, f"cannot read the {what} {path}: {exc.strerror or exc}", unreadable=True) from None
    if len(raw) > limit:
        raise invalid(code, f"the {what} {path} is larger than {limit:,} bytes", unreadable=True)
    return raw
