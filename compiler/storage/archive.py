"""Rollback-safe archives (docs/storage.md "Archives and restore"): ``polc archive`` and ``polc restore``.

``archive/policy/<YYYY-MM-DD>_<hash>/`` holds the bundle's files exactly, plus
``ledger_excerpt.jsonl`` (the ledger rows for that hash) and ``verification.log`` (each
check run, with its result and time). It is staged in a temp directory and renamed into
place; an existing archive is never touched (append-only).

``restore`` re-runs every check of the log, and also compares each recorded sha256 with
the recomputed one (the checks are deterministic, so they must agree); on any mismatch it
refuses and changes nothing. Otherwise it puts the bundle back in the out dir, re-points the
head, appends a ``restore`` ledger row, and appends a section to ``<out>/rollback_notice.md``.

>>> archive_name("ab" * 32, "2026-11-23")[:15]
'2026-11-23_abab'
"""

from __future__ import annotations

import getpass
import hashlib
import re
from pathlib import Path

from ..bundle import (Bundle, is_full_hash, open_bundle, open_ref, point_head, read_head, storage_lock,
                      verify_bundle_files, write_bundle)
from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError, PolcError, UsageError
from ..fsutil import atomic_write_bytes, publish_directory
from . import ledger

DEFAULT_ARCHIVE_DIR = "archive/policy"
EXCERPT, LOG, NOTICE = "ledger_excerpt.jsonl", "verification.log", "rollback_notice.md"
_LOGGED_SHA = re.compile(r"^\S+\s+sha256\s+(\S+)\s+([0-9a-f]{64})\s+(\d+)\s+OK$")


def archive_name(digest: str, day: str) -> str:
    return f"{day}_{digest}"


def _today() -> str:
    from ..clock import now

    return now().date().isoformat()


def _now() -> str:
    from ..clock import now_timestamp

    return now_timestamp()


def verification_lines(bundle: Bundle) -> list[str]:
    """The checks an archive records; each line is ``<time> <check> <subject> <values> OK``."""
    when = _now()
    lines = [f"{when} sha256 {name} {hashlib.sha256(data).hexdigest()} {len(data)} OK"
             for name, data in sorted(bundle.content_files().items())]
    lines.append(f"{when} manifest_sha256 policy.manifest.json {bundle.manifest['sha256']} OK")
    lines.append(f"{when} snapshot_hash snapshot.json {bundle.hash} OK")
    if bundle.snapshot.get("policy_weights"):
        from .deltas import bundle_weights

        array = bundle_weights(bundle)
        lines.append(f"{when} weights_decode policy.weights.bin {array.dtype}{list(array.shape)} OK")
    return lines


def archive_bundle(out_dir: Path, ref: str, archive_root: Path, *, day: str | None = None) -> Path:
    """Write ``archive_root/<day>_<hash>/``; PolcError if it exists. Returns its path."""
    bundle = open_ref(ref, out_dir)  # verifies every hash first: never archive a damaged bundle
    out_dir = bundle.path.parent
    day = day or _today()
    target = archive_root / archive_name(bundle.hash, day)
    if target.exists():
        raise PolcError("archive exists", [Diagnostic.error(
            "POLC380", f"the archive `{target}` already exists", Span.whole_file(str(target)),
            hint="archives are append-only and never overwritten; the bundle is already archived")])
    files = dict(bundle.files)
    files[EXCERPT] = b"".join(line + b"\n" for line in ledger.rows_for(out_dir, bundle.hash))
    files[LOG] = ("\n".join(verification_lines(bundle)) + "\n").encode()
    archive_root.mkdir(parents=True, exist_ok=True)
    _write_new_dir(target, files)
    return target


def _write_new_dir(target: Path, files: dict[str, bytes]) -> None:
    if not publish_directory(target, files):  # lost a race with another archiver: leave theirs alone
        raise PolcError("archive exists", [Diagnostic.error("POLC380", f"the archive `{target}` already exists")])


def verify_archive(archive: Path) -> Bundle:
    """Re-run the archive's checks; IntegrityError (POLC381) naming the first that fails."""
    digest = archive.name.rpartition("_")[2]
    if not is_full_hash(digest) or not (archive / LOG).is_file():
        raise InputError("not an archive", [Diagnostic.error(
            "POLC350", f"`{archive}` is not a polc archive (<date>_<hash>/ with {LOG})",
            hint="pass a directory written by `polc archive`")])
    files = {name: data for name, data in _archive_files(archive).items() if name not in (EXCERPT, LOG)}
    bundle = verify_bundle_files(files, expected_hash=digest, where=str(archive), path=archive)
    recorded = {}
    for line in (archive / LOG).read_text(encoding="utf-8", errors="replace").splitlines():
        match = _LOGGED_SHA.match(line)
        if match:
            recorded[match.group(1)] = (match.group(2), int(match.group(3)))
    actual = {n: (hashlib.sha256(d).hexdigest(), len(d)) for n, d in bundle.content_files().items()}
    if recorded != actual:
        differing = sorted(set(recorded.items()) ^ set(actual.items()))
        raise _failed(archive, f"{LOG} records different file hashes ({differing[0][0]})")
    verification_lines(bundle)  # decodes the weights too
    return bundle


def _archive_files(archive: Path) -> dict[str, bytes]:
    """The archive's files; a damaged archive is refused like a damaged bundle (POLC70x, exit 4)."""
    from ..bundle.disk import read_bundle_files

    return read_bundle_files(archive, extra=(EXCERPT, LOG))


def _failed(archive: Path, why: str) -> IntegrityError:
    return IntegrityError("archive does not verify", [Diagnostic.error(
        "POLC381", f"archive `{archive}` does not verify: {why}", Span.whole_file(str(archive / LOG)),
        hint="the archive was altered; use another archive of this policy or restore it from version control")])


def restore(archive: Path, out_dir: Path, reason: str, operator: str | None = None) -> Bundle:
    if not reason or not reason.strip():
        raise UsageError("--reason required", [Diagnostic.error(
            "POLC381", "a restore needs a reason", hint="pass --reason \"why this policy is rolled back\"")])
    bundle = verify_archive(archive)
    out_dir.mkdir(parents=True, exist_ok=True)
    with storage_lock(out_dir):
        previous = _active(out_dir)
        stored = open_bundle(write_bundle(out_dir, bundle))  # what is now in the out dir verifies
        point_head(out_dir, stored)
        ledger.record(out_dir, "restore", stored, archive=archive.name, previous=previous, reason=reason)
        _append_notice(out_dir, bundle, archive, previous, reason, operator or _operator())
    return bundle


def _active(out_dir: Path) -> str | None:
    try:
        head = read_head(out_dir)
    except PolcError:  # a damaged head is what a restore repairs
        return None
    return head.active if head else None


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _append_notice(out_dir: Path, bundle: Bundle, archive: Path, previous: str | None, reason: str,
                   operator: str) -> None:
    path = out_dir / NOTICE
    old = path.read_text(encoding="utf-8") if path.exists() else "# Rollback notices\n\nAppend-only: one section per `polc restore`.\n"
    section = (f"\n## {_now()} — restored {bundle.hash}\n\n"
               f"- policy_id: {bundle.snapshot['policy_id']}\n"
               f"- previous head: {previous or '(none)'}\n"
               f"- archive: {archive.name}\n"
               f"- verification: every check of {LOG} re-run and matched\n"
               f"- reason: {' '.join(reason.split())}\n\n"
               f"Signed-off-by: {operator}\n")
    atomic_write_bytes(path, (old + section).encode("utf-8"))
