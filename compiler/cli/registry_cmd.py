"""``polc registry ...``: the registry from the command line (docs/registry.md).

Every subcommand takes ``--json`` (the contracts schema's response, or an ErrorResponse with the
same exit code), ``--registry URL`` (else POLC_REGISTRY_URL, [registry] url, .polc/registry.db)
and ``--project DIR`` (else policy.toml is found by walking up from the current directory).
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from pathlib import Path

import click

from ..errors import ExitCode, PolcError
from ..registry import render
from ..registry.gate_receipt import read_receipt

STATES = ("candidate", "staged", "shadow", "promoted", "rolled_back", "retired")
ROLES = ("submitter", "approver", "operator")


def _common(fn):
    @click.option("--registry", "registry_url", metavar="URL", help="postgresql://..., sqlite:///path or a file path.")
    @click.option("--project", "project_dir", metavar="DIR", type=click.Path(file_okay=True), help="Where policy.toml is.")
    @click.option("--json", "as_json", is_flag=True, help="Print the JSON response of the contracts schema.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def _scoped(required: bool = True):
    def decorate(fn):
        fn = click.option("--policy", "policy_name", metavar="NAME", help="Policy name (default [registry] default_policy "
                          "or the project name).")(fn)
        fn = click.option("--tenant", metavar="NAME", help="Tenant (omit for the tenant-less scope).")(fn)
        return click.option("--env", "environment", required=required, metavar="NAME", help="Environment.")(fn)
    return decorate


def _acting(fn):
    fn = click.option("--reason", default="", help="Why (kept in the audit log).")(fn)
    fn = click.option("--role", type=click.Choice(ROLES), default=lambda: os.environ.get("POLC_ROLE", "operator"),
                      show_default="$POLC_ROLE or operator", help="The role you act in.")(fn)
    return click.option("--actor", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(),
                        show_default="$POLC_ACTOR or your user name", help="Who you are (kept in the audit log).")(fn)


@click.group("registry")
def registry():
    """Publish bundles, move them through rollout states, resolve, pin, roll back, audit."""


# --- plumbing -----------------------------------------------------------------------------------

def _config(project_dir: str | None, registry_url: str | None):
    from ..project import load_project
    from ..registry import RegistryConfig

    try:
        project = load_project(project_dir)
    except PolcError as exc:
        if project_dir is None and (registry_url or os.environ.get("POLC_REGISTRY_URL")) and \
                any(d.code == "POLC001" for d in exc.diagnostics):
            return RegistryConfig()  # no project: fine when the registry is named explicitly
        raise
    errors = [d for d in project.diagnostics if d.is_error]
    if errors:
        from ..codes import exit_code_for

        raise _ProjectError(errors, exit_code_for(errors))
    return RegistryConfig.from_project(project)


class _ProjectError(PolcError):
    def __init__(self, diagnostics, code):
        super().__init__("policy.toml is invalid", diagnostics)
        self.exit_code = ExitCode(code)


def _scope(config, environment, tenant, policy_name):
    from ..registry import Scope

    return Scope(environment, policy_name or config.default_policy, tenant or None)


def _run(as_json: bool, project_dir, registry_url, operation, text, exit_of=lambda response: 0):
    """Open the registry, run ``operation(registry, config)``, print the response; the exit code."""
    from ..registry import RegistryError, open_registry

    try:
        config = _config(project_dir, registry_url)
        with open_registry(registry_url, config=config) as reg:
            response = operation(reg, config)
    except PolcError as exc:
        if not as_json:
            raise
        error = exc if isinstance(exc, RegistryError) else _as_registry_error(exc)
        click.echo(json.dumps(error.to_json(), indent=2))
        return int(error.exit_code)
    if as_json:
        click.echo(json.dumps(response, indent=2, ensure_ascii=False))
        return exit_of(response)
    text(response, click.echo)
    return exit_of(response)


def _as_registry_error(exc: PolcError):
    from ..registry import RegistryError

    category = {2: "INVALID_PAYLOAD", 3: "INVALID_PAYLOAD", 4: "INTEGRITY"}.get(int(exc.exit_code), "INVALID_PAYLOAD")
    first = exc.diagnostics[0] if exc.diagnostics else None
    message = f"{first.location()}: {first.message}" if first else exc.message
    return RegistryError(category, first.code if first else "POLC601", message, hint=first.hint if first else exc.hint,
                         exit_code=int(exc.exit_code))


def _exit(code: int) -> None:
    click.get_current_context().exit(code)


# --- commands -----------------------------------------------------------------------------------

@registry.command("publish")
@click.argument("bundle")
@click.option("--receipt", "receipt_path", required=True, metavar="FILE", help="The gate receipt (polc gate run).")
@click.option("--bundle-version", metavar="V", help="Display version (default: the manifest's policy.version).")
@click.option("--policy", "policy_name", metavar="NAME", help="The policy this bundle is for.")
@click.option("--training-run", metavar="ID", help="Provenance: the training run.")
@click.option("--evaluation-report", metavar="REF", help="Provenance: the evaluation report.")
@click.option("--dataset-manifest", multiple=True, metavar="REF", help="Provenance: a dataset manifest (repeatable).")
@click.option("--submitter", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(), help="Who submits.")
@_common
def publish_cmd(bundle, receipt_path, bundle_version, policy_name, training_run, evaluation_report, dataset_manifest,
                submitter, registry_url, project_dir, as_json):
    """Register BUNDLE (a bundle directory or a hash in the out dir) with its PASS gate receipt."""
    provenance = {"training_run_id": training_run, "evaluation_report_ref": evaluation_report,
                  "dataset_manifest_refs": list(dataset_manifest)}

    def op(reg, config):
        return reg.publish(bundle, read_receipt(receipt_path), provenance=provenance, submitted_by=submitter,
                           bundle_version=bundle_version, policy_name=policy_name)
    _exit(_run(as_json, project_dir, registry_url, op, render.publish))


@registry.command("transition")
@click.argument("bundle")
@click.option("--to", "to_state", required=True, type=click.Choice(STATES), help="The target rollout state.")
@_scoped()
@_acting
@_common
def transition_cmd(bundle, to_state, environment, tenant, policy_name, actor, role, reason, registry_url, project_dir,
                   as_json):
    """Move BUNDLE to another rollout state in a scope (repeating a done transition changes nothing)."""
    def op(reg, config):
        return reg.transition(reg.bundle_id_of(bundle), _scope(config, environment, tenant, policy_name), to_state,
                              actor=actor, role=role, reason=reason)
    _exit(_run(as_json, project_dir, registry_url, op, render.transition))


@registry.command("promote")
@click.argument("bundle")
@click.option("--expect-active", metavar="HASH|none", help="Refuse unless this is the scope's promoted bundle now.")
@_scoped()
@_acting
@_common
def promote_cmd(bundle, expect_active, environment, tenant, policy_name, actor, role, reason, registry_url,
                project_dir, as_json):
    """Make BUNDLE the promoted bundle of a scope; the previous one goes to shadow."""
    from ..registry import UNSET

    def op(reg, config):
        expected = UNSET if expect_active is None else (None if expect_active.lower() == "none"
                                                        else reg.bundle_id_of(expect_active))
        return reg.promote(reg.bundle_id_of(bundle), _scope(config, environment, tenant, policy_name),
                           actor=actor, role=role, reason=reason, expect_active=expected)

    _exit(_run(as_json, project_dir, registry_url, op, render.promote))


@registry.command("rollback")
@_scoped()
@_acting
@_common
def rollback_cmd(environment, tenant, policy_name, actor, role, reason, registry_url, project_dir, as_json):
    """Mark the scope's promoted bundle rolled_back and re-promote the previous one (event-log order)."""
    if not reason:
        raise click.UsageError("rollback needs --reason (it is kept in the audit log)")

    def op(reg, config):
        return reg.rollback(_scope(config, environment, tenant, policy_name), actor=actor, role=role, reason=reason)

    _exit(_run(as_json, project_dir, registry_url, op, render.rollback))


@registry.command("resolve")
@click.option("--pin", metavar="HASH", help="Select this bundle instead (a session pin; nothing is written).")
@_scoped()
@_common
def resolve_cmd(pin, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """Print the scope's promoted bundle: its hash, version and the event that made it so."""
    def op(reg, config):
        scope = _scope(config, environment, tenant, policy_name)
        return reg.pin(pin, scope) if pin else reg.resolve(scope)
    _exit(_run(as_json, project_dir, registry_url, op, render.resolve))


@registry.command("pin")
@click.argument("bundle")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False), help="Also write the pin to FILE.")
@_scoped()
@_common
def pin_cmd(bundle, out_file, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """Select BUNDLE explicitly for a session; the registry itself is not changed."""
    def op(reg, config):
        response = reg.pin(bundle, _scope(config, environment, tenant, policy_name))
        if out_file:
            from ..fsutil import atomic_write_text

            atomic_write_text(out_file, json.dumps(response, indent=2) + "\n")
        return response
    _exit(_run(as_json, project_dir, registry_url, op, render.resolve))


@registry.command("history")
@click.option("--bundle", metavar="HASH", help="Only this bundle's events.")
@_scoped(required=False)
@_common
def history_cmd(bundle, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """List audit events in log order (all, or one scope with --env, or one bundle)."""
    def op(reg, config):
        scope = _scope(config, environment, tenant, policy_name) if environment else None
        return reg.history(scope, bundle_id=reg.bundle_id_of(bundle) if bundle else None)
    _exit(_run(as_json, project_dir, registry_url, op, render.events))


@registry.command("verify")
@_common
def verify_cmd(registry_url, project_dir, as_json):
    """Recompute the audit chain; exit 4 on any edited, deleted or inserted row."""
    def op(reg, config):
        return reg.verify()

    _exit(_run(as_json, project_dir, registry_url, op, render.verify,
               exit_of=lambda r: 0 if r["ok"] else int(ExitCode.INTEGRITY)))


@registry.command("list")
@_common
def list_cmd(registry_url, project_dir, as_json):
    """List registered bundles and their state in every scope."""
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.list(), render.listing))


@registry.command("show")
@click.argument("bundle")
@_common
def show_cmd(bundle, registry_url, project_dir, as_json):
    """Show a bundle's record: digest, receipt check, provenance and states."""
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.show(bundle), render.show))


@registry.command("keygen")
@click.option("--out", "prefix", required=True, metavar="PREFIX", help="Writes PREFIX.key (0600) and PREFIX.pub.")
def keygen_cmd(prefix):
    """Make an Ed25519 key pair for signing gate receipts (list PREFIX.pub in [registry] trusted_keys).

    Inside a git work tree, PREFIX.key is added to the work tree's .gitignore unless git already
    ignores it, so the private key cannot be committed by accident.
    """
    from ..registry.receipts import generate_keypair, keyid, load_public_key
    from .keyfile import keep_out_of_git

    if not Path(f"{prefix}.key").exists():  # an existing key is refused below, with nothing changed
        note = keep_out_of_git(Path(f"{prefix}.key"))
        if note:
            click.echo(note, err=True)
    private, public = generate_keypair(Path(prefix))
    click.echo(f"wrote {private} (keep secret) and {public} (keyid {keyid(load_public_key(public))[:16]})")


# --- polc gate run: the receipt side of promotion gates -----------------------------------------

@click.group("gate")
def gate():
    """Evaluate promotion gates and write signed gate receipts."""


@gate.command("run")
@click.argument("gate_name", metavar="GATE")
@click.option("--bundle", required=True, metavar="B", help="Bundle directory, head pointer (policy.json) or bundle id.")
@click.option("--metrics", "metrics_path", required=True, metavar="FILE", help="Observed metrics (JSON or YAML mapping).")
@click.option("--key", "key_path", metavar="FILE", help="Ed25519 private key (PEM); else $POLC_GATE_KEY or "
              "$POLC_GATE_KEY_FILE.")
@click.option("--unsigned", is_flag=True, help="Write an unsigned receipt (refused where trusted_keys are configured).")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the receipt here (default: print it).")
@click.option("--project", "project_dir", metavar="DIR", help="Where bundle ids are looked up (default: the current project).")
def gate_run_cmd(gate_name, bundle, metrics_path, key_path, unsigned, out_file, project_dir):
    """Evaluate GATE of a bundle against metrics and write its GateReceipt (an in-toto Statement,
    DSSE-signed with Ed25519). Exit 0 on PASS, 1 on FAIL (the receipt is written either way)."""
    from ..registry.gate_receipt import run_gate
    from ..registry.receipts import load_private_key

    key = None if unsigned else load_private_key(key_path)
    if key is None and not unsigned:
        raise click.UsageError("no signing key: pass --key FILE, set POLC_GATE_KEY_FILE or POLC_GATE_KEY, "
                               "or --unsigned (polc registry keygen makes a key pair)")
    run = run_gate(bundle, gate_name, metrics_path, key, _out_dir(project_dir))
    text = json.dumps(run.receipt, indent=2) + "\n"
    if out_file:
        from ..fsutil import atomic_write_text

        atomic_write_text(out_file, text)
    else:
        click.echo(text, nl=False)
    verdict = "PASS" if run.result.passed else "FAIL"
    signer = f"signed, keyid {run.receipt['signatures'][0]['keyid'][:16]}" if key is not None else "unsigned"
    click.echo(f"gate {gate_name} on {run.bundle_id[:12]}: {verdict} ({run.result.conditions} conditions, "
               f"{signer}){' -> ' + out_file if out_file else ''}", err=True)
    for failure in run.result.failures:
        click.echo(f"  failed: {failure.span}: {failure.message}", err=True)
    _exit(0 if run.result.passed else int(ExitCode.FINDINGS))


def _out_dir(project_dir):
    from ..project import load_project

    try:
        return load_project(project_dir).out_dir
    except PolcError:
        return None  # no project: bundle ids cannot be looked up, paths still work
