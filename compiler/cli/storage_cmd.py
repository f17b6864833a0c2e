"""Storage commands: ``polc delta apply|replay``, ``archive``, ``restore``, ``migrate``,
``backfill``, ``verify [--parity]`` and ``ledger verify`` (docs/storage.md).

Each finds the out dir from ``--out``, else from policy.toml (walking up), else
``artifacts/policy``; prints a short text report or, with ``--format json``, one JSON
object; and exits 0 ok, 1 refused, 2 usage, 3 unreadable input, 4 integrity failure.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from ..errors import ExitCode, PolcError

_out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                           help="The out dir holding bundles and policy.json (default: from policy.toml).")
_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                              show_default=True, help="Report format.")


def _project():
    from ..project import load_project

    try:
        return load_project()
    except PolcError:
        return None


def _out(out_dir: Path | None) -> Path:
    if out_dir is not None:
        return out_dir.resolve()
    project = _project()
    return project.out_dir if project else Path("artifacts/policy").resolve()


def _mirror(out: Path, digest: str | None) -> str | None:
    """Dual storage: with ``[storage].capsule`` configured, the bundle that became (or may become)
    the head is stored in the capsule too, so ``polc verify --parity`` holds (docs/storage.md)."""
    project = _project()
    if digest is None or project is None:
        return None
    from ..bundle import open_bundle
    from ..storage.capsule import mirror_bundle

    return mirror_bundle(project, open_bundle(out / digest))


def reporting(fn):
    """Run a command body that returns (text, json dict); render PolcError as diagnostics."""

    @functools.wraps(fn)
    def wrapper(*args, fmt="text", **kwargs):
        try:
            text, payload, code = fn(*args, **kwargs)
        except PolcError as exc:
            if fmt != "json":
                raise
            click.echo(json.dumps({"ok": False, "diagnostics": [d.to_json() for d in exc.diagnostics]}, indent=2))
            sys.exit(int(exc.exit_code))
        click.echo(json.dumps(payload, indent=2) if fmt == "json" else text)
        sys.exit(int(code))

    return wrapper


def _warn(diagnostics) -> None:
    from ..render import render

    if diagnostics:
        click.echo(render(diagnostics, "text"), err=True)


# -- delta -----------------------------------------------------------------------------------------

@click.group("delta")
def delta_cmd():
    """oplus policy deltas: apply one, or replay a delta log."""


@delta_cmd.command("apply")
@click.argument("bundle")
@click.argument("delta", type=click.Path(path_type=Path))
@click.option("--lr", "learning_rate", type=float, required=True, help="Learning rate eta (> 0).")
@click.option("--cycle", type=int, required=True, help="Training cycle number (>= 0).")
@click.option("--slice", "slice_", required=True, help="The slice the delta was computed on.")
@click.option("--mode", default="rfl", show_default=True, help="Update mode recorded in the log.")
@click.option("--attestation-root", help="The attested H_t root this delta derives from (required when the "
                                         "surface sets symbolic_descent.require_attestation).")
@_out_option
@_format_option
@reporting
def delta_apply_cmd(bundle, delta, learning_rate, cycle, slice_, mode, attestation_root, out_dir):
    """Apply DELTA (.npy gradient) to BUNDLE (dir, hash or policy.json); write a new bundle and log it."""
    from ..storage.deltas import DeltaRequest, apply_delta

    req = DeltaRequest(learning_rate, cycle, slice_, mode, attestation_root)
    from ..bundle import open_ref

    out = open_ref(bundle, _out(out_dir)).path.parent  # where apply_delta writes: beside BUNDLE
    row = apply_delta(bundle, delta, req, out)
    _mirror(out, row["policy_hash_after"])
    summary = {k: v for k, v in row.items() if k != "delta"}
    summary["delta"] = {k: v for k, v in row["delta"].items() if k != "payload"}
    return (f"{row['policy_hash_before']} ⊕ delta(cycle {cycle}, |step| {row['delta']['l2_norm']:.6g}"
            f"{', clipped' if row['clipped'] else ''}) → {row['policy_hash_after']}",
            {"ok": True, **summary}, ExitCode.OK)


@delta_cmd.command("replay")
@click.argument("base")
@click.argument("log", required=False, type=click.Path(path_type=Path))
@_out_option
@_format_option
@reporting
def delta_replay_cmd(base, log, out_dir):
    """Replay LOG (default <out>/delta_log.jsonl) from BASE and check every recorded hash."""
    from ..bundle import DELTA_LOG_FILE, open_ref
    from ..storage.replay import replay

    root = _out(out_dir)
    log = log or open_ref(base, root).path.parent / DELTA_LOG_FILE
    result, _ = replay(base, log, root)
    text = (f"replayed {result.applied} deltas ({result.skipped} rows of other lineages skipped): "
            f"{result.base} → {result.final}; every hash matched")
    return "\n".join([text, *result.notes]), {"ok": True, **result.to_json()}, ExitCode.OK


# -- archive / restore -----------------------------------------------------------------------------

def _archive_root(archive_dir: Path | None) -> Path:
    if archive_dir is not None:
        return archive_dir.resolve()
    project = _project()
    if project is None:
        return Path("archive/policy").resolve()
    from ..sources import resolve_in_project
    from ..storage.archive import DEFAULT_ARCHIVE_DIR

    name = project.section("storage").get("archive_dir", DEFAULT_ARCHIVE_DIR)
    return resolve_in_project(project.root, name, project.span("storage", "archive_dir"))


@click.command("archive")
@click.argument("bundle")
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Archive root (default: [storage].archive_dir, else archive/policy).")
@_out_option
@_format_option
@reporting
def archive_cmd(bundle, archive_dir, out_dir):
    """Archive BUNDLE (hash, dir or policy.json) as <archive-dir>/<date>_<hash>/ (append-only)."""
    from ..storage.archive import archive_bundle

    path = archive_bundle(_out(out_dir), bundle, _archive_root(archive_dir))
    return f"archived {path}", {"ok": True, "archive": str(path)}, ExitCode.OK


@click.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--reason", required=True, help="Why the policy is rolled back (goes into rollback_notice.md).")
@click.option("--operator", help="Who signs the rollback notice (default: the current user).")
@_out_option
@_format_option
@reporting
def restore_cmd(archive, reason, operator, out_dir):
    """Verify ARCHIVE, put its bundle back, re-point the head and write rollback_notice.md."""
    from ..storage.archive import restore

    out = _out(out_dir)
    bundle = restore(archive.resolve(), out, reason, operator)
    _mirror(out, bundle.hash)
    return (f"restored {bundle.hash} (head re-pointed; see rollback_notice.md)",
            {"ok": True, "hash": bundle.hash, "policy_id": bundle.snapshot["policy_id"]}, ExitCode.OK)


# -- migrate / backfill ----------------------------------------------------------------------------

@click.command("migrate")
@click.option("--source", required=True, type=click.Path(path_type=Path), help="Legacy v1 policy.json or its directory.")
@click.option("--policy", "policy",
              help="The current policy's bundle the legacy weights go into: a bundle dir, an out dir, a head "
                   "pointer or a hash prefix (default: the out dir's head bundle).")
@click.option("--dry-run", is_flag=True, help="Migrate a frozen copy and report; write nothing.")
@click.option("--allow-pickle", is_flag=True, help="Convert pickled legacy weights (unpickling runs code!).")
@click.option("--operator", help="Recorded in MIGRATIONS.md (default: the current user).")
@_out_option
@_format_option
@reporting
def migrate_cmd(source, policy, dry_run, allow_pickle, operator, out_dir):
    """Migrate a policy_manifest@v1 policy's weights into a bundle of the current policy.

    The legacy policy_hash must be the sha256 of the legacy weights (exit 4 otherwise). The new
    bundle is the current policy (the out dir's head bundle, or --policy) holding the legacy
    weights; without a current policy nothing is written (exit 2).
    """
    from ..storage.migrate import migrate

    out = _out(out_dir)
    result = migrate(source.resolve(), out, policy=policy, dry_run=dry_run, allow_pickle=allow_pickle,
                     operator=operator, warn=_warn)
    stored = None if dry_run else _mirror(out, result.hash_after)
    verb = "would migrate" if dry_run else "migrated"
    text = f"{verb} {result.source}: {result.hash_before} → {result.hash_after} (policy {result.base[:12]})"
    if not dry_run and not result.head_moved:
        text += (f"\nthe head `{out / 'policy.json'}` is the legacy file: point it at the new bundle with "
                 f"`polc backfill --policy-root {out} --apply`")
    return (text, {"ok": True, "dry_run": dry_run, "source": result.source, "hash_before": result.hash_before,
                   "hash_after": result.hash_after, "bundle": result.bundle, "policy": result.base,
                   "head_moved": result.head_moved, "capsule_uri": stored}, ExitCode.OK)


@click.command("backfill")
@click.option("--policy-root", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", "mode", flag_value="dry-run", help="Report what would change.")
@click.option("--apply", "mode", flag_value="apply", help="Rewrite the head pointer to the manifest identity.")
@_format_option
@reporting
def backfill_cmd(policy_root, mode):
    """Re-point the head pointer of --policy-root to its bundle's manifest identity."""
    from ..storage import backfill

    if mode is None:
        raise click.UsageError("choose --dry-run or --apply")
    plan = (backfill.apply if mode == "apply" else backfill.plan)(policy_root.resolve())
    if mode == "apply":
        _mirror(policy_root.resolve(), plan.target)
    action = "re-pointed" if mode == "apply" and plan.target and plan.reason != "up to date" else "plan"
    return f"{action}: {plan.head} → {plan.target} ({plan.reason})", {"ok": True, "mode": mode, **plan.to_json()}, ExitCode.OK


# -- verify / ledger -------------------------------------------------------------------------------

@click.command("verify")
@click.option("--parity", is_flag=True, help="Also check filesystem/capsule byte parity of every snapshot.")
@click.option("--repair", is_flag=True, help="With --parity: store verified bundles the capsule lacks.")
@click.option("--capsule", "capsule_path",
              help="Capsule file or postgresql:// URL (default: [storage].capsule, else <out>/capsule.sqlite).")
@click.option("--workspace", help="Capsule workspace (default: [storage].workspace or the project name).")
@_out_option
@_format_option
@reporting
def verify_cmd(parity, repair, capsule_path, workspace, out_dir):
    """Verify every bundle in the out dir; with --parity, the capsule copies too."""
    from ..storage.verify import verify_all

    from ..codes import exit_code_for

    lines, payload, problems = verify_all(_out(out_dir), _project(), parity, repair, capsule_path, workspace)
    _warn(problems)
    code = ExitCode(exit_code_for(problems))
    return "\n".join(lines), {"ok": code == 0, **payload, "diagnostics": [d.to_json() for d in problems]}, code


@click.group("ledger")
def ledger_cmd():
    """The policy hash ledger (policy_hash_ledger.jsonl)."""


@ledger_cmd.command("verify")
@_out_option
@_format_option
@reporting
def ledger_verify_cmd(out_dir):
    """Check the ledger's hash chain and every row against the bundles on disk."""
    from ..storage.ledger import verify_ledger

    count, problems = verify_ledger(_out(out_dir))
    _warn(problems)
    code = ExitCode.INTEGRITY if problems else ExitCode.OK
    text = f"ledger: {count} rows, " + ("every row matches its bundle" if not problems else f"{len(problems)} problems")
    return text, {"ok": not problems, "rows": count, "diagnostics": [d.to_json() for d in problems]}, code


@ledger_cmd.command("snapshot")
@click.option("--notes", required=True, help="Why this snapshot is recorded (context for reviewers).")
@click.option("--bundle", "bundle_ref", help="The bundle to record (hash or prefix; default: the head pointer's).")
@_out_option
@_format_option
@reporting
def ledger_snapshot_cmd(notes, bundle_ref, out_dir):
    """Append a ledger row for a bundle with its drift status against the previous row.

    The row holds the hash, the manifest hash, the drift status and findings against the
    ledger's previous policy (the stdlib and project drift rules, with [drift] approvals),
    the learning-rate spread, the notes and the time. Exit 1 when the drift is BLOCK, so a
    commit guard can stop the commit.
    """
    from ..bundle import open_ref
    from ..diff.ledger_status import drift_since_previous
    from ..storage import ledger

    out = _out(out_dir)
    bundle = open_ref(bundle_ref or out, out)  # verified: hashes, manifest and the head pointer
    project = _project()
    settings = project.section("drift") if project else {}
    details = drift_since_previous(out, bundle, settings)
    line = ledger.record(out, "snapshot", bundle, notes=notes, **details)
    row = json.loads(line)
    status = details["drift_status"]
    against = details["against"][:12] if details["against"] else "nothing (first row)"
    text = (f"ledger: recorded {bundle.hash[:12]} — drift {status} against {against}, "
            f"{len(details['drift_findings'])} finding(s)")
    return text, row, ExitCode.FINDINGS if status == "BLOCK" else ExitCode.OK



# -- gc --------------------------------------------------------------------------------------------

@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@click.option("--keep", type=click.IntRange(min=0), default=5, show_default=True,
              help="Keep the bundles named by the ledger's last N rows.")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
              help="The run workspace whose receipts pin bundles (default: $POLC_WORKSPACE, else .polc in the "
                   "project).")
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Archive root: archived bundles are kept (default: [storage].archive_dir, else archive/policy).")
@_out_option
@_format_option
@reporting
def gc_cmd(dry_run, keep, workspace, archive_dir, out_dir):
    """Remove the bundles nothing needs: not the head, not in the ledger's last N rows, not archived,
    not pinned by a run receipt, not registered (docs/storage.md, "Retention").

    Nothing is removed while another writer holds the out dir's storage lock.
    """
    import os

    from ..storage.gc import Retention, collect

    project = _project()
    root = project.root if project else Path.cwd()
    env_workspace = os.environ.get("POLC_WORKSPACE")
    retention = Retention(
        archive_dir=_archive_root(archive_dir),
        workspace=(workspace or (Path(env_workspace) if env_workspace else root / ".polc")).resolve(),
        registry_url=_registry_url(project))
    result = collect(_out(out_dir), retention, keep, dry_run=dry_run)
    _warn(result.warnings)
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {digest}" for digest in result.remove]
    lines += [f"kept    {digest[:16]}…  ({', '.join(why)})" for digest, why in sorted(result.kept.items())]
    lines.append(f"gc: {verb} {len(result.remove)} bundle(s), kept {len(result.kept)} in {result.out_dir}")
    return "\n".join(lines), result.to_json(), ExitCode.OK


def _registry_url(project) -> str | None:
    """The registry database gc reads (never writes): --registry's sources, as the registry finds them."""
    import os

    if project is None:
        return os.environ.get("POLC_REGISTRY_URL")
    from ..registry.config import RegistryConfig

    return RegistryConfig.from_project(project).registry_url()
