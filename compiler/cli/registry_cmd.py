"""``polc registry ...``: the registry from the command line (docs/registry.md).

Every subcommand takes ``--json`` (the contracts schema's response, or an ErrorResponse with the
same exit code), ``--registry URL`` (else POLC_REGISTRY_URL or POLC_REGISTRY, [registry] url,
.polc/registry.db; an ``https://`` URL is a ``polc serve`` server, with the token in POLC_TOKEN)
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
    @click.option("--registry", "registry_url", metavar="URL", help="https://... (a polc serve server; token in "
                  "$POLC_TOKEN), postgresql://..., sqlite:///path or a file path.")
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
    fn = click.option("--role", type=click.Choice(ROLES), default=lambda: os.environ.get("POLC_ROLE") or None,
                      show_default="$POLC_ROLE, else the first role the operation allows that you hold",
                      help="The role you act in.")(fn)
    return click.option("--actor", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(),
                        show_default="$POLC_ACTOR or your user name",
                        help="Who you are (local registries; a server records the authenticated principal).")(fn)


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
        named = registry_url or os.environ.get("POLC_REGISTRY_URL") or os.environ.get("POLC_REGISTRY")
        if project_dir is None and named and any(d.code == "POLC001" for d in exc.diagnostics):
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


def _run(as_json: bool, project_dir, registry_url, operation, text, exit_of=lambda response: 0, *,
         create: bool = True):
    """Open the registry, run ``operation(registry, config)``, print the response; the exit code.
    ``create=False``: a command that only reads refuses a registry that does not exist yet."""
    from ..registry import RegistryError, open_registry

    try:
        config = _config(project_dir, registry_url)
        with open_registry(registry_url, config=config, create=create) as reg:
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
@click.option("--receipt", "receipt_paths", required=True, multiple=True, metavar="FILE",
              help="A PASS gate receipt (polc gate run); repeat it for every gate the policy requires.")
@click.option("--bundle-version", metavar="V", help="Display version (default: the manifest's policy.version).")
@click.option("--policy", "policy_name", metavar="NAME", help="The policy this bundle is for.")
@click.option("--training-run", metavar="ID", help="Provenance: the training run.")
@click.option("--evaluation-report", metavar="REF", help="Provenance (required): the evaluation report the "
              "receipts were computed from.")
@click.option("--dataset-manifest", multiple=True, metavar="REF", help="Provenance: a dataset manifest (repeatable).")
@click.option("--submitter", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(),
              help="Who submits (local registries; a server records the authenticated principal).")
@click.option("--role", type=click.Choice(ROLES), default=lambda: os.environ.get("POLC_ROLE") or None,
              help="The role you publish in (default: the first allowed role you hold).")
@_common
def publish_cmd(bundle, receipt_paths, bundle_version, policy_name, training_run, evaluation_report, dataset_manifest,
                submitter, role, registry_url, project_dir, as_json):
    """Register BUNDLE (a bundle directory or a hash in the out dir) with its PASS gate receipts;
    against a server, the bundle's files are uploaded and the server verifies them."""
    if not evaluation_report:
        raise click.UsageError("publish needs --evaluation-report REF: the report the gate receipts were computed "
                               "from (the registry keeps it as the bundle's provenance)")
    provenance = {"evaluation_report_ref": evaluation_report, "dataset_manifest_refs": list(dataset_manifest)}
    if training_run:
        provenance["training_run_id"] = training_run

    def op(reg, config):
        receipts = [read_receipt(path) for path in receipt_paths]
        return reg.publish(bundle, receipts[0], provenance=provenance, submitted_by=submitter,
                           bundle_version=bundle_version, policy_name=policy_name, more_receipts=receipts[1:],
                           role=role)
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
@click.option("--expect-active", metavar="HASH", help="Refuse unless this is the scope's promoted bundle now "
              "(so a retried rollback never goes back a second step).")
@_scoped()
@_acting
@_common
def rollback_cmd(expect_active, environment, tenant, policy_name, actor, role, reason, registry_url, project_dir,
                 as_json):
    """Mark the scope's promoted bundle rolled_back and re-promote the previous one (event-log order);
    a bundle that was itself rolled back is never restored."""
    if not reason:
        raise click.UsageError("rollback needs --reason (it is kept in the audit log)")

    def op(reg, config):
        expected = reg.bundle_id_of(expect_active) if expect_active else None
        return reg.rollback(_scope(config, environment, tenant, policy_name), actor=actor, role=role, reason=reason,
                            expect_active=expected)

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
    _exit(_run(as_json, project_dir, registry_url, op, render.resolve, create=False))


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
    _exit(_run(as_json, project_dir, registry_url, op, render.resolve, create=False))


@registry.command("history")
@click.option("--bundle", metavar="HASH", help="Only this bundle's events.")
@_scoped(required=False)
@_common
def history_cmd(bundle, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """List audit events in log order (all, or one scope with --env, or one bundle)."""
    def op(reg, config):
        scope = _scope(config, environment, tenant, policy_name) if environment else None
        return reg.history(scope, bundle_id=reg.bundle_id_of(bundle) if bundle else None)
    _exit(_run(as_json, project_dir, registry_url, op, render.events, create=False))


@registry.command("verify")
@click.option("--checkpoint", "checkpoint_file", metavar="FILE", help="A checkpoint saved earlier "
              "(polc registry checkpoint --out FILE): refuse a log re-chained, truncated or rewound since.")
@click.option("--checkpoint-key", metavar="PUB", help="The server's checkpoint public key (PEM): check the "
              "checkpoint's signature too.")
@_common
def verify_cmd(checkpoint_file, checkpoint_key, registry_url, project_dir, as_json):
    """Recompute the audit chain; exit 4 on any edited, deleted or inserted row, or a log that does
    not extend the checkpoint given."""
    from ..registry.checkpoints import checkpoint_problems, checkpoint_signature_problems, read_checkpoint_file

    checkpoint = read_checkpoint_file(checkpoint_file) if checkpoint_file else None

    def op(reg, config):
        response = reg.verify()
        if checkpoint is None:
            return response
        from ..registry.audit import verify_chain

        events = reg.history()["events"]
        head = (response["head_seq"], response["head_hash"])
        # A server's word is not taken: its history is re-hashed here, then held against the checkpoint.
        problems = [*verify_chain(events, head), *checkpoint_signature_problems(checkpoint, checkpoint_key),
                    *checkpoint_problems(checkpoint, events, head)]
        seen = {(p["code"], p["message"]) for p in response["problems"]}
        response["problems"] += [p for p in problems if (p["code"], p["message"]) not in seen]
        response["ok"] = not response["problems"]
        return response

    _exit(_run(as_json, project_dir, registry_url, op, render.verify,
               exit_of=lambda r: 0 if r["ok"] else int(ExitCode.INTEGRITY), create=False))


@registry.command("checkpoint")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False), help="Also save it to FILE.")
@_common
def checkpoint_cmd(out_file, registry_url, project_dir, as_json):
    """Fetch the server's newest signed checkpoint of the audit log (keep it: `verify --checkpoint`)."""
    def op(reg, config):
        if not hasattr(reg, "checkpoint"):
            from ..registry.errors import invalid

            raise invalid("POLC601", "checkpoints are signed by a registry server",
                          hint="pass --registry https://... (a polc serve server)")
        response = reg.checkpoint()
        if out_file:
            from ..fsutil import atomic_write_text

            atomic_write_text(out_file, json.dumps(response, indent=2) + "\n")
        return response
    _exit(_run(as_json, project_dir, registry_url, op, render.checkpoint, create=False))


@registry.command("list")
@_common
def list_cmd(registry_url, project_dir, as_json):
    """List registered bundles and their state in every scope."""
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.list(), render.listing, create=False))


@registry.command("show")
@click.argument("bundle")
@_common
def show_cmd(bundle, registry_url, project_dir, as_json):
    """Show a bundle's record: digest, receipt check, provenance and states."""
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.show(bundle), render.show, create=False))


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


# --- polc registry token: the server's principals (administration, local database access) -------

@registry.group("token")
def token_group():
    """Create, list and revoke the bearer tokens of a registry server's principals."""


def _token_options(fn):
    fn = click.option("--project", "project_dir", metavar="DIR", help="Where policy.toml is.")(fn)
    fn = click.option("--registry", "registry_url", metavar="URL", help="The registry database (default: the "
                      "server configuration's store, else the project's registry).")(fn)
    return click.option("--config", "config_file", metavar="FILE", help="The server's [server] TOML file, "
                        "whose store holds the tokens.")(fn)


def _token_store(config_file, registry_url, project_dir, *, create: bool = True):
    """The registry database itself: tokens are made with local access, never over HTTP."""
    from ..registry import is_server_url, open_store

    if registry_url is None and config_file is not None:
        from ..server.config import load_server_config

        registry_url = load_server_config(config_file, project_dir=project_dir).store
    config = _config(project_dir, registry_url)
    url = config.registry_url(registry_url)
    if url is None or is_server_url(url):
        raise click.UsageError("token commands need the registry's database (--config FILE of the server, or "
                               "--registry postgresql://... / a SQLite path), not a server URL")
    return open_store(url, create=create)


@token_group.command("create")
@click.option("--principal", required=True, metavar="NAME", help="Who the token authenticates (named in grants).")
@click.option("--expires", metavar="DURATION", default="90d", show_default=True,
              help="Lifetime: 12h, 30d, 2w, or never.")
@click.option("--note", default="", metavar="TEXT", help="What the token is for (listed, never secret).")
@_token_options
def token_create_cmd(principal, expires, note, config_file, registry_url, project_dir):
    """Make a token for PRINCIPAL; it is printed once and only its sha256 is kept."""
    from ..server.auth import create_token

    store = _token_store(config_file, registry_url, project_dir)
    try:
        token, record = create_token(store, principal, expires=expires, note=note)
    finally:
        store.close()
    click.echo(token)
    until = record["expires_at"] or "never"
    click.echo(f"token {record['token_id']} for {principal}, expires {until}: shown once, store it now "
               "(POLC_TOKEN for the polc CLI)", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_token_options
def token_list_cmd(as_json, config_file, registry_url, project_dir):
    """List tokens (never their secrets): id, principal, created, expires, status."""
    from ..server.auth import list_tokens

    store = _token_store(config_file, registry_url, project_dir, create=False)
    try:
        tokens = list_tokens(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"tokens": tokens}, indent=2))
        return
    for t in tokens:
        click.echo(f"{t['token_id']}  {t['principal']:<24} {t['status']:<8} created {t['created_at'][:19]}Z  "
                   f"expires {(t['expires_at'] or 'never')[:19]}  {t['note']}".rstrip())


@token_group.command("revoke")
@click.argument("token_id")
@_token_options
def token_revoke_cmd(token_id, config_file, registry_url, project_dir):
    """Revoke TOKEN_ID at once (the server refuses it from its next request)."""
    from ..server.auth import revoke_token

    store = _token_store(config_file, registry_url, project_dir, create=False)
    try:
        revoke_token(store, token_id)
    finally:
        store.close()
    click.echo(f"revoked {token_id}")


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
