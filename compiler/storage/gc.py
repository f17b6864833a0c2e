"""``polc gc``: remove the bundles of an out dir that nothing needs any more.

A bundle is kept when it is

* the head (``policy.json``), or the bundle the last row of ``delta_log.jsonl`` produced (an
  interrupted delta is finished from it by the next ``delta apply``);
* named by one of the ledger's last ``keep`` rows (``policy_hash_ledger.jsonl``);
* archived (an ``<archive-dir>/<date>_<hash>/`` exists);
* pinned by a run receipt in the workspace (``<workspace>/runs/*/RECEIPT.json``:
  ``policy_bundle_id`` and every ``policies[].policy_bundle_id``);
* registered in the registry database policy.toml names (read only: ``polc_bundles``);
* damaged (it does not verify): kept for inspection and reported (POLC383).

Everything else is removed. Safety: gc decides and removes under the out dir's storage lock,
taken without waiting — while another writer (build, delta apply, restore, migrate, backfill)
holds it, gc removes nothing (POLC382). It refuses to guess (POLC384) when the head, the
ledger, a receipt or the registry cannot be read. Removal is crash-safe: a ``gc`` ledger row
names the bundles first, then each directory is renamed to a hidden trash name
(``.polc-gc-trash.<hash>``, invisible to every reader) and only then deleted; trash a crash
left behind is deleted by the next gc. ``polc ledger verify`` and ``polc verify --parity`` know
the bundles a ``gc`` row removed.

>>> Plan(Path("/o"), 3, ["ab"], {"cd": ["head"]}, []).to_json()["remove"]
['ab']
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..bundle import DELTA_LOG_FILE, bundle_dirs, open_bundle, read_head, storage_lock
from ..diagnostics import Diagnostic
from ..errors import InputError, PolcError
from . import jsonl, ledger

TRASH_PREFIX = ".polc-gc-trash."
DEFAULT_KEEP = 5


@dataclass
class Plan:
    out_dir: Path
    keep: int
    remove: list[str]
    kept: dict[str, list[str]]                       # hash -> why it stays
    warnings: list[Diagnostic] = field(default_factory=list)
    removed: bool = False                            # False for a dry run

    def to_json(self) -> dict:
        return {"ok": True, "out_dir": str(self.out_dir), "keep": self.keep, "dry_run": not self.removed,
                "remove": self.remove, "kept": self.kept, "diagnostics": [d.to_json() for d in self.warnings]}


@dataclass(frozen=True)
class Retention:
    """Where the references that keep bundles alive are: the archive root, the run workspace and
    the registry database (a sqlite path or postgresql:// URL), each optional."""

    archive_dir: Path | None = None
    workspace: Path | None = None
    registry_url: str | None = None


def plan(out_dir: Path, retention: Retention, keep: int = DEFAULT_KEEP) -> Plan:
    """What gc would remove now (nothing is changed)."""
    reasons: dict[str, list[str]] = {}

    def protect(hashes: Iterable[str], why: str) -> None:
        for digest in hashes:
            held = reasons.setdefault(digest, [])
            if why not in held:
                held.append(why)

    head = _head(out_dir)
    if not head and bundle_dirs(out_dir):
        raise _refuse(f"`{out_dir}` has bundles but no head pointer, so gc cannot tell which bundle is live",
                      "point the head first (`polc backfill --policy-root DIR --apply`); gc removed nothing")
    protect(head, "head")
    protect(_last_delta(out_dir), "last delta")
    protect(_ledger_tail(out_dir, keep), f"in the ledger's last {keep} rows")
    protect(_archived(retention.archive_dir), "archived")
    protect(_pinned(retention.workspace), "pinned by a run receipt")
    protect(_registered(retention.registry_url), "registered")
    remove, kept, warnings = [], {}, []
    for path in bundle_dirs(out_dir):
        if path.name in reasons:
            kept[path.name] = reasons[path.name]
            continue
        try:
            open_bundle(path)
        except PolcError as exc:
            why = exc.diagnostics[0].message if exc.diagnostics else exc.message
            warnings.append(Diagnostic.warning("POLC383", f"bundle {path.name[:16]}… does not verify, so gc keeps it "
                                               f"for inspection: {why}", hint="`polc verify` shows the damage; restore "
                                               "it from an archive, or delete it yourself once inspected"))
            kept[path.name] = ["damaged"]
            continue
        remove.append(path.name)
    return Plan(out_dir, keep, remove, kept, warnings)


def collect(out_dir: Path, retention: Retention, keep: int = DEFAULT_KEEP, *, dry_run: bool = False) -> Plan:
    """Plan and (unless ``dry_run``) remove, under the storage lock taken without waiting."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError("no out dir", [Diagnostic.error("POLC350", f"`{out_dir}` is not a directory",
                                                        hint="build first, or pass --out")])
    try:
        with storage_lock(out_dir, wait=False):
            _empty_trash(out_dir)
            result = plan(out_dir, retention, keep)
            if not dry_run and result.remove:
                _remove(out_dir, result.remove)
            result.removed = not dry_run
            return result
    except BlockingIOError:
        raise PolcError("storage lock busy", [Diagnostic.error(
            "POLC382", f"another writer holds the storage lock of `{out_dir}` (a build, delta, restore, migrate or "
                       "backfill is running); gc removed nothing", hint="run polc gc again when it has finished")]) from None


# --- what keeps a bundle ------------------------------------------------------------------------

def _refuse(message: str, hint: str) -> PolcError:
    return InputError(message, [Diagnostic.error("POLC384", message, hint=hint)])


def _head(out_dir: Path) -> list[str]:
    try:
        head = read_head(out_dir)
    except PolcError as exc:
        why = exc.diagnostics[0].message if exc.diagnostics else exc.message
        raise _refuse(f"gc cannot tell which bundle is live: {why}",
                      "repair the head first (`polc verify`, `polc backfill --apply`); gc removed nothing") from None
    return [head.active] if head else []


def _last_delta(out_dir: Path) -> list[str]:
    row, _ = jsonl.last_row(out_dir / DELTA_LOG_FILE)
    after = (row or {}).get("policy_hash_after")
    return [after] if isinstance(after, str) else []


def _ledger_tail(out_dir: Path, keep: int) -> list[str]:
    rows = jsonl.read_rows(out_dir / ledger.LEDGER_FILE, "POLC370") if keep else []
    return [str(row.get("hash")) for row, _ in rows[-keep:]] if keep else []


def _archived(archive_dir: Path | None) -> list[str]:
    if archive_dir is None or not archive_dir.is_dir():
        return []
    return [entry.name.rpartition("_")[2] for entry in os.scandir(archive_dir) if entry.is_dir()]


def _pinned(workspace: Path | None) -> list[str]:
    runs = workspace / "runs" if workspace is not None else None
    if runs is None or not runs.is_dir():
        return []
    pinned = []
    for run in sorted(runs.iterdir()):
        receipt = run / "RECEIPT.json"
        if not receipt.exists():
            continue
        try:
            data = json.loads(receipt.read_bytes())
            pinned.append(data["policy_bundle_id"])
            pinned.extend(p["policy_bundle_id"] for p in data.get("policies", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _refuse(f"the run receipt `{receipt}` cannot be read ({exc}), so gc cannot tell which bundles "
                          "it pins", "repair or move the run directory aside; gc removed nothing") from None
    return [p for p in pinned if isinstance(p, str)]


def _registered(url: str | None) -> list[str]:
    """Every bundle id in the registry's ``polc_bundles``, read without writing anything."""
    if not url:
        return []
    try:
        if url.startswith(("postgresql://", "postgres://")):
            return _registered_postgres(url)
        return _registered_sqlite(Path(url[len("sqlite:///") - 1:] if url.startswith("sqlite:///")
                                       else url.removeprefix("sqlite:")))
    except PolcError:
        raise
    except Exception as exc:  # any driver error: never remove what the registry may still name
        raise _refuse(f"the registry `{_shown(url)}` cannot be read ({type(exc).__name__}: {exc}), so gc cannot "
                      "tell which bundles are registered", "check [registry] url and that the database is up; "
                      "gc removed nothing") from None


def _registered_sqlite(path: Path) -> list[str]:
    import sqlite3
    from urllib.parse import quote

    if not path.exists():
        return []  # no registry database: nothing is registered
    db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'polc_bundles'").fetchone():
            return []
        return [r[0] for r in db.execute("SELECT bundle_id FROM polc_bundles")]
    finally:
        db.close()


def _registered_postgres(url: str) -> list[str]:
    import psycopg

    from ..capsule.postgres import split_schema  # the same URL form as the registry's (?schema=NAME)

    conninfo, schema = split_schema(url)
    table = f'"{schema}".polc_bundles' if schema else "polc_bundles"
    with psycopg.connect(conninfo, connect_timeout=10) as conn:
        conn.read_only = True
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        return [r[0] for r in conn.execute(f"SELECT bundle_id FROM {table}")] if exists else []


def _shown(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts._replace(netloc=parts.hostname or "").geturl() if parts.password else url


# --- removal --------------------------------------------------------------------------------------

def _remove(out_dir: Path, hashes: list[str]) -> None:
    from ..fsutil import fsync_dir

    head = read_head(out_dir)
    ledger.record(out_dir, "gc", open_bundle(out_dir / head.active), removed=hashes)  # the intent, first
    for digest in hashes:
        os.rename(out_dir / digest, out_dir / f"{TRASH_PREFIX}{digest}")  # atomic: gone for every reader
    fsync_dir(out_dir)
    _empty_trash(out_dir)


def _empty_trash(out_dir: Path) -> None:
    for entry in os.scandir(out_dir):
        if entry.name.startswith(TRASH_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def pruned(out_dir: Path) -> set[str]:
    """The hashes ``gc`` rows of the ledger record as removed."""
    rows = jsonl.read_rows(Path(out_dir) / ledger.LEDGER_FILE, "POLC370")
    return {h for row, _ in rows if row.get("event") == "gc" for h in (row.get("details") or {}).get("removed", [])
            if isinstance(h, str)}
