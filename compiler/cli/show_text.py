"""The text of ``polc show`` / ``polc current``: a bundle's identity, then its policy at a glance.

The snapshot has been verified before it gets here, but its blocks are rendered defensively
(any block may be missing or of an unexpected shape in an older schema) and never raise.

>>> print(describe({"hash": "ab" * 32, "policy_id": "p", "created_at": "t", "schema_version": "1.0",
...                 "active": True, "path": "out/abab"},
...                {"capture": {"mode": "full_io", "store_embeddings": False},
...                 "routing": {"cloud": {"judge": ["m1", "m2"]}}}, {}))
bundle      abababababababababababababababababababababababababababababababab  (active)
policy_id   p
created_at  t
schema      1.0
path        out/abab
verified    content hash, policy_id and manifest match
routing     judge  m1, m2
capture     mode full_io, store_embeddings false
"""

from __future__ import annotations

import json
from typing import Any

_META = ("schema_version", "policy_id", "hash", "created_at", "source_files")
_SHOWN = ("routing", "capture", "budgets", "gates")
_LABEL = 12


def describe(facts: dict, snapshot: dict, manifest: dict) -> str:
    lines: list[tuple[str, str]] = [
        ("bundle", facts["hash"] + ("  (active)" if facts.get("active") else "")),
        ("policy_id", facts.get("policy_id") or "?"),
        ("created_at", facts.get("created_at") or "?"),
        ("schema", str(facts.get("schema_version")) + _migrated(facts)),
    ]
    for label, key in (("version", "version"), ("compiler", "compiler")):
        if facts.get(key):
            lines.append((label, str(facts[key])))
    lines += [("path", facts.get("path") or "?"), ("verified", "content hash, policy_id and manifest match")]
    lines += _block("sources", [str(s) for s in snapshot.get("source_files") or []])
    lines += _block("routing", _routing(snapshot.get("routing")))
    lines += _block("capture", [_pairs(snapshot.get("capture"))] if snapshot.get("capture") else [])
    lines += _block("budgets", _table(snapshot.get("budgets")))
    lines += _block("gates", _table(snapshot.get("gates")))
    others = [f"{k} ({_size(v)})" for k, v in sorted(snapshot.items()) if k not in _META + _SHOWN]
    lines += _block("blocks", [", ".join(others)] if others else [])
    return "\n".join(f"{label:<{_LABEL}}{text}".rstrip() for label, text in lines)


def _migrated(facts: dict) -> str:
    chain = facts.get("migrated_from") or []
    return f" (stored as {chain[0]}, read through migrations)" if chain else ""


def _block(title: str, rows: list[str]) -> list[tuple[str, str]]:
    return [(title if i == 0 else "", row) for i, row in enumerate(rows)]


def _routing(routing: Any) -> list[str]:
    if not isinstance(routing, dict):
        return []
    rows = []
    cloud = routing.get("cloud")
    if isinstance(cloud, dict):
        width = max((len(role) for role in cloud), default=0)
        for role, models in cloud.items():
            rows.append(f"{role:<{width}}  {_models(models)}")
    for key, value in routing.items():
        if key != "cloud":
            rows.append(f"{key}: {_pairs(value) if isinstance(value, dict) else _scalar(value)}")
    return rows


def _models(models: Any) -> str:
    if isinstance(models, list):
        return ", ".join(_scalar(m) if not isinstance(m, dict) else str(m.get("model", _scalar(m))) for m in models)
    return _scalar(models)


def _table(block: Any) -> list[str]:
    """One row per entry of a block of tables (``gates.<name>``, ``budgets.tokens``...)."""
    if not isinstance(block, dict):
        return [] if block is None else [_scalar(block)]
    width = max((len(k) for k in block), default=0)
    return [f"{key:<{width}}  {_pairs(value) if isinstance(value, dict) else _scalar(value)}"
            for key, value in block.items()]


def _pairs(table: Any, limit: int = 8) -> str:
    if not isinstance(table, dict) or not table:
        return _scalar(table)
    items = list(table.items())
    shown = ", ".join(f"{k} {_scalar(v)}" for k, v in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


def _size(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}" if value else "empty"
    return _scalar(value)
