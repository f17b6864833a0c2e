"""``polc migrate``: a legacy ``policy_manifest@v1`` policy → a verified polc bundle (docs/storage.md "Migrations").

A v1 policy is weights and nothing else, so the migrated bundle is the **current policy**
(routing, capture, budgets, gates, surface, rules: the out dir's head bundle, or the bundle
``--policy`` names) with its weights replaced by the legacy ones (``derive_bundle``). Without
a current policy the migration is refused (POLC394): it never replaces the live policy with
an empty one.

1. **Check**: the legacy ``policy_hash`` must be the sha256 of the legacy weights file
   (POLC396, exit 4), before anything is unpickled.
2. **Freeze**: copy the weights into a work directory in the out dir (the source is only
   read, and its hashes are checked again at the end).
3. **Migrate**: run each step's ``up`` on the copy (``compiler.storage.migrations``).
4. **Verify**: the new bundle is written (temp dir + rename), re-read, every hash
   recomputed, its weights must equal the legacy weights exactly, and the runtime must load
   it (``load_snapshot``). On failure ``down`` runs on the work copy, the new bundle is
   removed, and nothing else changes (exit 4).
5. **Promote**: re-point the head (unless the head is the legacy ``policy.json`` itself:
   ``polc backfill --apply`` re-points that one), append a ``migration`` ledger row and a row
   to ``<out>/MIGRATIONS.md`` (from, to, hash_before, hash_after, operator, timestamp).

``--dry-run`` stops after step 3 and reports what would happen.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..bundle import Bundle, bundle_of, derive_bundle, open_bundle, open_ref, point_head, read_head, storage_lock, write_bundle
from ..bundle.head import legacy_hint
from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError, PolcError, UsageError
from . import ledger
from .deltas import bundle_weights
from .migrations import STEPS
from .migrations.v1_to_v2 import MigrationError

MIGRATIONS_FILE = "MIGRATIONS.md"
_TABLE_HEAD = ("# Policy migrations\n\nAppend-only: one row per `polc migrate`.\n\n"
               "| from | to | hash_before | hash_after | operator | timestamp |\n| --- | --- | --- | --- | --- | --- |\n")


@dataclass(frozen=True)
class MigrationResult:
    source: str
    hash_before: str
    hash_after: str
    bundle: str | None
    dry_run: bool
    warnings: tuple[Diagnostic, ...] = ()
    base: str | None = None        # the current policy's bundle the legacy weights went into
    head_moved: bool = False       # False when the head is the legacy policy.json (backfill moves it)


def _refuse(message: str, source: Path, hint: str, code: str = "POLC390") -> PolcError:
    return PolcError(message, [Diagnostic.error(code, message, Span.whole_file(str(source)), hint=hint)])


def read_v1(source: Path) -> tuple[Path, dict, Path]:
    """(policy.json path, its dict, weights path) of a v1 source; PolcError unless it is v1."""
    path = source / "policy.json" if source.is_dir() else source
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError("no source", [Diagnostic.error("POLC350", f"`{path}` does not exist",
                                                       hint="pass a legacy policy.json or its directory")]) from None
    except (OSError, ValueError) as exc:
        raise _refuse(f"`{path}` is not JSON: {exc}", path, "a v1 policy is a JSON policy.json") from None
    version = manifest.get("schema_version", "policy_manifest@v1") if isinstance(manifest, dict) else None
    if version not in STEPS or not isinstance(manifest.get("weights_file"), str):
        raise _refuse(f"`{path}` is not a policy_manifest@v1 policy (schema_version {version!r})", path,
                      "migrate only legacy single-file policies with weights_file; a polc_head@v1 or "
                      "policy_manifest@v2 file is already current")
    weights = (path.parent / manifest["weights_file"]).resolve()
    if path.parent.resolve() not in weights.parents or not weights.is_file():
        raise _refuse(f"weights_file `{manifest['weights_file']}` is missing or outside {path.parent}", path,
                      "keep the weights beside policy.json")
    return path, manifest, weights


def migrate(source: Path, out_dir: Path, *, policy: str | Path | None = None, dry_run: bool = False,
            allow_pickle: bool = False, operator: str | None = None, warn=None) -> MigrationResult:
    """Run the migration; ``warn(diagnostics)`` is called before anything is unpickled.

    ``policy`` names the current policy's bundle (a bundle dir, a head pointer, an out dir, or
    a hash prefix in ``out_dir``); by default it is the head bundle of ``out_dir``.
    """
    policy_json, manifest, weights = read_v1(source)
    hash_before, unverified = _check_legacy_hash(policy_json, manifest, weights)
    base, legacy_head = current_policy(out_dir, policy)
    warnings = unverified + _pickle_gate(policy_json, manifest, allow_pickle)
    if warn and warnings:
        warn(warnings)
    before = {p: _sha(p) for p in (policy_json, weights)}
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".migration_work.", dir=out_dir))
    try:
        frozen = work / weights.name
        shutil.copyfile(weights, frozen)
        step = STEPS[manifest.get("schema_version", "policy_manifest@v1")]
        try:
            draft, bin_path = step.up(manifest, frozen, allow_pickle=allow_pickle)
        except (MigrationError, ValueError, OSError) as exc:
            raise _refuse(f"`{weights}` cannot be migrated: {exc}", weights, "check the legacy weights file") from None
        new = _migrated_bundle(base, draft, bin_path)
        if dry_run:
            return MigrationResult(str(policy_json), hash_before, new.hash, None, True, warnings, base.hash)
        with storage_lock(out_dir):
            bundle = _promote(out_dir, new, step, draft, bin_path, frozen, manifest, allow_pickle,
                              point=not legacy_head)
            _record(out_dir, step, hash_before, bundle, operator, base.hash)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if {p: _sha(p) for p in before} != before:  # the source must be exactly as we found it
        raise IntegrityError("source changed", [Diagnostic.error(
            "POLC392", f"the migration source `{source}` changed while it was migrated", hint="migrate it again")])
    return MigrationResult(str(policy_json), hash_before, bundle.hash, str(bundle.path), False, warnings, base.hash,
                           head_moved=not legacy_head)


def current_policy(out_dir: Path, policy: str | Path | None) -> tuple[Bundle, bool]:
    """(the current policy's verified bundle, whether the out dir's head is a legacy v1 file)."""
    legacy_head = False
    try:
        head = read_head(out_dir)
    except PolcError as exc:
        if not exc.diagnostics or exc.diagnostics[0].code != "POLC711":
            raise
        head, legacy_head = None, True
    if policy is not None:
        return open_ref(policy, out_dir), legacy_head
    if head is not None:
        return bundle_of(head), False
    if legacy_head:
        hint = legacy_hint(out_dir)
        why = f"the head `{out_dir / 'policy.json'}` is the legacy v1 file itself"
    else:
        hint = ("build the policy first (`polc build`), or pass --policy BUNDLE (a bundle dir, an out dir or "
                "a head pointer) naming the policy the legacy weights belong to")
        why = f"`{out_dir}` has no head bundle"
    raise UsageError("no current policy", [Diagnostic.error(
        "POLC394", f"migrate puts the legacy weights into a bundle of the current policy, but {why} "
                   "(migrating into an empty policy would leave routing, capture and budgets empty)", hint=hint)])


def _check_legacy_hash(policy_json: Path, manifest: dict, weights: Path) -> tuple[str, tuple[Diagnostic, ...]]:
    """The verified legacy ``policy_hash`` (the sha256 of the legacy weights file; docs/storage.md "Migrations").

    A mismatch is POLC396 (exit 4). A v1 file without ``policy_hash`` (the oldest ones) cannot
    be checked: the weights' own sha256 stands in for it, with the warning POLC397.
    """
    actual = _sha(weights)
    recorded = manifest.get("policy_hash")
    if recorded is None:
        return actual, (Diagnostic.warning(
            "POLC397", f"`{policy_json}` records no policy_hash, so its weights cannot be checked against it",
            Span.whole_file(str(policy_json)),
            hint=f"MIGRATIONS.md records the weights' sha256 {actual} as hash_before"),)
    if recorded != actual:
        raise IntegrityError("legacy policy_hash mismatch", [Diagnostic.error(
            "POLC396", f"`{policy_json}` records policy_hash {recorded!s:.80}, but its weights file "
                       f"`{weights.name}` has sha256 {actual}", Span.whole_file(str(policy_json)),
            hint="the legacy weights or policy.json were changed after they were written; migrate an intact "
                 "copy (nothing was written)")])
    return recorded, ()


def _pickle_gate(path: Path, manifest: dict, allow_pickle: bool) -> tuple[Diagnostic, ...]:
    if not str(manifest.get("serialization", "npy")).startswith("pickle"):
        return ()
    if not allow_pickle:
        raise _refuse(f"`{path}` has pickled weights ({manifest['serialization']}); refusing to unpickle", path,
                      "unpickling runs code from the file; if you trust it, rerun with --allow-pickle", "POLC391")
    return (Diagnostic.warning("POLC393", f"unpickling the legacy weights of `{path}`: a pickle can run code; "
                               "only numpy arrays are accepted", Span.whole_file(str(path)),
                               hint="the migrated bundle stores raw little-endian weights; pickle is never written"),)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _migrated_bundle(base: Bundle, draft: dict, bin_path: Path) -> Bundle:
    """``base`` with the legacy weights and a ``legacy`` block (what was migrated, from where)."""
    from ..clock import build_time
    from .weights import WEIGHTS_FILE

    meta, legacy = draft["weights"], draft["legacy"]
    return derive_bundle(base, {"policy_weights": meta, "legacy": legacy}, {WEIGHTS_FILE: bin_path.read_bytes()},
                         build_time(), {"weights": meta, "legacy": legacy})


def _promote(out_dir, new: Bundle, step, draft, bin_path, frozen, manifest, allow_pickle, *, point: bool):
    import numpy as np

    existed = (out_dir / new.hash).exists()
    path = write_bundle(out_dir, new)
    try:
        bundle = open_bundle(path)
        legacy = step.read_legacy_weights(manifest, frozen, allow_pickle=allow_pickle)
        if not np.array_equal(bundle_weights(bundle), np.asarray(legacy, dtype=bundle_weights(bundle).dtype)):
            raise IntegrityError("weights differ", [Diagnostic.error("POLC392", "migrated weights differ")])
        _loads(path)
    except PolcError as exc:
        step.down(draft, bin_path)  # prove the step can be undone on the work copy
        if not existed:
            shutil.rmtree(path, ignore_errors=True)
        why = exc.diagnostics[0].message if exc.diagnostics else exc.message
        raise IntegrityError("migration failed verification", [Diagnostic.error(
            "POLC392", f"the migrated bundle failed verification ({why}); rolled back, source untouched",
            hint="report this with the source policy; nothing was promoted")]) from None
    if point:
        point_head(out_dir, bundle)
    return bundle


def _loads(path: Path) -> None:
    """The migrated bundle must load in the runtime exactly as a router would load it."""
    from ..runtime import load_snapshot

    try:
        load_snapshot(path, check_compatibility=False)  # the bundle's integrity, not this machine's runner
    except PolcError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError("does not load", [Diagnostic.error(
            "POLC392", f"the runtime cannot load the migrated bundle: {type(exc).__name__}: {exc}")]) from None


def _record(out_dir: Path, step, hash_before: str, bundle, operator: str | None, base: str) -> None:
    from .ledger import now

    who = operator or _user()
    ledger.record(out_dir, "migration", bundle, **{"from": step.FROM, "to": step.TO},
                  hash_before=hash_before, operator=who, policy=base)
    row = f"| {step.FROM} | {step.TO} | {hash_before} | {bundle.hash} | {who} | {now()} |\n"
    path = out_dir / MIGRATIONS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, _TABLE_HEAD.encode())
        os.write(fd, row.encode())  # one write: a crash leaves the row whole or absent
        os.fsync(fd)
    finally:
        os.close(fd)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
